"""The night's stage step on a hand-made timeline: stage moves, activation, churn, the
onboarding playbook, the trigger frame's journey fields, and a re-run that writes nothing."""

import datetime as dt

import pytest

from accounts.models import Account, LifecycleChange, UsageMetric
from lifecycle.services import lifecycle_night_run, onboarding_templates_ensure
from playbooks.models import Playbook
from tests import factories as f
from triggers.fields import load_frame

pytestmark = pytest.mark.django_db

START = dt.date(2024, 3, 1)
NIGHTS = [
    dt.date(2024, 3, 10),
    dt.date(2024, 4, 1),
    dt.date(2024, 4, 5),
    dt.date(2024, 12, 15),
    dt.date(2025, 2, 2),
]


@pytest.fixture
def timeline(org, csm, in_org):
    """Account "Ana" signs on 1 March 2024 (its one subscription starts then; renewal on
    1 March 2025), logs in every day from 20 to 31 March (12 days), uses the product
    "core" on 3 April only, and churns on 1 February 2025. With the defaults (onboarding
    the first 30 days, renewal within 90 days, activation = logins on 10 of the last 30
    days and at least one product used over 30 days):

    - 10 March: 9 days since the first subscription -> onboarding (from the factory's ongoing)
    - 1 April: 31 days -> out of onboarding; 12 login days but no product yet -> adoption
    - 5 April: product used on 3 April, logins 20-31 March within 7 March..5 April (12 >= 10)
      -> activated on 5 April -> ongoing
    - 15 December: 2025-03-01 - 2024-12-15 = 76 days to renewal (<= 90) -> renewal
    - 2 February 2025: churned on 1 February -> churned, recorded on 1 February
    Five changes. "Old" (a customer since 2020, active, no usage) is adoption from the first
    night on and never moves again: one change."""
    ana = f.AccountFactory(
        organization=org,
        name="Ana",
        owner=csm,
        customer_since=START,
        renewal_date=dt.date(2025, 3, 1),
        churned_at=dt.date(2025, 2, 1),
    )
    f.SubscriptionFactory(
        account=ana, start_date=START, renewal_date=dt.date(2025, 3, 1), product__code="core"
    )
    UsageMetric.all_objects.bulk_create(
        [
            UsageMetric(
                organization=org,
                account=ana,
                metric="logins",
                date=dt.date(2024, 3, 20) + dt.timedelta(days=i),
                value=1.0,
            )
            for i in range(12)
        ]
        + [
            UsageMetric(
                organization=org,
                account=ana,
                metric="product:core",
                date=dt.date(2024, 4, 3),
                value=5.0,
            )
        ]
    )
    old = f.AccountFactory(
        organization=org, name="Old", owner=csm, customer_since=dt.date(2020, 1, 1)
    )
    f.SubscriptionFactory(account=old, start_date=dt.date(2020, 1, 1))
    return {"ana": ana, "old": old}


def changes(account):
    return list(
        LifecycleChange.objects.filter(account=account)
        .order_by("changed_on", "id")
        .values_list("from_stage", "to_stage", "changed_on")
    )


def test_stages_move_by_themselves_along_the_timeline(org, timeline):
    for night in NIGHTS:
        lifecycle_night_run(org_id=org.pk, day=night)
    ana = Account.objects.get(name="Ana")
    assert changes(ana) == [
        ("ongoing", "onboarding", dt.date(2024, 3, 10)),
        ("onboarding", "adoption", dt.date(2024, 4, 1)),
        ("adoption", "ongoing", dt.date(2024, 4, 5)),
        ("ongoing", "renewal", dt.date(2024, 12, 15)),
        ("renewal", "churned", dt.date(2025, 2, 1)),
    ]
    assert (ana.lifecycle_stage, ana.activated_on) == ("churned", dt.date(2024, 4, 5))
    old = Account.objects.get(name="Old")
    assert changes(old) == [("ongoing", "adoption", dt.date(2024, 3, 10))]
    assert old.activated_on is None


def test_entering_onboarding_opens_the_personas_onboarding_playbook_once(org, timeline):
    lifecycle_night_run(org_id=org.pk, day=NIGHTS[0])
    lifecycle_night_run(org_id=org.pk, day=NIGHTS[0])
    books = list(Playbook.objects.values_list("account__name", "title", "kind", "origin"))
    assert books == [("Ana", "Onboarding journey", "onboarding", "lifecycle")]
    steps = list(Playbook.objects.get().steps.order_by("order").values_list("title", "due_on"))
    assert [t for t, _ in steps] == [
        "Welcome call",
        "Welcome mail",
        "Record the goal of the purchase",
        "Training",
        "First-value check",
    ]
    assert steps[0][1] == dt.date(2024, 3, 12)  # the call two days after entering


