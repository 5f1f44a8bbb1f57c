"""Daily usage range-partitioned by month on PostgreSQL (issue 16): old months can then be
rolled up and dropped whole (USAGE_RAW_RETENTION_DAYS) instead of deleted row by row, and the
nightly read of a window touches only its months.

Set-based: a partitioned parent with the same columns (read from the catalogue), one partition
per month of the existing rows up to two months ahead and a DEFAULT partition, the rows copied
with one INSERT ... SELECT, then the old table dropped and the new one given its name, its
unique index (organization, metric, account, date) covering value, its account index, its
composite foreign key (migration 0006) and its id sequence, continued where it stopped, then
VACUUM (ANALYZE), so the usage index's index-only scans are chosen from the first night. The
primary key becomes (id, date) in the database; Django's model keeps `id` as its key.
csplatform/db/partitions.py has the details; the nightly chain creates later months ahead.

PostgreSQL only: SQLite (the embedded demo) keeps its plain table. Reversible: the reverse
copies the rows back into one plain table."""

from django.db import migrations

from csplatform.db.partitions import monthly_partitioning


class Migration(migrations.Migration):
    # The conversion is one transaction of its own; the VACUUM after it cannot be in one.
    atomic = False

    dependencies = [("accounts", "0007_lifecycle_changes_and_activation")]

    operations = [monthly_partitioning(table="accounts_usagemetric", column="date")]
