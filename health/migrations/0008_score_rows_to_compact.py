"""The score rows written before 0006 (a JSON breakdown) converted to the compact layout, in
SQL, set-based, on PostgreSQL (SQLite, the demo, keeps its rows as they are: the readers take
both). Each row's keys in their sorted order make its layout, with the row's shares as the
layout's weights: shares renormalized over the indicators that have a score give back the
shares (a missing indicator's share, so its weight, is 0), to the third decimal. Reversible:
the reverse rebuilds the JSON breakdown and `missing` from the arrays and empties them."""

from django.db import migrations

FORWARD = """
CREATE TEMPORARY TABLE compact_rows ON COMMIT DROP AS
SELECT h.id, h.organization_id,
       array_agg(e.key ORDER BY e.key) AS keys,
       array_agg(COALESCE((e.value ->> 2)::float8, 0) ORDER BY e.key) AS shares,
       array_agg((e.value ->> 0)::real ORDER BY e.key) AS raws,
       array_agg((e.value ->> 1)::real ORDER BY e.key) AS scores
FROM health_healthscore h, jsonb_each(h.breakdown) e
WHERE h.breakdown <> '{}'::jsonb AND jsonb_typeof(h.breakdown) = 'object'
GROUP BY h.id, h.organization_id;

ALTER TABLE compact_rows ADD COLUMN digest varchar(40);
UPDATE compact_rows
SET digest = 'm:' || md5(to_jsonb(keys)::text || '|' || to_jsonb(shares)::text);

INSERT INTO health_scorelayout (organization_id, keys, weights, digest)
SELECT DISTINCT ON (organization_id, digest) organization_id, to_jsonb(keys), to_jsonb(shares),
       digest
FROM compact_rows
ON CONFLICT (organization_id, digest) DO NOTHING;

UPDATE health_healthscore h
SET layout_id = l.id, raws = c.raws, scores = c.scores, breakdown = '{}'::jsonb,
    missing = '[]'::jsonb
FROM compact_rows c
JOIN health_scorelayout l ON l.organization_id = c.organization_id AND l.digest = c.digest
WHERE h.id = c.id;
"""

REVERSE = """
-- A share rounded to 3 decimals as Python's round() does it (health/compact.py decodes the
-- shares so): an exact tie (a multiple of 1/16 halfway between thousandths: 1/16 = 0.0625)
-- to even, 0.062, where numeric's round gives 0.063; anything else to nearest (a float near a
-- tie but not on it, 0.0005, rounds by its true value, as Python does).
CREATE OR REPLACE FUNCTION pg_temp.share_3(x float8) RETURNS numeric LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN x * 16 = floor(x * 16) AND x * 1000 - floor(x * 1000) = 0.5
                THEN (round(x * 1000) / 1000)::numeric
                ELSE round(x::numeric, 3) END
$$;
UPDATE health_healthscore h
SET breakdown = b.breakdown, missing = b.missing, layout_id = NULL, raws = NULL, scores = NULL
FROM (
    SELECT h2.id,
           jsonb_object_agg(
               t.k,
               jsonb_build_array(
                   round(h2.raws[t.i]::numeric, 2),
                   round(h2.scores[t.i]::numeric, 1),
                   CASE WHEN h2.scores[t.i] IS NULL OR w.total = 0 THEN 0
                        ELSE pg_temp.share_3((l.weights ->> (t.i::int - 1))::float8 / w.total)
                   END
               )
           ) AS breakdown,
           COALESCE(jsonb_agg(t.k ORDER BY t.i) FILTER (WHERE h2.scores[t.i] IS NULL), '[]')
               AS missing
    FROM health_healthscore h2
    JOIN health_scorelayout l ON l.id = h2.layout_id
    CROSS JOIN LATERAL jsonb_array_elements_text(l.keys) WITH ORDINALITY AS t(k, i)
    CROSS JOIN LATERAL (
        SELECT COALESCE(sum((l.weights ->> (j.i::int - 1))::float8), 0) AS total
        FROM generate_subscripts(h2.scores, 1) AS j(i)
        WHERE h2.scores[j.i] IS NOT NULL
    ) w
    WHERE h2.raws IS NOT NULL
    GROUP BY h2.id
) b
WHERE h.id = b.id;
DELETE FROM health_scorelayout l
WHERE NOT EXISTS (SELECT 1 FROM health_healthscore h WHERE h.layout_id = l.id);
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(FORWARD)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(REVERSE)


class Migration(migrations.Migration):
    dependencies = [("health", "0007_compact_score_rows")]

    operations = [migrations.RunPython(forward, reverse)]
