"""The health model editor's pages: who may do what (admins publish, analysts draft, managers
and CSMs are refused every write and page: 403), a weight edited in place and saved as a
draft, errors on the row, the preview (hand-computed, tests/configuration/health_world.py)
with its colour matrix clicking through to the accounts, publishing as version 2, the
history side by side with restore, "use these" from the model page's suggestion, and another
organization's ids refused."""

from __future__ import annotations

import pytest
from django.urls import reverse

from configuration.models import HealthModelDraft
from health.models import FitnessSnapshot, HealthModel, HealthModelVersion, Indicator
from orgs.tenancy import org_context
from orgs.timezones import org_today
from tests.configuration.health_world import world

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(org):
    with org_context(org):
        return world(org, day=org_today(org))


def _form_data(w, *, sentiment_weight="3", **extra) -> dict:
    """The editor's post: the model's fields and its two indicators (tenure first)."""
    t, s = w["tenure"], w["sentiment"]
    data = {
        "name": "Default health",
        "description": "",
        "red_max": "50",
        "yellow_max": "75",
        "ind-TOTAL_FORMS": "2",
        "ind-INITIAL_FORMS": "2",
        "ind-MIN_NUM_FORMS": "0",
        "ind-MAX_NUM_FORMS": "20",
    }
    for i, (ind, weight) in enumerate([(t, "1"), (s, sentiment_weight)]):
        data.update(
            {
                f"ind-{i}-id": str(ind.pk),
                f"ind-{i}-measure": ind.measure,
                f"ind-{i}-window_days": "",
                f"ind-{i}-metric": "",
                f"ind-{i}-direction": ind.direction,
                f"ind-{i}-bad_value": str(ind.bad_value),
                f"ind-{i}-good_value": str(ind.good_value),
                f"ind-{i}-weight": weight,
            }
        )
    data.update(extra)
    return data


def _urls(model_id: int) -> dict[str, str]:
    return {
        name: reverse(f"configuration:{name}", args=[model_id])
        for name in (
            "health_model",
            "health_model_preview",
            "health_model_preview_accounts",
            "health_model_publish",
            "health_model_discard",
            "health_model_history",
            "health_model_use_weights",
        )
    }


@pytest.mark.parametrize("role", ["csm", "manager"])
def test_csms_and_managers_are_refused_every_page_and_write(client, w, request, role):
    client.force_login(request.getfixturevalue(role))
    urls = _urls(w["model"].pk)
    urls["restore"] = reverse("configuration:health_version_restore", args=[w["model"].pk, 1])
    assert client.get(reverse("configuration:health_models")).status_code == 403
    for name, url in urls.items():
        if name not in ("health_model_publish", "health_model_discard", "restore"):
            assert client.get(url).status_code in (403, 405), name
        assert client.post(url, _form_data(w)).status_code == 403, name
    assert not HealthModelDraft.all_objects.exists()
    assert HealthModel.all_objects.get(pk=w["model"].pk).version == 1


def test_an_analyst_drafts_but_cannot_publish(client, w, analyst):
    client.force_login(analyst)
    urls = _urls(w["model"].pk)
    page = client.get(urls["health_model"])
    assert page.status_code == 200
    assert b"50% of the score" in page.content  # two weights of 1
    response = client.post(urls["health_model"], _form_data(w))
    assert response.status_code == 302
    draft = HealthModelDraft.all_objects.get()
    assert {r["measure"]: r["weight"] for r in draft.indicators} == {
        "tenure": 1.0,
        "csm_sentiment": 3.0,
    }
    page = client.get(urls["health_model"])
    assert b"75% of the score" in page.content and b"25% of the score" in page.content
    assert b"Only an admin publishes" in page.content
    assert client.post(urls["health_model_publish"]).status_code == 403
    assert HealthModel.all_objects.get(pk=w["model"].pk).version == 1
    assert Indicator.all_objects.get(pk=w["sentiment"].pk).weight == 1


