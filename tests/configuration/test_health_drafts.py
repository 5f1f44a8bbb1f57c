"""The health model editor's services: a draft saved and validated row by row, the preview
over today's accounts (the hand-computed world of tests/configuration/health_world.py), the
night agreeing with the preview after publish, versions recorded in the same transaction,
restore and "use these" weights as drafts."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from configuration.health_drafts import (
    health_model_draft_from_model,
    health_model_draft_publish,
    health_model_draft_restore,
    health_model_draft_save,
    health_model_draft_use_weights,
    indicator_rows_validate,
)
from configuration.health_preview import health_model_preview, preview_figures
from configuration.models import HealthModelDraft
from configuration.services import draft_discard
from health.models import HealthModel, HealthModelVersion, HealthScore, Indicator
from health.services import health_score_day
from tests.configuration.health_world import DAY, rows_with, world

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("in_org")]


@pytest.fixture
def w(org):
    return world(org)


def _row_counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        out = {}
        for table in sorted(connection.introspection.table_names(cursor)):
            cursor.execute(f'SELECT COUNT(*) FROM "{table}"')
            out[table] = cursor.fetchone()[0]
    return out


def _draft(w, acting_user=None, **weights) -> HealthModelDraft:
    draft = health_model_draft_from_model(model=w["model"])
    return health_model_draft_save(
        draft=draft, indicators=rows_with(w["model"], **weights), acting_user=acting_user
    )


def test_the_preview_scores_before_and_after_as_computed_by_hand(w):
    """See health_world: A 88 -> 81 (green), B 50 red -> 75 yellow, C 100 -> 100 (sentiment
    missing: its weight re-shared)."""
    preview = health_model_preview(draft=_draft(w, csm_sentiment=3), day=DAY)
    frame = preview.accounts
    got = {
        k: (
            frame.at[w[k].pk, "before"],
            frame.at[w[k].pk, "before_colour"],
            frame.at[w[k].pk, "after"],
            frame.at[w[k].pk, "after_colour"],
        )
        for k in "abc"
    }
    assert got == {
        "a": (88, "green", 81, "green"),
        "b": (50, "red", 75, "yellow"),
        "c": (100, "green", 100, "green"),
    }
    fig = preview.figures
    assert fig["accounts"] == 3
    assert fig["changed"] == 1
    assert fig["matrix"]["green"]["green"] == 2
    assert fig["matrix"]["red"]["yellow"] == 1
    assert sum(sum(row.values()) for row in fig["matrix"].values()) == 3
    assert (fig["mean_before"], fig["mean_after"]) == (79.3, 85.3)
    # bins 41-50: B before; 71-80: B after; 81-90: A on both sides; 91-100: C
    assert fig["before_bins"] == [0, 0, 0, 0, 1, 0, 0, 0, 1, 1]
    assert fig["after_bins"] == [0, 0, 0, 0, 0, 0, 0, 1, 1, 1]


def test_the_preview_writes_nothing(w):
    draft = _draft(w, csm_sentiment=3)
    before = _row_counts()
    health_model_preview(draft=draft, day=DAY)
    assert _row_counts() == before


def test_after_publishing_the_night_writes_what_the_preview_said(w, org, org_admin):
    draft = _draft(w, csm_sentiment=3)
    preview = health_model_preview(draft=draft, day=DAY).accounts
    model = health_model_draft_publish(draft=draft, acting_user=org_admin)
    assert model.version == 2
    health_score_day(org=org, day=DAY)
    night = {s.account_id: (s.score, s.colour, s.model_version) for s in HealthScore.objects.all()}
    said = {pk: (row["after"], row["after_colour"], 2) for pk, row in preview.iterrows()}
    assert night == said


def test_publishing_records_an_immutable_version_with_what_changed_and_who(w, org_admin):
    v1 = HealthModelVersion.objects.get(model=w["model"])
    assert v1.version == 1 and v1.changes == []
    draft = _draft(w, csm_sentiment=3)
    draft.red_max = 40
    draft.save()
    health_model_draft_publish(draft=draft, acting_user=org_admin)
    v2 = HealthModelVersion.objects.get(model=w["model"], version=2)
    assert v2.created_by == org_admin
    assert {c["what"]: (c["before"], c["after"]) for c in v2.changes} == {
        "red_max": (50, 40),
        "csm_sentiment weight": (1.0, 3.0),
    }
    weights = {r["measure"]: r["weight"] for r in v2.snapshot["indicators"]}
    assert weights == {"csm_sentiment": 3.0, "tenure": 1.0}
    # the published indicators were edited in place, not replaced
    assert set(Indicator.objects.values_list("pk", flat=True)) == {
        w["tenure"].pk,
        w["sentiment"].pk,
    }
    assert not HealthModelDraft.objects.exists()
    assert v1.snapshot == HealthModelVersion.objects.get(pk=v1.pk).snapshot


def test_a_version_and_its_change_are_written_together_or_not_at_all(w, org_admin):
    """A version row that cannot be written (its number taken) rolls the model back."""
    HealthModelVersion.all_objects.create(
        organization=w["model"].organization, model=w["model"], version=2
    )
    draft = _draft(w, csm_sentiment=3)
    with pytest.raises(Exception):  # noqa: B017, PT011 the unique (model, version) refuses
        health_model_draft_publish(draft=draft, acting_user=org_admin)
    model = HealthModel.objects.get(pk=w["model"].pk)
    assert model.version == 1
    assert Indicator.objects.get(pk=w["sentiment"].pk).weight == 1


def test_restore_makes_a_draft_of_an_old_version_and_leaves_the_live_model(w, org_admin):
    draft = _draft(w, csm_sentiment=3)
    health_model_draft_publish(draft=draft, acting_user=org_admin)
    v1 = HealthModelVersion.objects.get(model=w["model"], version=1)
    restored = health_model_draft_restore(version=v1, acting_user=org_admin)
    assert {r["measure"]: r["weight"] for r in restored.indicators} == {
        "csm_sentiment": 1.0,
        "tenure": 1.0,
    }
    assert "version 1" in restored.origin
    assert Indicator.objects.get(pk=w["sentiment"].pk).weight == 3
    model = health_model_draft_publish(draft=restored, acting_user=org_admin)
    assert model.version == 3
    v3 = HealthModelVersion.objects.get(model=w["model"], version=3)
    assert v3.changes == [{"what": "csm_sentiment weight", "before": 3.0, "after": 1.0}]


def test_use_these_weights_makes_a_draft_never_the_live_model(w, analyst):
    draft = health_model_draft_use_weights(
        model=w["model"],
        weights={"tenure": 0.5, "csm_sentiment": 2.5, "nps_latest": 9},
        acting_user=analyst,
        origin="suggested weights",
    )
    assert {r["measure"]: r["weight"] for r in draft.indicators} == {
        "csm_sentiment": 2.5,
        "tenure": 0.5,
    }
    assert draft.created_by == analyst
    assert [i.weight for i in Indicator.objects.order_by("measure")] == [1, 1]
    assert HealthModel.objects.get(pk=w["model"].pk).version == 1
    # a second time edits the same draft
    again = health_model_draft_use_weights(
        model=w["model"], weights={"tenure": 2}, acting_user=analyst, origin="x"
    )
    assert again.pk == draft.pk and HealthModelDraft.objects.count() == 1


@pytest.mark.parametrize(
    "change, words",
    [
        ({"weight": 0}, "Indicator 1, weight: the weight must be positive"),
        ({"bad_value": 30}, "Indicator 1, good_value: higher is better"),
        ({"measure": "vibes"}, "Indicator 1, measure: unknown measure"),
        ({"window_days": 30}, "Indicator 1, window_days: measure 'csm_sentiment' takes no window"),
    ],
)
def test_a_bad_row_is_refused_naming_the_row_and_field(w, change, words):
    rows = rows_with(w["model"])
    rows[0].update(change)
    with pytest.raises(ValidationError) as exc:
        indicator_rows_validate(rows)
    assert words in " ".join(exc.value.message_dict["indicators"])


def test_a_repeated_indicator_and_no_indicator_are_refused(w):
    rows = rows_with(w["model"])
    with pytest.raises(ValidationError) as exc:
        indicator_rows_validate([rows[0], dict(rows[0], id=None)])
    assert "Indicator 2 repeats indicator 1" in str(exc.value)
    with pytest.raises(ValidationError, match="at least one indicator"):
        indicator_rows_validate([])


def test_discard_leaves_the_model(w, analyst):
    draft = _draft(w, csm_sentiment=3)
    draft_discard(draft=draft, acting_user=analyst)
    assert not HealthModelDraft.objects.exists()
    assert HealthModel.objects.get(pk=w["model"].pk).version == 1


def test_preview_figures_of_nothing():
    import pandas as pd

    empty = pd.DataFrame(columns=["before", "before_colour", "after", "after_colour"])
    fig = preview_figures(empty)
    assert fig["accounts"] == 0 and fig["changed"] == 0 and fig["mean_before"] is None


def test_a_cached_frame_serves_weight_edits_and_a_new_indicator_reads_afresh(w, org):
    """The second preview (weights 1:3) re-scores the cached frame; adding product adoption
    (no products held: no data for anyone) reads a new frame whose extra column is missing
    everywhere, so its weight is re-shared and the scores stay those of 1:3."""
    from django.core.cache import cache

    from configuration.health_preview import draft_spec, preview_frame_key
    from health.services import model_specs

    draft = _draft(w)
    health_model_preview(draft=draft, day=DAY)
    by_persona, default = model_specs()
    key = preview_frame_key(org.pk, w["model"].pk, DAY, [draft_spec(draft), default])
    assert cache.get(key) is not None
    draft = health_model_draft_save(
        draft=draft, indicators=rows_with(w["model"], csm_sentiment=3), acting_user=None
    )
    after = health_model_preview(draft=draft, day=DAY).accounts["after"].to_dict()
    assert after == {w["a"].pk: 81, w["b"].pk: 75, w["c"].pk: 100}
    rows = rows_with(w["model"], csm_sentiment=3) + [
        {
            "id": None,
            "measure": "product_adoption",
            "window_days": None,
            "metric": "",
            "direction": "higher",
            "bad_value": 0.0,
            "good_value": 1.0,
            "weight": 5.0,
        }
    ]
    draft = health_model_draft_save(draft=draft, indicators=rows, acting_user=None)
    preview = health_model_preview(draft=draft, day=DAY)
    assert preview.accounts["after"].to_dict() == after
