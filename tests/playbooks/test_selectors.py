"""The playbook reads decide "overdue" once: a step still open and due before the day asked
for, a playbook still open past its due date. The lists carry it (`is_overdue`), the counts
filter on it, and they agree."""

import datetime as dt

import pytest

from playbooks import selectors
from playbooks.models import Playbook, PlaybookStep, StepStatus
from playbooks.services import playbook_start, step_complete
from tests import factories as f
from tests.builders import template

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("in_org")]

TODAY = dt.date(2024, 6, 30)


@pytest.fixture
def playbook(org, csm):
    """Five steps of one open playbook, all the CSM's: due three days ago, yesterday (done),
    today, tomorrow, and three days ago again (skipped)."""
    steps = [(f"Step {i}", 0, "owner") for i in range(1, 6)]
    account = f.AccountFactory(organization=org, owner=csm)
    pb = playbook_start(
        account=account,
        template=template(org, "Five", "retention", steps=steps),
        acting_user=csm,
        today=TODAY,
    )
    for order, days in enumerate([-3, -1, 0, 1, -3], 1):
        PlaybookStep.objects.filter(playbook=pb, order=order).update(
            due_on=TODAY + dt.timedelta(days=days)
        )
    step_complete(step_id=PlaybookStep.objects.get(playbook=pb, order=2).pk, user=csm)
    PlaybookStep.objects.filter(playbook=pb, order=5).update(status=StepStatus.SKIPPED)
    return pb


def overdue_titles(steps):
    return [s.title for s in steps if s.is_overdue]


def test_only_open_steps_due_before_today_are_overdue(playbook):
    steps = selectors.playbook_step_list(playbook=playbook, today=TODAY)
    assert overdue_titles(steps) == ["Step 1"]
    # the next day, the step due today is overdue too; the one due tomorrow is not yet
    steps = selectors.playbook_step_list(playbook=playbook, today=TODAY + dt.timedelta(days=1))
    assert overdue_titles(steps) == ["Step 1", "Step 3"]
    one = PlaybookStep.objects.get(playbook=playbook, order=1)
    assert selectors.step_get(pk=one.pk, today=TODAY).is_overdue
    assert not selectors.step_get(pk=one.pk, today=TODAY - dt.timedelta(days=3)).is_overdue


def test_the_lists_and_the_counts_agree(playbook, csm):
    for today in (TODAY - dt.timedelta(days=5), TODAY, TODAY + dt.timedelta(days=2)):
        work = list(selectors.work_steps(user=csm, today=today))
        counts = selectors.work_counts(user=csm, today=today)
        detail = selectors.playbook_detail(pk=playbook.pk, today=today)
        (row,) = selectors.team_board(
            members=[csm], today=today, month_start=dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
        )
        (listed,) = selectors.account_playbooks(account_id=playbook.account_id, today=today)
        expected = len(overdue_titles(detail.step_list))
        assert len(overdue_titles(work)) == expected
        assert counts.overdue == row.overdue == listed.overdue_steps == expected


def test_a_playbook_is_overdue_while_open_past_its_due_date(playbook, csm):
    Playbook.objects.filter(pk=playbook.pk).update(due_on=TODAY - dt.timedelta(days=1))
    assert selectors.playbook_detail(pk=playbook.pk, today=TODAY).is_overdue
    assert not selectors.playbook_detail(pk=playbook.pk, today=TODAY - dt.timedelta(1)).is_overdue
    Playbook.objects.filter(pk=playbook.pk).update(status="cancelled")
    assert not selectors.playbook_detail(pk=playbook.pk, today=TODAY).is_overdue
    Playbook.objects.filter(pk=playbook.pk).update(status="open", due_on=None)
    assert not selectors.playbook_detail(pk=playbook.pk, today=TODAY).is_overdue
