"""The journey's triggers in the nightly chain: the stage step runs after scoring and
before the triggers, so "Entered renewal" fires the night an account enters renewal and
"Not activated in time" raises its retention alert for the account still not activated at
day 45, and neither fires again on a re-run of the night."""

import datetime as dt

import pytest

from accounts.models import Account, UsageMetric
from lifecycle.services import journey_triggers_create
from playbooks.models import Playbook
from tests import factories as f
from tests.builders import simple_model
from triggers.models import Alert, Firing
from triggers.services import nightly_run_inline

pytestmark = pytest.mark.django_db

NIGHT = dt.date(2024, 6, 15)


@pytest.fixture
def world(org, csm, in_org):
    """Five accounts of one CSM on the night of 15 June 2024 (default settings: renewal
    within 90 days, activation = logins on 10 of 30 days and a product used, due by day 45:
    the alert is for accounts not activated 45 to 75 days after their first subscription):

    - Renews (first subscription 2022-01-01, renewal 2024-08-01, 47 days away): enters
      renewal -> "Entered renewal" opens its playbook; never activated, but 896 days > 75:
      no alert
    - Far (2022-01-01, renewal 2025-01-01, activated 2022-03-01): ongoing, nothing
    - Late (2024-04-20, 56 days, no usage): not activated at day 56, within 45-75: alert
    - Early (2024-05-16, 30 days): day 30 < 45, nothing (30 is not < 30: adoption)
    - Active (2024-04-20, 12 login days and a product): activated tonight, no alert
    Far has activated_on 2022-03-01. So: 1 renewal playbook (Renews), 1 alert (Late)."""
    simple_model(org)
    rows = {
        "Renews": (dt.date(2022, 1, 1), dt.date(2024, 8, 1), None),
        "Far": (dt.date(2022, 1, 1), dt.date(2025, 1, 1), dt.date(2022, 3, 1)),
        "Late": (dt.date(2024, 4, 20), dt.date(2025, 4, 20), None),
        "Early": (dt.date(2024, 5, 16), dt.date(2025, 5, 16), None),
        "Active": (dt.date(2024, 4, 20), dt.date(2025, 4, 20), None),
    }
    out = {}
    for name, (start, renewal, activated) in rows.items():
        acc = f.AccountFactory(
            organization=org,
            name=name,
            owner=csm,
            customer_since=start,
            renewal_date=renewal,
            activated_on=activated,
        )
        f.SubscriptionFactory(account=acc, start_date=start, renewal_date=renewal)
        out[name] = acc
    UsageMetric.all_objects.bulk_create(
        [
            UsageMetric(
                organization=org,
                account=out["Active"],
                metric="logins",
                date=NIGHT - dt.timedelta(days=i),
                value=1.0,
            )
            for i in range(12)
        ]
        + [
            UsageMetric(
                organization=org,
                account=out["Active"],
                metric="product:core",
                date=NIGHT,
                value=1.0,
            )
        ]
    )
    assert journey_triggers_create(org=org) == 2
    return out


def test_the_journey_triggers_fire_on_the_stages_of_the_same_night(org, world):
    out = nightly_run_inline(org=org, day=NIGHT)
    assert out["scoring"] == "done"
    stages = dict(Account.objects.values_list("name", "lifecycle_stage"))
    assert stages == {
        "Renews": "renewal",
        "Far": "ongoing",
        "Late": "adoption",
        "Early": "adoption",
        "Active": "ongoing",
    }
    assert Account.objects.get(name="Active").activated_on == NIGHT
    fired = set(Firing.objects.values_list("trigger__name", "account__name"))
    assert fired == {("Entered renewal", "Renews"), ("Not activated in time", "Late")}
    alert = Alert.objects.get()
    assert (alert.account.name, alert.firing.trigger.kind) == ("Late", "retention")
    renewal = Playbook.objects.get(kind="renewal")
    assert renewal.account.name == "Renews"
    # the evidence says why, in words
    late = Firing.objects.get(account__name="Late")
    assert late.evidence_text == "Not activated yet; First subscribed 56 days ago"


def test_a_rerun_night_fires_nothing_twice(org, world):
    nightly_run_inline(org=org, day=NIGHT)
    counts = (Firing.objects.count(), Alert.objects.count(), Playbook.objects.count())
    nightly_run_inline(org=org, day=NIGHT)
    assert (Firing.objects.count(), Alert.objects.count(), Playbook.objects.count()) == counts
    assert counts == (2, 1, 1)


def test_the_queued_chain_moves_the_stages_when_it_plans_the_trigger_run(org, world):
    """The Celery path: trigger_run_start (what triggers.run_nightly runs once the day's
    scoring is DONE) brings the stages up to date in the transaction that plans the run,
    before any chunk evaluates a trigger; a second start of the same night does nothing."""
    from accounts.models import LifecycleChange
    from health.services import health_score_day
    from triggers.services import trigger_run_start

    assert health_score_day(org=org, day=NIGHT).state == "done"
    assert trigger_run_start(org_id=org.pk, day=NIGHT) == 1
    assert Account.objects.get(name="Renews").lifecycle_stage == "renewal"
    moved = LifecycleChange.objects.count()
    # Renews to renewal, Late and Early to adoption; Far and Active (activated tonight) were
    # ongoing, as the factory makes them, and stay
    assert moved == 3
    assert trigger_run_start(org_id=org.pk, day=NIGHT) == 0
    assert LifecycleChange.objects.count() == moved