def test_a_bad_row_shows_its_error_on_the_row_and_saves_nothing(client, w, analyst):
    client.force_login(analyst)
    data = _form_data(w, **{"ind-1-bad_value": "9"})  # higher is better: 9 > good 5
    response = client.post(_urls(w["model"].pk)["health_model"], data)
    assert response.status_code == 422
    html = response.content.decode()
    second = html.split("Indicator 2")[1]
    assert "indicator-row--invalid" in html.split("Indicator 2")[0].rsplit("<li", 1)[1]
    assert "higher is better, so the good value (5.0) must be above the bad value (9.0)" in second
    response = client.post(
        _urls(w["model"].pk)["health_model"], _form_data(w, sentiment_weight="0")
    )
    assert response.status_code == 422
    assert "Ensure this value is greater than or equal to 0" in response.content.decode() or (
        "the weight must be positive" in response.content.decode()
    )
    assert not HealthModelDraft.all_objects.exists()


def test_the_preview_fragment_moves_with_the_unsaved_form(client, w, analyst):
    """Live A 88 G, B 50 R, C 100 G; with sentiment weight 3: A 81 G, B 75 Y, C 100 G."""
    client.force_login(analyst)
    url = _urls(w["model"].pk)["health_model_preview"]
    same = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="preview-changed">0<' in same
    moved = client.post(url, _form_data(w), HTTP_HX_REQUEST="true").content.decode()
    assert 'id="preview-changed">1<' in moved
    assert 'id="preview-mean-before">79.3<' in moved
    assert 'id="preview-mean-after">85.3<' in moved
    assert "<html" not in moved
    assert not HealthModelDraft.all_objects.exists()


