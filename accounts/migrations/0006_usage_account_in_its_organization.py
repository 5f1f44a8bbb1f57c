"""Usage rows checked by one composite foreign key instead of two: (account_id,
organization_id) -> accounts_account (id, organization_id). It proves what the two proved (the
account exists; the organization exists, by the account's own key) and one thing more (the
row's organization is its account's), at one index probe a row instead of two: the per-row
checks at commit were half of a 10,000-row bulk request's time (issue 13, `bench_ingest`).

PostgreSQL only (deferrable, initially deferred, like Django's own keys): SQLite, the embedded
demo, cannot add a constraint to an existing table, so there the usage table keeps no foreign
key and relies on the writers, which resolve every account inside the organization. Dropping
the keys makes Django rebuild the SQLite table, which loses the plain unique index migration
0002 created by hand: it is created again."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

FK = "usagemetric_account_in_org"


def _add_composite_key(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"ALTER TABLE accounts_usagemetric ADD CONSTRAINT {FK} "
            "FOREIGN KEY (account_id, organization_id) "
            "REFERENCES accounts_account (id, organization_id) DEFERRABLE INITIALLY DEFERRED"
        )


def _drop_composite_key(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE accounts_usagemetric DROP CONSTRAINT {FK}")


def _sqlite_unique_usage_day_again(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS usagemetric_unique_day_sqlite ON "
            "accounts_usagemetric (organization_id, metric, account_id, date)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_integration_keys_and_update_times"),
        ("orgs", "0002_organization_timezone_validated"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="account",
            constraint=models.UniqueConstraint(
                fields=("id", "organization"), name="account_unique_id_org"
            ),
        ),
        migrations.RunPython(_add_composite_key, _drop_composite_key),
        migrations.AlterField(
            model_name="usagemetric",
            name="account",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="usage",
                to="accounts.account",
            ),
        ),
        migrations.AlterField(
            model_name="usagemetric",
            name="organization",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="orgs.organization",
            ),
        ),
        migrations.RunPython(_sqlite_unique_usage_day_again, migrations.RunPython.noop),
    ]
