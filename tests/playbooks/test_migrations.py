"""The migration to one open playbook per account and template, on a database that already
holds duplicates and churned accounts' open work (as demo databases do): it cancels the newer
duplicates and the churned accounts' open playbooks with the reason, and then the index holds.
Rows are written with the historical models, as of before the change."""

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

BEFORE = [
    ("accounts", "0003_usage_without_separate_organization_index"),
    ("playbooks", "0002_notification_kinds_trigger_and_persona_problems"),
]
AFTER = [
    ("accounts", "0004_churned_accounts_hold_no_mrr"),
    ("playbooks", "0004_one_open_playbook_per_template_outcome_notifications"),
]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _migrate_to_latest() -> None:
    """Back to every app's latest migration, as the tests after this one expect."""
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_duplicates_and_churned_accounts_open_playbooks_are_cancelled_before_the_index():
    apps = _migrate(BEFORE)
    try:
        Organization = apps.get_model("orgs", "Organization")
        Account = apps.get_model("accounts", "Account")
        ChurnReason = apps.get_model("accounts", "ChurnReason")
        Template = apps.get_model("playbooks", "PlaybookTemplate")
        Playbook = apps.get_model("playbooks", "Playbook")
        Step = apps.get_model("playbooks", "PlaybookStep")
        org = Organization.objects.create(name="Old demo", slug="old-demo")
        reason = ChurnReason.objects.create(organization=org, name="Price")
        live = Account.objects.create(organization=org, name="Live", mrr=100)
        gone = Account.objects.create(
            organization=org,
            name="Gone",
            mrr=250,
            churned_at=dt.date(2024, 5, 1),
            churn_reason=reason,
            lifecycle_stage="churned",
        )
        save = Template.objects.create(organization=org, name="Save", kind="retention")
        other = Template.objects.create(organization=org, name="Other", kind="retention")

        def playbook(account, template, day):
            p = Playbook.objects.create(
                organization=org,
                account=account,
                template=template,
                kind="retention",
                title=template.name,
                opened_on=dt.date(2024, 6, day),
            )
            Step.objects.create(
                organization=org, playbook=p, order=1, title="Call", due_on=p.opened_on
            )
            return p.pk

        first, second, third = (playbook(live, save, d) for d in (1, 2, 3))
        other_one = playbook(live, other, 4)
        churned = playbook(gone, other, 5)

        apps = _migrate(AFTER)

        Playbook = apps.get_model("playbooks", "Playbook")
        Step = apps.get_model("playbooks", "PlaybookStep")
        Account = apps.get_model("accounts", "Account")
        state = dict(Playbook.objects.values_list("pk", "status"))
        assert state == {
            first: "open",
            second: "cancelled",
            third: "cancelled",
            other_one: "open",
            churned: "cancelled",
        }
        notes = dict(Playbook.objects.values_list("pk", "outcome_notes"))
        assert notes[churned] == "account churned on 2024-05-01: Price"
        assert notes[second].startswith("cancelled: another playbook from the same template")
        assert set(
            Step.objects.filter(playbook_id__in=[second, third, churned]).values_list(
                "status", flat=True
            )
        ) == {"skipped"}
        assert dict(Account.objects.values_list("name", "mrr")) == {"Live": 100, "Gone": 0}
        with pytest.raises(IntegrityError), transaction.atomic():
            Playbook.objects.filter(pk=second).update(status="open")
    finally:
        _migrate_to_latest()
