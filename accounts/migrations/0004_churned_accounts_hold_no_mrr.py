"""A churned account shows no current MRR or renewal date (its subscriptions and MRR ledger
keep the history): what account_rollups_refresh computes from now on, applied to the
accounts already churned."""

from django.db import migrations
from django.db.models import Q


def churned_accounts_hold_no_mrr(apps, schema_editor):
    Account = apps.get_model("accounts", "Account")
    Account.objects.filter(Q(churned_at__isnull=False) | Q(lifecycle_stage="churned")).update(
        mrr=0, renewal_date=None
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_usage_without_separate_organization_index"),
    ]

    operations = [
        migrations.RunPython(churned_accounts_hold_no_mrr, migrations.RunPython.noop),
    ]
