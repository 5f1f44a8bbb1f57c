"""The operations pages: the nightly status page (admins see their organization's nights,
superusers every organization's, others nothing), the troubled-night banner on the admins'
home, and /healthz/ready."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from health.models import HealthRun, HealthRunChunk
from tests import factories as f
from tests.services import free_port


def night(org, day, *, state="running", chunks=((("done", 1),)), started_ago=0, error=""):
    """A night's health run with chunks given as (state, attempts)."""
    run = HealthRun.all_objects.create(
        organization=org,
        date=day,
        state=state,
        chained=True,
        chunks_total=len(chunks),
        chunks_done=sum(1 for s, _ in chunks if s == "done"),
        chunks_failed=sum(1 for s, _ in chunks if s == "failed"),
    )
    HealthRun.all_objects.filter(pk=run.pk).update(
        started_at=timezone.now() - dt.timedelta(seconds=started_ago),
        finished_at=None if state == "running" else timezone.now(),
    )
    for i, (chunk_state, attempts) in enumerate(chunks):
        HealthRunChunk.all_objects.create(
            organization=org,
            run=run,
            index=i,
            first_account_id=i,
            last_account_id=i,
            state=chunk_state,
            attempts=attempts,
            queued_at=timezone.now(),
            error=error if chunk_state == "failed" else "",
        )
    return run


@pytest.mark.django_db
def test_an_admin_sees_the_nights_of_their_organization_only(
    client, org, other_org, org_admin, django_assert_max_num_queries
):
    today = timezone.localdate()
    night(org, today, state="failed", chunks=(("done", 1), ("failed", 3)), error="given up")
    night(org, today - dt.timedelta(days=1), state="done")
    night(other_org, today, state="done")
    client.force_login(org_admin)
    with django_assert_max_num_queries(12):
        response = client.get("/operations/nightly/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('class="card night night--') == 2  # two nights of Acme, none of Globex
    assert "Failed" in html and "given up" in html and "1 / 2" in html
    assert "Globex" not in html
    assert 'href="/operations/nightly/" aria-current="page">Operations' in html


@pytest.mark.django_db
def test_a_superuser_sees_every_organization_and_others_are_refused(client, org, other_org, csm):
    today = timezone.localdate()
    night(org, today, state="done")
    night(other_org, today, state="done")
    root = f.UserFactory(username="root", is_superuser=True, is_staff=True)
    client.force_login(root)
    html = client.get("/operations/nightly/").content.decode()
    assert "Acme CS · " in html and "Globex CS · " in html
    client.force_login(csm)
    assert client.get("/operations/nightly/").status_code == 403
    client.logout()
    assert client.get("/operations/nightly/").status_code == 302


@pytest.mark.django_db
def test_a_bad_date_is_a_message_not_an_error(client, org, org_admin):
    client.force_login(org_admin)
    response = client.get("/operations/nightly/?date=yesterday")
    assert response.status_code == 200
    assert "“yesterday” is not a date (YYYY-MM-DD)" in response.content.decode()


@pytest.mark.django_db
def test_a_failed_or_late_night_is_a_banner_on_the_admins_home_only(
    client, org, org_admin, csm, settings
):
    settings.NIGHTLY_LATE_SECONDS = 3600
    today = timezone.localdate()
    client.force_login(org_admin)
    assert "is late" not in client.get("/accounts/").content.decode()
    night(org, today, chunks=(("running", 1),), started_ago=2 * 3600)
    html = client.get("/accounts/").content.decode()
    assert f"The night of {today.isoformat()} is late." in html
    assert f'href="/operations/nightly/?date={today.isoformat()}"' in html
    client.force_login(csm)
    assert "is late" not in client.get("/accounts/").content.decode()


@pytest.mark.django_db
def test_readiness_reports_the_database_and_the_broker(client, settings):
    assert client.get("/healthz").content == b"ok"
    ready = client.get("/healthz/ready")
    assert ready.status_code == 200 and ready.json() == {
        "ready": True,
        "database": "ok",
        "broker": "ok",
    }
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    down = client.get("/healthz/ready")
    assert down.status_code == 503
    assert down.json() == {"ready": False, "database": "ok", "broker": "unavailable"}


@pytest.mark.django_db
def test_what_the_sweeper_did_is_timed_in_the_organizations_zone(client, org, org_admin):
    """A repair recorded at 05:14:00 UTC (ISO text, as the sweeper writes it) reads 02:14 in
    São Paulo (UTC−3), the zone named; the bare UTC clock (05:14:00) is gone."""
    org.timezone = "America/Sao_Paulo"
    org.save(update_fields=["timezone"])
    with timezone.override(org.timezone):
        today = timezone.localdate()
    run = night(org, today, state="done")
    at = dt.datetime.combine(today, dt.time(5, 14), tzinfo=dt.UTC)
    HealthRun.all_objects.filter(pk=run.pk).update(
        repairs=[{"at": at.isoformat(), "action": "chunk_requeued", "detail": "queued again"}]
    )
    client.force_login(org_admin)
    html = client.get("/operations/nightly/", {"date": today.isoformat()}).content.decode()
    repairs = html.split('class="night__repairs"')[1].split("</ul>")[0]
    shown = repairs.split('">', 1)[1]  # past the machine-readable datetime attribute
    assert "02:14 America/Sao Paulo" in shown and "05:14" not in shown
