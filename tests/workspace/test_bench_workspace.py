"""The workspace benchmark's data: `bench_workspace prepare` on a tiny organization writes the
playbooks, steps, load CSMs and alerts it says, once; --replace writes them again without
duplicates; the generator's year is consistent (closed playbooks have no open step)."""

import io

import numpy as np
import pytest
from django.core.management import call_command

from accounts.models import Account
from orgs.models import Membership
from playbooks.models import Playbook, PlaybookStep
from tests import factories as f
from triggers.models import Alert
from workspace.bench.plan import (
    NO_DAY,
    StepSpec,
    TemplateSpec,
    bench_playbooks,
)

pytestmark = pytest.mark.django_db


def prepare(*args: str) -> str:
    out = io.StringIO()
    call_command(
        "bench_workspace",
        "prepare",
        "--org",
        "acme",
        "--csms",
        "3",
        "--playbooks-per-account",
        "2",
        *args,
        stdout=out,
    )
    return out.getvalue()


def bench_counts(org) -> dict:
    playbooks = Playbook.all_objects.filter(organization=org, origin="bench")
    return {
        "playbooks": playbooks.count(),
        "steps": PlaybookStep.all_objects.filter(playbook__in=playbooks).count(),
        "alerts": Alert.all_objects.filter(organization=org).count(),
        "load_csms": Membership.objects.filter(
            organization=org, role="csm", user__username__startswith="acme-load-"
        ).count(),
    }


@pytest.fixture
def tiny_org(org, csm, manager, in_org):
    f.ChurnReasonFactory(organization=org)
    f.AccountFactory.create_batch(30, organization=org, owner=csm)
    return org


def test_prepare_writes_a_year_once_and_replace_does_not_duplicate(tiny_org):
    out = prepare()
    assert "Prepared acme" in out
    counts = bench_counts(tiny_org)
    assert counts["playbooks"] == 60  # 30 accounts x 2
    assert counts["load_csms"] == 3
    # Every playbook has its template's steps, numbered from 1.
    playbooks = Playbook.all_objects.filter(organization=tiny_org, origin="bench")
    for p in playbooks.prefetch_related("template__steps", "steps"):
        assert sorted(s.order for s in p.steps.all()) == sorted(
            t.order for t in p.template.steps.all()
        )
    assert counts["steps"] == sum(p.template.steps.count() for p in playbooks)
    assert all(p.is_demo for p in playbooks)

    # Half the accounts went to the load CSMs, five each; the CSMs own the playbooks' steps.
    owners = dict(
        Membership.objects.filter(organization=tiny_org, role="csm").values_list(
            "user__username", "user_id"
        )
    )
    load = [owners[f"acme-load-0{i}"] for i in (1, 2, 3)]
    for user_id in load:
        assert Account.objects.filter(owner_id=user_id).count() == 5
        assert PlaybookStep.objects.filter(assignee_id=user_id).exists()
    # Each CSM (three load CSMs and the fixture's) has five pending alerts on its accounts.
    assert counts["alerts"] == 4 * 5
    for alert in Alert.all_objects.filter(organization=tiny_org).select_related("account"):
        assert alert.account.owner_id == alert.owner_id

    assert "already prepared" in prepare()
    assert bench_counts(tiny_org) == counts

    prepare("--replace")
    assert bench_counts(tiny_org) == counts


def test_generated_year_is_consistent():
    templates = [
        TemplateSpec(
            1,
            "retention",
            "Retention",
            None,
            (StepSpec(1, "Call", "", 1, False), StepSpec(2, "Review", "", 14, True)),
        ),
        TemplateSpec(2, "renewal", "Renewal", None, (StepSpec(1, "Prepare", "", 0, False),)),
    ]
    playbooks, steps = bench_playbooks(
        account_ids=np.arange(100, 140),
        owner_ids=np.full(40, 7),
        templates=templates,
        n=2000,
        days=365,
        manager_id=9,
        reason_ids=[3],
        rng=np.random.default_rng(1),
    )
    status = playbooks["status"][steps["playbook"]]
    # A closed playbook has no open step; a completed one has every step done.
    assert not ((status != "open") & (steps["status"] == "open")).any()
    assert (steps["status"][status == "completed"] == "done").all()
    # Some work is left: open steps due around today, a few overdue.
    open_due = steps["due_day"][steps["status"] == "open"]
    assert (open_due >= 0).sum() > 0 and (open_due < 0).sum() > 0
    # Done steps were done before today and not before their playbook opened.
    done = steps["status"] == "done"
    assert (steps["done_day"][done] < 0).all() and (steps["done_day"][~done] == NO_DAY).all()
    assert (steps["done_day"][done] >= playbooks["opened_day"][steps["playbook"]][done]).all()
    # The manager's steps go to the manager; churned outcomes carry the reason.
    assert set(steps["assignee_id"][steps["order"] == 2]) == {9}
    assert (playbooks["churn_reason_id"][playbooks["outcome"] == "churned"] == 3).all()
    assert (playbooks["outcome"][playbooks["status"] == "completed"] != "").all()
    # One open playbook per account and template (the database refuses a second).
    is_open = playbooks["status"] == "open"
    pairs = list(
        zip(playbooks["account_id"][is_open], playbooks["template_id"][is_open], strict=True)
    )
    assert len(pairs) == len(set(pairs)) and len(pairs) > 0