def test_a_persona_gets_its_own_onboarding_template(org, in_org):
    persona = f.PersonaFactory(organization=org, name="Enterprise")
    templates = onboarding_templates_ensure(org=org)
    assert {k: t.name for k, t in templates.items()} == {
        None: "Onboarding journey",
        persona.pk: "Onboarding journey: Enterprise",
    }
    assert onboarding_templates_ensure(org=org)[persona.pk].pk == templates[persona.pk].pk


def test_a_brazilian_organizations_journey_is_written_in_portuguese_and_reads_as_the_journey(
    org, timeline, client, csm
):
    """An organization whose locale is pt-BR gets its onboarding template and steps named in
    Portuguese (they are its data, written once), whatever language the night runs in; the
    playbook's page words its origin as the journey (not "started by hand"), in the reader's
    language, from the origin itself: nothing English is stored as its label."""
    org.locale = "pt-br"
    org.save(update_fields=["locale"])
    lifecycle_night_run(org_id=org.pk, day=NIGHTS[0])
    book = Playbook.objects.get()
    assert (book.title, book.origin, book.origin_label) == (
        "Jornada de onboarding",
        "lifecycle",
        "",
    )
    assert book.steps.order_by("order").first().title == "Ligação de boas-vindas"
    csm.language = "en"
    csm.save(update_fields=["language"])
    client.force_login(csm)
    page = client.get(f"/playbooks/{book.pk}/").content.decode()
    assert "Opened when the account entered onboarding, on" in page
    assert "By hand" not in page


def test_a_rerun_night_writes_nothing_twice(org, timeline):
    """Each night twice in a row: the second finds every stage as the first left it."""
    for night in NIGHTS:
        first = lifecycle_night_run(org_id=org.pk, day=night)
        before = (
            LifecycleChange.objects.count(),
            Playbook.objects.count(),
            list(Account.objects.order_by("pk").values_list("lifecycle_stage", "activated_on")),
        )
        again = lifecycle_night_run(org_id=org.pk, day=night)
        after = (
            LifecycleChange.objects.count(),
            Playbook.objects.count(),
            list(Account.objects.order_by("pk").values_list("lifecycle_stage", "activated_on")),
        )
        assert after == before, night
        assert (again.moved, again.activated, again.churned) == (0, 0, 0), (night, first)
    assert LifecycleChange.objects.count() == 6


def test_the_trigger_frame_reads_the_journey(org, timeline):
    """After the nights up to 15 December: on that day Ana entered renewal (0 days in it),
    9 months and a half since 1 March (289 days), activated; five days later nothing was
    entered and she is 5 days in the stage."""
    for night in NIGHTS[:4]:
        lifecycle_night_run(org_id=org.pk, day=night)
    wanted = {
        "stage_entered_today",
        "days_in_stage",
        "days_since_first_subscription",
        "activated",
        "products_used_30d",
    }
    ana = timeline["ana"].pk
    row = load_frame(day=dt.date(2024, 12, 15), fields=wanted).loc[ana]
    assert (
        row["stage_entered_today"],
        row["days_in_stage"],
        row["days_since_first_subscription"],
        bool(row["activated"]),
        row["products_used_30d"],
    ) == ("renewal", 0.0, 289.0, True, 0.0)
    row = load_frame(day=dt.date(2024, 12, 20), fields=wanted).loc[ana]
    assert (row["stage_entered_today"], row["days_in_stage"]) == ("none", 5.0)
    # on 5 April the product had been used within 30 days, before activation it was not
    row = load_frame(day=dt.date(2024, 4, 5), fields=wanted).loc[ana]
    assert (row["products_used_30d"], row["days_since_first_subscription"]) == (1.0, 35.0)


def test_another_organizations_accounts_are_left_alone(org, other_org, timeline):
    foreign = f.AccountFactory(organization=other_org, customer_since=START)
    f.SubscriptionFactory(account=foreign, start_date=START)
    lifecycle_night_run(org_id=org.pk, day=NIGHTS[0])
    foreign = Account.all_objects.get(pk=foreign.pk)
    assert foreign.lifecycle_stage == "ongoing"
    assert not LifecycleChange.all_objects.filter(account=foreign).exists()
