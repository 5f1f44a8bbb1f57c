"""Score history range-partitioned by month on PostgreSQL (issue 16), as daily usage is
(accounts migration 0008): old months can be detached or summarized whole, and a day's or a
month's read touches only its partition. The conversion (csplatform/db/partitions.py) copies
whatever columns the table has when it runs, read from the catalogue, with its indexes,
constraints and id sequence, so it may run before or after a change of the table's columns.
The primary key becomes (id, date) in the database; the unique day (account_id, date) already
holds the partition key. No foreign key references the score table (checked by the
conversion, which refuses otherwise).

PostgreSQL only: SQLite (the embedded demo) keeps its plain table. Reversible."""

from django.db import migrations

from csplatform.db.partitions import monthly_partitioning


class Migration(migrations.Migration):
    # The conversion is one transaction of its own; the VACUUM after it cannot be in one.
    atomic = False

    dependencies = [("health", "0005_health_model_versions")]

    operations = [monthly_partitioning(table="health_healthscore", column="date")]