def test_a_matrix_cell_lists_its_accounts(client, w, analyst):
    client.force_login(analyst)
    urls = _urls(w["model"].pk)
    client.post(urls["health_model"], _form_data(w))
    preview = client.get(urls["health_model_preview"], HTTP_HX_REQUEST="true").content.decode()
    cell = f"{urls['health_model_preview_accounts']}?from=red&amp;to=yellow"
    assert cell in preview
    page = client.get(urls["health_model_preview_accounts"], {"from": "red", "to": "yellow"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Acme B" in html and "Acme A" not in html
    assert ">50<" in html and ">75<" in html
    bad = client.get(urls["health_model_preview_accounts"], {"from": "blue", "to": "red"})
    assert bad.status_code == 400 and b"from and to" in bad.content


def test_an_admin_publishes_version_2_and_sees_it_in_the_history(client, w, org_admin):
    client.force_login(org_admin)
    urls = _urls(w["model"].pk)
    client.post(urls["health_model"], _form_data(w))
    response = client.post(urls["health_model_publish"])
    assert response.status_code == 302 and response.url == urls["health_model_history"]
    assert HealthModel.all_objects.get(pk=w["model"].pk).version == 2
    assert Indicator.all_objects.get(pk=w["sentiment"].pk).weight == 3
    assert not HealthModelDraft.all_objects.exists()
    v2 = HealthModelVersion.all_objects.get(model=w["model"], version=2)
    assert v2.created_by == org_admin
    html = client.get(urls["health_model_history"]).content.decode()
    compare = html.split('id="version-compare"')[1].split("</table>")[0]
    assert "Version 1" in compare and "Version 2" in compare
    assert "weight 1" in compare and "weight 3" in compare
    assert "CSM sentiment: Weight: 1.0 → 3.0" in html


def test_restoring_a_version_makes_a_draft(client, w, org_admin):
    client.force_login(org_admin)
    urls = _urls(w["model"].pk)
    client.post(urls["health_model"], _form_data(w))
    client.post(urls["health_model_publish"])
    restore = reverse("configuration:health_version_restore", args=[w["model"].pk, 1])
    assert client.post(restore).status_code == 302
    draft = HealthModelDraft.all_objects.get()
    assert {r["measure"]: r["weight"] for r in draft.indicators} == {
        "tenure": 1.0,
        "csm_sentiment": 1.0,
    }
    assert Indicator.all_objects.get(pk=w["sentiment"].pk).weight == 3
    missing = reverse("configuration:health_version_restore", args=[w["model"].pk, 9])
    assert client.post(missing).status_code == 404


def test_restoring_a_version_never_overwrites_a_draft(client, w, org_admin):
    """Someone's unsaved work is not replaced by a restore: refused with a message, the draft
    as it was, and the history offers no restore while the draft exists."""
    client.force_login(org_admin)
    urls = _urls(w["model"].pk)
    client.post(urls["health_model"], _form_data(w))
    client.post(urls["health_model_publish"])  # version 2
    data = _form_data(w)
    data["description"] = "work in progress"
    client.post(urls["health_model"], data)
    before = HealthModelDraft.all_objects.get()
    restore = reverse("configuration:health_version_restore", args=[w["model"].pk, 1])
    response = client.post(restore, follow=True)
    assert "already has a draft" in response.content.decode()
    after = HealthModelDraft.all_objects.get()
    assert after.description == "work in progress"
    assert after.indicators == before.indicators and after.origin == before.origin
    assert restore not in client.get(urls["health_model_history"]).content.decode()


def _suggestion(org, model, **payload):
    return FitnessSnapshot.all_objects.create(
        organization=org,
        model=model,
        model_version=model.version,
        day=org_today(org),
        kind="suggestion",
        lead=90,
        state="done",
        payload={"suggested": {"tenure": 0.4, "csm_sentiment": 1.6}, **payload},
    )


def test_use_these_makes_a_draft_and_sends_the_analyst_to_it(client, w, org, analyst):
    snapshot = _suggestion(org, w["model"])
    client.force_login(analyst)
    model_page = client.get(reverse("health:model", args=[w["model"].pk])).content.decode()
    assert 'id="use-suggested"' in model_page
    url = _urls(w["model"].pk)["health_model_use_weights"]
    response = client.post(url, {"suggestion": snapshot.pk})
    assert response.status_code == 302 and response.url == _urls(w["model"].pk)["health_model"]
    draft = HealthModelDraft.all_objects.get()
    assert {r["measure"]: r["weight"] for r in draft.indicators} == {
        "tenure": 0.4,
        "csm_sentiment": 1.6,
    }
    assert "suggested weights at 90 days" in draft.origin
    assert [i.weight for i in Indicator.all_objects.filter(model=w["model"])] == [1, 1]
    assert HealthModel.all_objects.get(pk=w["model"].pk).version == 1


def test_managers_see_no_use_these(client, w, org, manager):
    _suggestion(org, w["model"])
    client.force_login(manager)
    page = client.get(reverse("health:model", args=[w["model"].pk])).content.decode()
    assert 'id="use-suggested"' not in page
    assert "Edit in configuration" not in page


def test_another_organizations_model_and_suggestion_are_refused(
    client, w, org, other_org, org_admin
):
    with org_context(other_org):
        theirs = world(other_org, day=org_today(other_org))
    their_suggestion = _suggestion(other_org, theirs["model"])
    client.force_login(org_admin)
    for name, url in _urls(theirs["model"].pk).items():
        if name in ("health_model_preview_accounts", "health_model_history"):
            response = client.get(url, {"from": "red", "to": "red"})
        else:
            response = client.post(url, _form_data(theirs))
        assert response.status_code == 404, url
    restore = reverse("configuration:health_version_restore", args=[theirs["model"].pk, 1])
    assert client.post(restore).status_code == 404
    # their suggestion through our model: not ours, refused
    url = _urls(w["model"].pk)["health_model_use_weights"]
    response = client.post(url, {"suggestion": their_suggestion.pk})
    assert response.status_code == 400 and b"suggestion" in response.content
    # their indicator ids posted on our model's rows are not theirs to edit
    data = _form_data(w, **{"ind-1-id": str(theirs["sentiment"].pk)})
    client.post(_urls(w["model"].pk)["health_model"], data)
    client.post(_urls(w["model"].pk)["health_model_publish"])
    with org_context(other_org):
        assert Indicator.objects.get(pk=theirs["sentiment"].pk).weight == 1
        assert HealthModel.objects.get(pk=theirs["model"].pk).version == 1
    assert Indicator.all_objects.filter(model=w["model"]).count() == 2


def test_a_draft_says_when_the_live_model_moved_on_since_it_started(client, w, analyst):
    from health.services import health_model_update

    client.force_login(analyst)
    url = _urls(w["model"].pk)["health_model"]
    client.post(url, _form_data(w))
    assert b"This draft started from version" not in client.get(url).content
    with org_context(w["model"].organization):
        health_model_update(model=w["model"], data={"red_max": 40})
    page = client.get(url).content.decode()
    assert "This draft started from version 1; the model is now at version 2." in page


def test_the_band_hint_of_a_lower_is_better_indicator_puts_red_at_the_top(client, w, analyst):
    """The score is 0 at the bad value and 100 at the good one (health.scoring), red up to
    50 and yellow up to 75. Tenure, higher is better, 0 to 24: red up to 0 + 24 × 0.50 =
    12, yellow up to 24 × 0.75 = 18, green beyond. Sentiment made lower is better, bad 5,
    good 1: 5 − 4 × 0.50 = 3 scores 50 (red) and 5 − 4 × 0.75 = 2 scores 75 (yellow), so
    red at 3 and above, yellow from 2 to 3, green below 2 (1.9 scores 77.5)."""
    client.force_login(analyst)
    data = _form_data(
        w,
        sentiment_weight="1",
        **{"ind-1-direction": "lower", "ind-1-bad_value": "5", "ind-1-good_value": "1"},
    )
    response = client.post(_urls(w["model"].pk)["health_model"], data, follow=True)
    assert response.status_code == 200
    html = " ".join(response.content.decode().split())
    assert "On its own: red up to 12.0, yellow up to 18.0, green beyond." in html
    assert (
        "On its own (lower is better): red at 3.0 and above, yellow from 2.0 to 3.0, "
        "green below 2.0." in html
    )
    assert "red up to 3.0" not in html


def test_the_history_and_the_model_page_name_indicators_not_their_keys(client, w, org_admin):
    """Version 2 triples the sentiment weight and adds usage frequency over 30 days of the
    active_days metric (higher is better, 0 to 20 days). The history, its side by side and
    the model's page say "CSM sentiment" and "Usage frequency (30 days, active days)", and
    no internal key (csm_sentiment, usage_frequency, active_days) is on any of them."""
    client.force_login(org_admin)
    urls = _urls(w["model"].pk)
    data = _form_data(w)
    data.update(
        {
            "ind-TOTAL_FORMS": "3",
            "ind-2-id": "",
            "ind-2-measure": "usage_frequency",
            "ind-2-window_days": "30",
            "ind-2-metric": "active_days",
            "ind-2-direction": "higher",
            "ind-2-bad_value": "0",
            "ind-2-good_value": "20",
            "ind-2-weight": "1",
        }
    )
    assert client.post(urls["health_model"], data).status_code == 302
    assert client.post(urls["health_model_publish"]).status_code == 302
    history = client.get(urls["health_model_history"]).content.decode()
    model_page = client.get(reverse("health:model", args=[w["model"].pk])).content.decode()
    assert "CSM sentiment: Weight: 1.0 → 3.0" in history
    assert (
        "Indicator Usage frequency (30 days, active days): — → Higher is better, 0 → 20, weight 1"
        in history
    )
    compare = history.split('id="version-compare"')[1].split("</table>")[0]
    assert "Usage frequency (30 days, active days)" in compare
    assert "Usage frequency" in model_page and "(active days)" in model_page
    for html in (history, model_page):
        main = html.split('id="main"')[1]
        assert all(key not in main for key in ("csm_sentiment", "usage_frequency", "active_days"))
