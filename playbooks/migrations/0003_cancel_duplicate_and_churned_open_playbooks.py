"""Before a database may hold at most one open playbook per account and template, and before
churned accounts stop generating work: the open playbooks of accounts already churned are
cancelled with the reason (as the accounts_churned hook does from now on), and where an
account has several open playbooks from one template the first opened stays and the newer
ones are cancelled. Set-based, with the historical models only."""

from django.db import migrations
from django.db.models import CharField, Count, Min, OuterRef, Q, Subquery, Value
from django.db.models.functions import Cast, Coalesce, Concat
from django.utils import timezone

DUPLICATE_NOTE = (
    "cancelled: another playbook from the same template was already open for this account"
)


def _cancel(Playbook, PlaybookStep, ids, **values) -> None:
    if not ids:
        return
    Playbook.objects.filter(pk__in=ids).update(
        status="cancelled", closed_at=timezone.now(), **values
    )
    PlaybookStep.objects.filter(playbook_id__in=ids, status="open").update(status="skipped")


def cancel_duplicate_and_churned_open_playbooks(apps, schema_editor):
    Account = apps.get_model("accounts", "Account")
    Playbook = apps.get_model("playbooks", "Playbook")
    PlaybookStep = apps.get_model("playbooks", "PlaybookStep")

    churned = Account.objects.filter(Q(churned_at__isnull=False) | Q(lifecycle_stage="churned"))
    ids = list(
        Playbook.objects.filter(status="open", account__in=churned).values_list("pk", flat=True)
    )
    account = Account.objects.filter(pk=OuterRef("account_id"))
    date = Subquery(account.values("churned_at")[:1])
    reason = Subquery(account.values("churn_reason__name")[:1])
    _cancel(
        Playbook,
        PlaybookStep,
        ids,
        outcome_notes=Concat(
            Value("account churned on "),
            Coalesce(Cast(date, CharField()), Value("an unknown date")),
            Value(": "),
            Coalesce(reason, Value("no reason recorded")),
            output_field=CharField(),
        ),
    )

    open_ = Playbook.objects.filter(status="open", template__isnull=False)
    keys = ("organization_id", "account_id", "template_id")
    groups = {
        tuple(g[k] for k in keys): g["keep"]
        for g in open_.values(*keys).annotate(n=Count("id"), keep=Min("id")).filter(n__gt=1)
    }
    if not groups:
        return
    candidates = open_.filter(account_id__in={key[1] for key in groups}).values_list("pk", *keys)
    newer = [pk for pk, *key in candidates if tuple(key) in groups and pk != groups[tuple(key)]]
    _cancel(Playbook, PlaybookStep, newer, outcome_notes=DUPLICATE_NOTE)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_usage_without_separate_organization_index"),
        ("playbooks", "0002_notification_kinds_trigger_and_persona_problems"),
    ]

    operations = [
        migrations.RunPython(
            cancel_duplicate_and_churned_open_playbooks, migrations.RunPython.noop
        ),
    ]
