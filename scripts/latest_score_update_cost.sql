-- What the nightly update of the accounts' latest-score columns costs, and how much of it is
-- the accounts table's indexes (docs/scaling.md, "The read stage"; issue 16): a copy of
-- accounts_account with all of its indexes holds the day before's scores (the latest scored
-- day's previous day in health_healthscore), then gets the latest day's scores in the
-- statement the night runs (health/services/pipeline.py health_scores_write: score, colour,
-- the 7- and 30-day changes, the day scored), as a real night does: every row gets a new day,
-- about a quarter a new score. The same again on a copy with only its primary key and the
-- (id, organization_id) key. Prints the times (\timing and EXPLAIN ANALYZE). Scratch tables
-- only (temporary, dropped at the end); writes nothing else. Temporary tables write no WAL,
-- so the real table's update costs more than these (a plain-table copy: 14.8 s against 2.1 s
-- for 83,178 rows, under load 7); the ratio between the two is the point.
-- Run: psql "$DATABASE_URL" -f scripts/latest_score_update_cost.sql (about a minute at
-- 100,000 accounts). Both days must be scored (bench_nightly scores the day before when it
-- times triggers; `score_health` otherwise).
\set ON_ERROR_STOP on
\timing on
SELECT max(date) AS latest FROM health_healthscore \gset
CREATE TEMPORARY TABLE cost_values AS
SELECT b.account_id AS id, b.organization_id, b.score::float8 AS score, b.colour,
       (b.score - a.score)::float8 AS change, b.date
FROM health_healthscore b
LEFT JOIN health_healthscore a ON a.account_id = b.account_id AND a.date = b.date - 1
WHERE b.date = :'latest';
SELECT count(*) AS accounts,
       count(*) FILTER (WHERE change IS DISTINCT FROM 0) AS with_a_new_score
FROM cost_values;

\echo '-- every index of accounts_account'
CREATE TEMPORARY TABLE cost_accounts (LIKE accounts_account INCLUDING ALL);
INSERT INTO cost_accounts SELECT * FROM accounts_account;
UPDATE cost_accounts t SET health_score = a.score, health_colour = a.colour,
       health_scored_on = a.date
FROM health_healthscore a WHERE a.account_id = t.id AND a.date = date :'latest' - 1;
VACUUM ANALYZE cost_accounts;
SELECT count(*) AS indexes FROM pg_indexes WHERE tablename = 'cost_accounts';
EXPLAIN (ANALYZE, COSTS OFF)
UPDATE cost_accounts t SET health_score = v.score, health_colour = v.colour,
       health_change_7d = v.change, health_change_30d = v.change, health_scored_on = v.date
FROM cost_values v WHERE t.id = v.id AND t.organization_id = v.organization_id;
DROP TABLE cost_accounts;

\echo '-- only the primary key and (id, organization_id)'
CREATE TEMPORARY TABLE cost_accounts (LIKE accounts_account INCLUDING ALL);
SELECT format('DROP INDEX %I', indexname) FROM pg_indexes
WHERE tablename = 'cost_accounts' AND indexdef NOT LIKE '%UNIQUE%(id)'
  AND indexdef NOT LIKE '%UNIQUE%(id, organization_id)' \gexec
INSERT INTO cost_accounts SELECT * FROM accounts_account;
UPDATE cost_accounts t SET health_score = a.score, health_colour = a.colour,
       health_scored_on = a.date
FROM health_healthscore a WHERE a.account_id = t.id AND a.date = date :'latest' - 1;
VACUUM ANALYZE cost_accounts;
SELECT count(*) AS indexes FROM pg_indexes WHERE tablename = 'cost_accounts';
EXPLAIN (ANALYZE, COSTS OFF)
UPDATE cost_accounts t SET health_score = v.score, health_colour = v.colour,
       health_change_7d = v.change, health_change_30d = v.change, health_scored_on = v.date
FROM cost_values v WHERE t.id = v.id AND t.organization_id = v.organization_id;
DROP TABLE cost_accounts;
DROP TABLE cost_values;
