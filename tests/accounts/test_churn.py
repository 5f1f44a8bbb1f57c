"""Churn, the one way an account stops being a customer: accounts_mark_churned cancels its
subscriptions (with their ledger entries), leaves it no MRR and no current health, and through
the accounts_churned hook the layers above cancel its open playbooks and close its pending
alerts, with the reason. After its churn date it is not scored and fires no trigger."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import Account, MrrMovement, Subscription
from accounts.selectors import customer_on
from accounts.services import (
    Churn,
    PortfolioError,
    account_mark_churned,
    account_rollups_refresh,
    accounts_mark_churned,
)
from health import services as health_services
from health.models import HealthScore
from playbooks.models import Notification, Playbook, PlaybookStep
from tests import factories as f
from tests.builders import DAY, active_days, simple_model, template, trigger_world
from triggers import services as trigger_services
from triggers.fields import load_frame
from triggers.models import Alert, Firing, Trigger

pytestmark = pytest.mark.django_db

CHURN_DAY = DAY + dt.timedelta(days=1)


@pytest.fixture
def world(org, csm, manager, in_org):
    return trigger_world(org, csm, manager)


def test_churn_cancels_subscriptions_with_ledger_entries_and_leaves_no_mrr(org, world):
    bravo = world["accounts"]["b"]  # core 1000 + analytics 500
    Account.objects.filter(pk=bravo.pk).update(health_score=80, health_colour="green")
    reason = f.ChurnReasonFactory(organization=org, name="Price")

    account_mark_churned(account=bravo, churned_at=CHURN_DAY, reason=reason)

    assert (bravo.churned_at, bravo.churn_reason_id, bravo.lifecycle_stage) == (
        CHURN_DAY,
        reason.pk,
        "churned",
    )
    assert (bravo.mrr, bravo.renewal_date) == (0, None)
    assert (bravo.health_score, bravo.health_colour) == (None, "")
    subs = Subscription.objects.filter(account=bravo)
    assert set(subs.values_list("status", "end_date")) == {("cancelled", CHURN_DAY)}
    ledger = MrrMovement.objects.filter(account=bravo, kind="churn")
    assert sorted(ledger.values_list("date", "delta_mrr")) == [
        (CHURN_DAY, Decimal("-1000")),
        (CHURN_DAY, Decimal("-500")),
    ]
    # the others keep theirs
    assert Account.objects.get(pk=world["accounts"]["a"].pk).mrr == Decimal("1000")


def test_churn_cancels_open_playbooks_and_closes_pending_alerts_with_the_reason(
    org, world, manager
):
    trigger_services.triggers_evaluate(org=org, day=DAY)
    acc = world["accounts"]
    playbook = Playbook.objects.get(account=acc["a"])  # the expansion, open
    alert = Alert.objects.get(account=acc["c"])  # pending
    others = set(Alert.objects.exclude(pk=alert.pk).values_list("pk", "status"))
    reason = f.ChurnReasonFactory(organization=org, name="Price")

    accounts_mark_churned(
        org=org,
        churns=[
            Churn(account_id=acc["a"].pk, churned_at=CHURN_DAY, reason_id=reason.pk),
            Churn(account_id=acc["c"].pk, churned_at=CHURN_DAY, reason_id=reason.pk),
        ],
        acting_user=manager,
    )

    why = "account churned on 07/01/2024: Price"
    playbook.refresh_from_db()
    assert (playbook.status, playbook.outcome_notes, playbook.closed_by_id) == (
        "cancelled",
        why,
        manager.pk,
    )
    assert set(PlaybookStep.objects.filter(playbook=playbook).values_list("status", flat=True)) == {
        "skipped"
    }
    alert.refresh_from_db()
    assert (alert.status, alert.dismiss_reason, alert.decided_by_id) == (
        "dismissed",
        why,
        manager.pk,
    )
    assert Notification.objects.get(kind="alert_raised", ref=alert.pk).read_at is not None
    # Delta's and Echo's alerts wait as they did
    assert set(Alert.objects.exclude(pk=alert.pk).values_list("pk", "status")) == others


def test_an_account_churned_before_keeps_its_first_date_and_reason(org, world):
    charlie = world["accounts"]["c"]
    first = f.ChurnReasonFactory(organization=org, name="Price")
    later = f.ChurnReasonFactory(organization=org, name="Competitor")
    account_mark_churned(account=charlie, churned_at=CHURN_DAY, reason=first)
    churned = accounts_mark_churned(
        org=org,
        churns=[Churn(account_id=charlie.pk, churned_at=DAY + dt.timedelta(9), reason_id=later.pk)],
    )
    assert [(c.churned_at, c.reason) for c in churned] == [(CHURN_DAY, "Price")]
    charlie.refresh_from_db()
    assert (charlie.churned_at, charlie.churn_reason_id) == (CHURN_DAY, first.pk)
    assert MrrMovement.objects.filter(account=charlie, kind="churn").count() == 1


def test_a_bad_churn_is_refused_naming_the_field_and_writes_nothing(org, other_org, world):
    alfa = world["accounts"]["a"]
    theirs = f.ChurnReasonFactory(organization=other_org, name="Theirs")
    with pytest.raises(PortfolioError) as info:
        account_mark_churned(account=alfa, churned_at=CHURN_DAY, reason=theirs)
    assert info.value.field == "churn_reason"
    with pytest.raises(PortfolioError) as info:
        accounts_mark_churned(
            org=org, churns=[Churn(account_id=alfa.pk, churned_at=CHURN_DAY, reason_id=theirs.pk)]
        )
    assert info.value.field == "churn_reason"
    stranger = f.AccountFactory(organization=other_org)
    mine = f.ChurnReasonFactory(organization=org, name="Price")
    with pytest.raises(PortfolioError) as info:
        accounts_mark_churned(
            org=org,
            churns=[
                Churn(account_id=alfa.pk, churned_at=CHURN_DAY, reason_id=mine.pk),
                Churn(account_id=stranger.pk, churned_at=CHURN_DAY, reason_id=mine.pk),
            ],
        )
    assert info.value.field == "account"
    alfa.refresh_from_db()
    assert (alfa.churned_at, alfa.mrr) == (None, Decimal("1000"))
    assert not MrrMovement.objects.filter(kind="churn").exists()


def test_the_rollup_shows_no_mrr_for_a_churned_account_whatever_it_still_holds(org, world):
    delta = world["accounts"]["d"]
    # marked churned by hand (no date), its subscription still active
    Account.objects.filter(pk=delta.pk).update(lifecycle_stage="churned")
    account_rollups_refresh(org=org)
    delta.refresh_from_db()
    assert (delta.mrr, delta.renewal_date, delta.is_churned) == (0, None, True)
    assert Subscription.objects.filter(account=delta, status="active").exists()  # history stays


def test_a_customer_is_one_signed_and_not_churned_on_or_before_the_day(org, in_org):
    day = dt.date(2024, 6, 30)
    mk = lambda **kw: f.AccountFactory(organization=org, **kw)  # noqa: E731
    live = mk(customer_since=dt.date(2024, 1, 1))
    future = mk(customer_since=dt.date(2024, 7, 1))
    churns_later = mk(churned_at=dt.date(2024, 7, 1), lifecycle_stage="churned")
    churned_today = mk(churned_at=day, lifecycle_stage="churned")
    undated = mk(lifecycle_stage="churned")
    ids = set(Account.objects.filter(customer_on(day)).values_list("pk", flat=True))
    assert ids == {live.pk, churns_later.pk}
    assert not {future.pk, churned_today.pk, undated.pk} & ids


def test_after_its_churn_date_an_account_is_not_scored_and_fires_no_trigger(org, in_org):
    simple_model(org)
    mk = lambda **kw: f.AccountFactory(  # noqa: E731
        organization=org, customer_since=dt.date(2020, 1, 1), **kw
    )
    stays, leaves, undated = mk(), mk(), mk(lifecycle_stage="churned")
    for account in (stays, leaves, undated):
        active_days(org, account, 3)
    health_services.health_score_day(org=org, day=DAY - dt.timedelta(days=1))
    reason = f.ChurnReasonFactory(organization=org)
    account_mark_churned(account=leaves, churned_at=DAY, reason=reason)
    health_services.health_score_day(org=org, day=DAY)

    scored = set(HealthScore.objects.values_list("account_id", "date"))
    assert scored == {
        (stays.pk, DAY - dt.timedelta(days=1)),
        (leaves.pk, DAY - dt.timedelta(days=1)),  # its history before the churn stays
        (stays.pk, DAY),
    }
    # re-scoring a day before the churn rewrites that day's history, not a current health
    health_services.health_score_day(org=org, day=DAY - dt.timedelta(days=1))
    leaves.refresh_from_db()
    assert (leaves.health_score, leaves.health_colour) == (None, "")
    assert Account.objects.get(pk=stays.pk).health_score is not None
    frame = load_frame(day=DAY, fields={"health_score"})
    assert list(frame.index) == [stays.pk]
    Trigger.all_objects.create(
        organization=org,
        name="Low usage",
        kind="retention",
        action="playbook",
        template=template(org, "Save", "retention"),
        condition={"field": "health_score", "op": "<", "value": 101},
        cooldown_days=0,
    )
    trigger_services.triggers_evaluate(org=org, day=DAY)
    assert set(Firing.objects.values_list("account_id", flat=True)) == {stays.pk}


def test_pages_show_no_current_mrr_for_a_churned_account(client, org, csm, world):
    charlie = world["accounts"]["c"]
    account_mark_churned(
        account=charlie, churned_at=CHURN_DAY, reason=f.ChurnReasonFactory(organization=org)
    )
    client.force_login(csm)
    page = client.get(reverse("accounts:detail", args=[charlie.pk])).content.decode()
    header = page[page.index('class="account-header__mrr"') :][:400]
    assert "—" in header and "1,000" not in header and "1000" not in header
    portfolio = client.get(reverse("accounts:portfolio") + "?include_churned=1").content.decode()
    row = portfolio[portfolio.index(f'href="/accounts/{charlie.pk}/"') :][:2000]
    row = row[: row.index("</tr>")]
    assert 'title="Churned">—' in row


def test_the_closing_reason_is_written_in_the_organizations_language(org, world, manager):
    """A Brazilian organization's cancelled playbook says why in Portuguese with its date
    format, whichever language the person who marked the churn reads: the msgid "account
    churned on %(date)s: %(reason)s" with 01/07/2024 (pt-BR's day/month/year) and "Preço"."""
    from django.utils import translation

    trigger_services.triggers_evaluate(org=org, day=DAY)
    org.locale = "pt-br"
    org.save(update_fields=["locale"])
    account = world["accounts"]["a"]
    reason = f.ChurnReasonFactory(organization=org, name="Preço")
    with translation.override("en"):
        accounts_mark_churned(
            org=org,
            churns=[Churn(account_id=account.pk, churned_at=CHURN_DAY, reason_id=reason.pk)],
            acting_user=manager,
        )
    with translation.override("pt-br"):
        expected = translation.gettext("account churned on %(date)s: %(reason)s") % {
            "date": "01/07/2024",
            "reason": "Preço",
        }
    assert expected != "account churned on 01/07/2024: Preço"  # the catalogue has it
    assert Playbook.objects.get(account=account).outcome_notes == expected
