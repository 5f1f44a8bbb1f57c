"""One open playbook per account and template: the database refuses a second, the bulk path
(trigger materialization, alert confirmations) joins the open one, a manual start is refused
with the template named; and closing a playbook as churned churns the account through the one
service, which cancels its other open playbooks. A churned account asks before a new start."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from accounts.models import Account
from accounts.services import account_mark_churned
from playbooks import services as pb
from playbooks.models import Notification, Playbook
from playbooks.services import PlaybookError, PlaybookSpec
from tests import factories as f
from tests.builders import DAY, trigger_world
from triggers import services as trigger_services
from triggers.models import Alert, Firing, Trigger

pytestmark = pytest.mark.django_db

CHURN_DAY = DAY + dt.timedelta(days=1)


@pytest.fixture
def world(org, csm, manager, in_org):
    return trigger_world(org, csm, manager)


def spec(account, template, **kw):
    return PlaybookSpec(
        account_id=account.pk, owner_id=account.owner_id, template=template, opened_on=DAY, **kw
    )


def test_the_database_refuses_a_second_open_playbook_from_one_template(org, world):
    charlie, save = world["accounts"]["c"], world["templates"]["save"]
    first = pb.playbooks_create_bulk(org=org, specs=[spec(charlie, save)]).new[0]
    fields = dict(organization=org, account=charlie, template=save, kind="retention", title="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        Playbook.all_objects.create(opened_on=DAY, **fields)
    # closed ones do not count, nor playbooks without a template
    Playbook.all_objects.create(opened_on=DAY, status="completed", **fields)
    Playbook.all_objects.create(opened_on=DAY, **{**fields, "template": None})
    Playbook.all_objects.create(opened_on=DAY, **{**fields, "template": None})
    first.status = "cancelled"
    first.save(update_fields=["status"])
    Playbook.all_objects.create(opened_on=DAY, **fields)


def test_the_bulk_path_joins_the_open_playbook_instead_of_opening_a_second(org, world, csm):
    acc, save = world["accounts"], world["templates"]["save"]
    charlie_open = pb.playbooks_create_bulk(org=org, specs=[spec(acc["c"], save)]).new[0]
    notified = Notification.objects.count()

    created = pb.playbooks_create_bulk(
        org=org,
        specs=[spec(acc["c"], save), spec(acc["d"], save), spec(acc["d"], save)],
    )

    assert [p.pk for p in created.by_spec][0] == charlie_open.pk
    (delta,) = created.new
    assert [p.pk for p in created.by_spec][1:] == [delta.pk, delta.pk]
    assert Playbook.objects.filter(status="open", template=save).count() == 2
    assert Notification.objects.count() == notified + 1  # Delta's, once


def test_two_triggers_from_one_template_open_one_playbook_and_both_firings_point_to_it(org, world):
    acc, save = world["accounts"], world["templates"]["save"]
    low = {"field": "health_score", "op": "<", "value": 51}
    for name in ("Low score", "Very low score"):
        Trigger.all_objects.create(
            organization=org,
            name=name,
            kind="retention",
            action="playbook",
            template=save,
            cooldown_days=0,
            condition=low,
        )

    stats = trigger_services.triggers_evaluate(org=org, day=DAY)

    firings = Firing.objects.filter(trigger__name__in=["Low score", "Very low score"])
    assert set(firings.values_list("account_id", flat=True)) == {acc["c"].pk}  # score 43
    (playbook,) = Playbook.objects.filter(account=acc["c"], template=save)
    assert set(firings.values_list("playbook_id", flat=True)) == {playbook.pk}
    assert playbook.origin_ref in set(firings.values_list("pk", flat=True))
    assert stats.playbooks == 2  # Charlie's, and Alfa's expansion
    # the next night neither trigger fires again while that playbook is open
    trigger_services.triggers_evaluate(org=org, day=DAY + dt.timedelta(days=1))
    assert firings.count() == 2


def test_confirming_an_alert_joins_the_playbook_already_open(org, world, csm):
    trigger_services.triggers_evaluate(org=org, day=DAY)
    charlie, save = world["accounts"]["c"], world["templates"]["save"]
    started = pb.playbook_start(account=charlie, template=save, acting_user=csm, today=DAY)
    alert = Alert.objects.get(account=charlie)

    alert = trigger_services.alert_confirm(alert_id=alert.pk, user=csm, today=DAY)

    assert alert.joined_open and alert.playbook_id == started.pk
    assert alert.firing.playbook_id == started.pk
    assert Playbook.objects.filter(account=charlie).count() == 1


def test_a_manual_start_is_refused_while_that_template_is_open(org, world, csm):
    charlie, save = world["accounts"]["c"], world["templates"]["save"]
    pb.playbook_start(account=charlie, template=save, acting_user=csm, today=DAY)
    with pytest.raises(PlaybookError) as info:
        pb.playbook_start(account=charlie, template=save, acting_user=csm, today=DAY)
    assert info.value.field == "template"
    assert info.value.message == "a “Retention call” playbook is already open for this account"
    assert Playbook.objects.filter(account=charlie).count() == 1


def test_closing_as_churned_churns_the_account_and_cancels_its_other_playbooks(org, world, csm):
    trigger_services.triggers_evaluate(org=org, day=DAY)
    alfa = world["accounts"]["a"]
    expansion = Playbook.objects.get(account=alfa)
    save = pb.playbook_start(
        account=alfa, template=world["templates"]["save"], acting_user=csm, today=DAY
    )
    reason = f.ChurnReasonFactory(organization=org, name="Price")

    pb.playbook_close(
        playbook_id=save.pk, user=csm, outcome="churned", today=CHURN_DAY, churn_reason=reason
    )

    save.refresh_from_db()
    expansion.refresh_from_db()
    alfa.refresh_from_db()
    assert (save.status, save.outcome, save.churn_reason_id) == ("completed", "churned", reason.pk)
    assert (expansion.status, expansion.outcome_notes) == (
        "cancelled",
        "account churned on 07/01/2024: Price",
    )
    assert (alfa.churned_at, alfa.churn_reason_id, alfa.mrr) == (CHURN_DAY, reason.pk, 0)


def test_closing_as_churned_with_another_organizations_reason_is_refused(
    org, other_org, world, csm
):
    save = pb.playbook_start(
        account=world["accounts"]["c"], template=world["templates"]["save"], acting_user=csm,
        today=DAY,
    )  # fmt: skip
    theirs = f.ChurnReasonFactory(organization=other_org)
    with pytest.raises(PlaybookError) as info:
        pb.playbook_close(
            playbook_id=save.pk, user=csm, outcome="churned", today=DAY, churn_reason=theirs
        )
    assert info.value.field == "churn_reason"
    save.refresh_from_db()
    assert save.status == "open"
    assert Account.objects.get(pk=world["accounts"]["c"].pk).churned_at is None


def test_starting_on_a_churned_account_needs_its_confirmation(org, world, csm):
    charlie, save = world["accounts"]["c"], world["templates"]["save"]
    account_mark_churned(
        account=charlie, churned_at=CHURN_DAY, reason=f.ChurnReasonFactory(organization=org)
    )
    with pytest.raises(PlaybookError) as info:
        pb.playbook_start(account=charlie, template=save, acting_user=csm, today=DAY)
    assert info.value.field == "confirm_churned"
    assert "This account churned on 07/01/2024." in info.value.message
    assert not Playbook.objects.filter(account=charlie).exists()

    playbook = pb.playbook_start(
        account=charlie, template=save, acting_user=csm, today=DAY, confirm_churned=True
    )
    assert playbook.status == "open" and playbook.account_id == charlie.pk


def test_the_start_refuses_a_churn_the_page_did_not_know_about(org, world, csm):
    """The check reads the account's row under lock, not the object the caller holds."""
    charlie, save = world["accounts"]["c"], world["templates"]["save"]
    stale = Account.objects.get(pk=charlie.pk)
    account_mark_churned(
        account=charlie, churned_at=CHURN_DAY, reason=f.ChurnReasonFactory(organization=org)
    )
    with pytest.raises(PlaybookError) as info:
        pb.playbook_start(account=stale, template=save, acting_user=csm, today=DAY)
    assert info.value.field == "confirm_churned"
