"""Fitness and weight suggestions in the background, kept per model version and day: the
model page reads a row; a real Celery worker on a real Redis computes a suggestion with
progress, and it weights the indicator that matters highest."""

import datetime as dt
import time

import pytest

from health import services
from health.models import FitnessSnapshot
from health.selectors import model_weight_suggestion
from orgs.tenancy import org_context
from orgs.timezones import org_today
from tests.builders import TRUST_NPS, TRUST_USAGE, churn_history


@pytest.mark.django_db
def test_a_snapshot_is_kept_per_model_version_and_day(org):
    today = org_today(org)
    model = churn_history(org, today, accounts=10)
    with org_context(org):
        first = services.fitness_snapshot_request(model=model, day=today)
        again = services.fitness_snapshot_request(model=model, day=today)
        assert again.pk == first.pk  # the same version and day: the same row
        services.fitness_snapshot_compute(snapshot_id=first.pk)
        model.version += 1
        model.save(update_fields=["version"])
        bumped = services.fitness_snapshot_request(model=model, day=today)
        assert bumped.pk != first.pk and bumped.model_version == model.version
        assert FitnessSnapshot.objects.get(pk=first.pk).state == "done"


@pytest.mark.django_db
def test_the_suggestion_from_the_database_weights_usage_highest(org):
    """churn_history: only accounts with a usage score below 35 churn; NPS is noise."""
    today = org_today(org)
    model = churn_history(org, today)
    with org_context(org):
        out = model_weight_suggestion(org=org, model=model, lead=30, today=today)
    assert out["suggested"][TRUST_USAGE] > out["suggested"][TRUST_NPS]
    assert out["auc_suggested"] > out["auc_current"]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_suggest_weights_runs_on_a_worker_with_progress(client, org, analyst, celery_worker):
    today = org_today(org)
    model = churn_history(org, today)
    client.force_login(analyst)
    response = client.post(f"/health/models/{model.pk}/suggest/", {"lead": "30"})
    assert response.status_code == 302
    deadline = time.monotonic() + 90
    snapshot = None
    while time.monotonic() < deadline:
        snapshot = FitnessSnapshot.all_objects.filter(model=model, kind="suggestion").first()
        if snapshot and snapshot.state != "running":
            break
        time.sleep(0.5)
    assert snapshot.state == "done" and snapshot.progress == 1.0 and snapshot.lead == 30
    suggested = snapshot.payload["suggested"]
    assert suggested[TRUST_USAGE] > suggested[TRUST_NPS]
    page = client.get(f"/health/models/{model.pk}/").content.decode()
    assert "Held-out AUC" in page and "Suggested weights" in page
    assert client.post(f"/health/models/{model.pk}/suggest/", {"lead": "7"}).status_code == 400
    assert dt.date.fromisoformat(snapshot.payload["split"]["train_until"]) < today


@pytest.mark.django_db
def test_health_fitness_prints_indicator_auc_coverage_and_the_suggestion(org):
    import json
    from io import StringIO

    from django.core.management import CommandError, call_command

    churn_history(org, org_today(org))
    out = StringIO()
    call_command("health_fitness", "--org", "acme", "--lead", "30", stdout=out)
    learned = json.loads(out.getvalue())["models"]["Learned"]
    usage = learned["leads"]["30"]["indicators"][TRUST_USAGE]
    assert set(usage) == {"auc", "coverage", "churners", "stayers", "small"}
    assert usage["coverage"] == 1.0
    suggested = learned["suggestion"]["suggested"]
    assert suggested[TRUST_USAGE] > suggested[TRUST_NPS] and learned["suggestion"]["lead"] == 30
    with pytest.raises(CommandError, match="--lead must be between 30 and 365"):
        call_command("health_fitness", "--org", "acme", "--lead", "7")


@pytest.mark.django_db
def test_bench_trust_prints_its_figures_as_json():
    """Its score rows are compact, as the night writes them: each decodes to its three
    indicators with the raw value a tenth of the score (how the bench draws them) and a share
    of 1/3 each (equal weights), so the fitness reads it times are the night's."""
    import json
    from io import StringIO

    from django.core.management import call_command

    from health.management.commands.bench_trust import KEYS
    from health.models import HealthScore

    out = StringIO()
    call_command("bench_trust", "--accounts", "60", "--weeks", "2", "--repeat", "1", stdout=out)
    data = json.loads(out.getvalue())
    assert data["accounts"] == 60 and data["score_rows"] > 60
    assert data["model_page"]["median_ms"] > 0 and data["explain_fragment"]["median_ms"] > 0
    assert "load average" in data["uptime_before"]
    rows = HealthScore.all_objects.select_related("layout")
    assert rows.count() == data["score_rows"] and not rows.filter(layout__isnull=True).exists()
    breakdown = rows.first().breakdown_dict
    assert list(breakdown) == list(KEYS)
    for raw, score, share in breakdown.values():
        assert raw == pytest.approx(score / 10, abs=0.01) and share == 0.333


@pytest.mark.django_db
def test_the_suggest_button_is_offered_only_to_those_who_may_press_it(client, org, csm, manager):
    """A CSM reads the model page but may not queue a suggestion (403): the page does not
    offer the button to them; a manager gets it."""
    model = churn_history(org, org_today(org), accounts=10)
    url = f"/health/models/{model.pk}/"
    suggest = f"/health/models/{model.pk}/suggest/"
    client.force_login(csm)
    page = client.get(url)
    assert page.status_code == 200 and suggest not in page.content.decode()
    assert client.post(suggest, {"lead": "30"}).status_code == 403
    client.force_login(manager)
    assert suggest in client.get(url).content.decode()
