"""Reads of health: an account's score history and breakdown, models, and fitness data."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from django.db.models import Case, Count, F, FloatField, Max, Q, QuerySet, Value, When
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast, Coalesce, NullIf

from accounts.models import Account
from orgs.models import Organization
from orgs.timezones import org_today  # the day in the organization's zone, for callers here

from .compact import ArrayItem
from .explain import Day, explain_move, top_movers
from .fitness import flag_small_samples, indicator_fitness, lead_fitness
from .judgement import disagreement_streaks
from .measures import MEASURES
from .models import (
    CsmJudgement,
    DisagreementResolution,
    FitnessKind,
    FitnessSnapshot,
    HealthModel,
    HealthScore,
    ScoreLayout,
    breakdown_of,
    sentiment_colour,
)

FITNESS_LEADS = (30, 60, 90)


def health_models() -> QuerySet[HealthModel]:
    return HealthModel.objects.select_related("persona").prefetch_related("indicators")


def score_history(*, account: Account, days: int = 365) -> list[dict]:
    rows = (
        HealthScore.objects.filter(account=account)
        .order_by("-date")
        .values("date", "score", "colour")[:days]
    )
    return [
        {"date": r["date"].isoformat(), "score": r["score"], "colour": r["colour"]}
        for r in reversed(list(rows))
    ]


@dataclass
class IndicatorLine:
    key: str
    label: str
    description: str
    raw: float | None
    score: float | None
    weight_share: float
    configured_weight: float | None
    missing: bool


def parse_key(key: str) -> tuple[str, int | None, str]:
    parts = key.split(":")
    window = int(parts[1]) if len(parts) > 1 and parts[1] else None
    metric = parts[2] if len(parts) > 2 else ""
    return parts[0], window, metric


def breakdown_lines(score: HealthScore) -> list[IndicatorLine]:
    """The score's indicators in plain words, largest contribution first, missing ones last."""
    weights = {}
    if score.model_id is not None:
        from .services import indicator_key

        for ind in score.model.indicators.all():
            weights[indicator_key(ind.measure, ind.window_days, ind.metric)] = ind.weight
    lines = []
    for key, (raw, ind_score, share) in score.breakdown_dict.items():
        measure_key, window, metric = parse_key(key)
        measure = MEASURES.get(measure_key)
        label = str(measure.label) if measure else measure_key
        lines.append(
            IndicatorLine(
                key=key,
                label=label,
                description=measure.describe(raw, window, metric) if measure else str(raw),
                raw=raw,
                score=ind_score,
                weight_share=share or 0.0,
                configured_weight=weights.get(key),
                missing=ind_score is None,
            )
        )
    lines.sort(key=lambda line: (line.missing, -line.weight_share))
    return lines


def latest_score(*, account: Account) -> HealthScore | None:
    return (
        HealthScore.objects.filter(account=account)
        .select_related("model", "layout")
        .prefetch_related("model__indicators")
        .order_by("-date")
        .first()
    )


# Scores are looked up on the reference day or the latest day within this many days before
# it, so histories kept weekly (the demo's older backfill) still count.
FITNESS_TOLERANCE_DAYS = 6


def _latest_per_account(rows, columns) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=columns)
    if frame.empty:
        return frame
    return frame.sort_values(["account_id", "date"]).drop_duplicates("account_id", keep="last")


# -- why it moved --------------------------------------------------------------------------


def _day_of(row: HealthScore) -> Day:
    return Day(
        date=row.date.isoformat(),
        score=row.score,
        colour=row.colour,
        model_id=row.model_id,
        model_version=row.model_version,
        breakdown=row.breakdown_dict,
        model_name=row.model.name if row.model_id and row.model else "",
    )


def score_on_or_before(*, account: Account, day: dt.date) -> HealthScore | None:
    """The account's score on `day`, or its latest one before (a day without a run)."""
    return (
        HealthScore.objects.filter(account=account, date__lte=day)
        .select_related("model", "layout")
        .prefetch_related("model__indicators")
        .order_by("-date")
        .first()
    )


def score_explanation(*, account: Account, from_day: dt.date, to_day: dt.date) -> dict | None:
    """Why the account's score moved between two days (health.explain.explain_move), each day
    taken as the latest score on or before it; None when either day has no score yet."""
    before = score_on_or_before(account=account, day=from_day)
    after = score_on_or_before(account=account, day=to_day)
    if before is None or after is None:
        return None
    out = explain_move(_day_of(before), _day_of(after))
    out["asked"] = {"from": from_day.isoformat(), "to": to_day.isoformat()}
    return out


def score_explanations_daily(*, account: Account, from_day: dt.date, to_day: dt.date) -> list[dict]:
    """Each scored day after `from_day` up to `to_day` explained against the scored day before
    it (the first against the latest score on or before `from_day`), oldest first: the same
    split as score_explanation, day by day, so the days' changes add up to the whole move.
    Two queries (the score before, the scores after with their models)."""
    before = score_on_or_before(account=account, day=from_day)
    rows = list(
        HealthScore.objects.filter(account=account, date__gt=from_day, date__lte=to_day)
        .select_related("model", "layout")
        .order_by("date")
    )
    out = []
    previous = _day_of(before) if before is not None else None
    for row in rows:
        day = _day_of(row)
        if previous is not None:
            out.append(explain_move(previous, day))
        previous = day
    return out


def score_history_with_movers(*, account: Account, days: int = 365) -> list[dict]:
    """The chart's series: date, score, colour, and the top movers since the previous scored
    day (one query; the movers come from the stored breakdowns)."""
    rows = list(
        HealthScore.objects.filter(account=account)
        .order_by("-date")
        .values(
            "date",
            "score",
            "colour",
            "model_id",
            "model_version",
            "breakdown",
            "raws",
            "scores",
            "layout__keys",
            "layout__weights",
        )[:days]
    )
    rows.reverse()
    out, previous = [], None
    for r in rows:
        day = Day(
            date=r["date"].isoformat(),
            score=r["score"],
            colour=r["colour"],
            model_id=r["model_id"],
            model_version=r["model_version"],
            breakdown=breakdown_of(
                breakdown=r["breakdown"],
                keys=r["layout__keys"],
                weights=r["layout__weights"],
                raws=r["raws"],
                scores=r["scores"],
            ),
        )
        point = {"date": day.date, "score": day.score, "colour": day.colour}
        if previous is not None and previous.score is not None and day.score is not None:
            point["since"] = previous.date
            point["movers"] = top_movers(previous, day)
        out.append(point)
        previous = day
    return out


# -- the CSM's judgement and the disagreement queue -----------------------------------------

# The model must disagree for more than this many days before a manager is asked to look.
DISAGREEMENT_DAYS = 14


def current_judgement(*, account: Account) -> CsmJudgement | None:
    """The account's latest judgement (live or expired: an expired one asks to be renewed)."""
    return CsmJudgement.objects.filter(account=account).select_related("set_by").first()


def disagreement_queue(*, today: dt.date, min_days: int = DISAGREEMENT_DAYS) -> list[dict]:
    """The accounts whose CSM and model disagree (health.judgement's rules), unresolved, longest
    first. Three queries: the current live judgements, their accounts' scores since they were
    set, the accounts."""
    latest_ids = (
        CsmJudgement.objects.values("account_id")
        .annotate(last=Max("pk"))
        .values_list("last", flat=True)
    )
    rows = list(
        CsmJudgement.objects.filter(
            pk__in=latest_ids, expires_on__gte=today, resolution__isnull=True
        ).values_list("pk", "account_id", "colour", "sentiment", "set_on", "expires_on")
    )
    judgements = pd.DataFrame(
        [
            (pk, acc, colour or sentiment_colour(sent), set_on, exp)
            for pk, acc, colour, sent, set_on, exp in rows
        ],
        columns=["judgement_id", "account_id", "says", "set_on", "expires_on"],
    )
    judgements = judgements[judgements["says"].isin(["red", "green"])]
    if judgements.empty:
        return []
    earliest = judgements["set_on"].min()
    scores = pd.DataFrame(
        list(
            HealthScore.objects.filter(
                account_id__in=judgements["account_id"].tolist(),
                date__gte=earliest,
                date__lte=today,
            ).values_list("account_id", "date", "colour", "model_id")
        ),
        columns=["account_id", "date", "colour", "model_id"],
    )
    found = disagreement_streaks(judgements, scores, today=today, min_days=min_days)
    if found.empty:
        return []
    by_id = {
        j.pk: j
        for j in CsmJudgement.objects.filter(pk__in=found["judgement_id"].tolist()).select_related(
            "account", "account__owner", "set_by"
        )
    }
    out = [
        {
            "judgement": by_id[row.judgement_id],
            "account": by_id[row.judgement_id].account,
            "says": row.says,
            "model_colour": row.model_colour,
            "since": row.since,
            "latest": row.latest,
            "days": int(row.days),
        }
        for row in found.itertuples()
    ]
    out.sort(key=lambda entry: (-entry["days"], entry["account"].name))
    return out


def disagreement_resolutions(*, limit: int = 50) -> QuerySet[DisagreementResolution]:
    return DisagreementResolution.objects.select_related("account", "resolved_by", "model")[:limit]


# -- fitness per indicator, that cannot flatter itself; snapshots for suggested weights ---


def _indicator_keys(model: HealthModel) -> list[str]:
    from .services import indicator_key

    return [indicator_key(i.measure, i.window_days, i.metric) for i in model.indicators.all()]


def indicator_value(key: str, part: str, layouts: list[tuple[int, list[str]]]):
    """An indicator's stored raw value (`part` "raw") or 0-100 score ("score") in SQL, for a
    query on the score rows: from the compact arrays at the key's place in the row's layout
    (`layouts`: the organization's (id, keys), score_layouts()), else from the JSON breakdown
    of rows written before. NULL where the row has no such indicator or no data for it."""
    column, position, digits = ("raws", "0", 2) if part == "raw" else ("scores", "1", 1)
    # A missing value is JSON null: SQL NULL on PostgreSQL, the text 'null' on SQLite (which
    # would cast to 0), hence the NULLIF.
    from_json = Cast(
        NullIf(KeyTextTransform(position, KeyTransform(key, "breakdown")), Value("null")),
        FloatField(),
    )
    whens = [
        When(layout_id=pk, then=ArrayItem(column, keys.index(key) + 1, digits))
        for pk, keys in layouts
        if key in keys
    ]
    if not whens:
        return from_json
    return Coalesce(Case(*whens, output_field=FloatField()), from_json, output_field=FloatField())


def score_layouts() -> list[tuple[int, list[str]]]:
    """The organization's layouts as (id, keys): a handful of rows."""
    return list(ScoreLayout.objects.order_by("pk").values_list("pk", "keys"))


def _with_indicator_scores(qs, keys: list[str]):
    """Each indicator's stored 0-100 score as a column, in SQL."""
    layouts = score_layouts()
    return qs.annotate(
        **{f"k{i}": indicator_value(key, "score", layouts) for i, key in enumerate(keys)}
    )


def _frame(qs, keys: list[str], columns: list[str]) -> pd.DataFrame:
    names = [f"k{i}" for i in range(len(keys))]
    frame = pd.DataFrame(list(qs.values_list(*columns, *names)), columns=columns + keys)
    for key in keys:
        frame[key] = pd.to_numeric(frame[key], errors="coerce").astype("float64")
    return frame


def _latest_scores(qs, keys: list[str], columns: list[str]) -> pd.DataFrame:
    """Each account's latest row of `qs`, with its indicators' scores (an empty frame with the
    columns when there is none)."""
    frame = _frame(_with_indicator_scores(qs, keys), keys, columns)
    if frame.empty:
        return pd.DataFrame(columns=columns + keys)
    return _latest_per_account(frame.itertuples(index=False), columns + keys)


def model_fitness(
    *, org: Organization, model: HealthModel | None = None, today: dt.date | None = None
) -> dict:
    """Fitness of one model (with each indicator's own AUC and coverage), or of every model's
    scores together when `model` is None, over the churn of the last 12 months. The one rule,
    used by the model page's snapshots, `health_fitness` and the API, so no figure can
    flatter itself: a churner counts with its score `lead` days before it churned (only churn
    after the scored day), a stayer with its score on the reference day only if it was still a
    customer `lead` days later and that day has come; either only with at least `lead` days of
    history before the scored day; an account counted as a churner is no stayer too. Sample
    sizes beside every figure (`churned_accounts`: every churner of the window, counted or
    not); `small` flags those resting on fewer than MIN_CHURNERS churners (or
    MIN_BAND_ACCOUNTS accounts in a band). Set-based: two queries per lead."""
    today = today or org_today(org)
    start = today - dt.timedelta(days=365)
    keys = _indicator_keys(model) if model is not None else []
    scope = {"model": model} if model is not None else {}
    columns = ["account_id", "date", "score", "colour"]
    result: dict = {"window": [start.isoformat(), today.isoformat()], "keys": keys, "leads": {}}
    for lead in FITNESS_LEADS:
        churn_qs = HealthScore.objects.filter(
            **scope,
            account__churned_at__gte=start,
            account__churned_at__lte=today,
            date__lte=F("account__churned_at") - dt.timedelta(days=lead),
            date__gte=F("account__churned_at") - dt.timedelta(days=lead + FITNESS_TOLERANCE_DAYS),
            account__customer_since__lte=F("date") - dt.timedelta(days=lead),
        )
        churners = _latest_scores(churn_qs, keys, columns)
        if churners.empty:
            entry = flag_small_samples(lead_fitness(churners, churners))
            entry["indicators"] = indicator_fitness(churners, churners, keys)
            result["leads"][lead] = entry
            continue
        reference = pd.to_datetime(churners["date"]).sort_values().iloc[len(churners) // 2].date()
        reference = min(reference, today - dt.timedelta(days=lead))
        stay_qs = HealthScore.objects.filter(
            **scope,
            date__lte=reference,
            date__gte=reference - dt.timedelta(days=FITNESS_TOLERANCE_DAYS),
            account__customer_since__lte=F("date") - dt.timedelta(days=lead),
        ).filter(
            Q(account__churned_at__isnull=True)
            | Q(account__churned_at__gt=reference + dt.timedelta(days=lead))
        )
        stayers = _latest_scores(stay_qs, keys, columns)
        # a churner scored a few days earlier than `lead` before its churn (the tolerance) may
        # still have been a customer `lead` days after the reference day: it counts once, as
        # the churner it is, never on both sides against itself
        stayers = stayers[~stayers["account_id"].isin(churners["account_id"])]
        entry = flag_small_samples(lead_fitness(churners, stayers))
        entry["reference_date"] = reference.isoformat()
        entry["indicators"] = indicator_fitness(churners, stayers, keys)
        result["leads"][lead] = entry
    # every churner of the window, counted or not: beside the leads' counts it says how many
    # the rules left out
    result["churned_accounts"] = Account.objects.filter(
        churned_at__gte=start, churned_at__lte=today
    ).count()
    return result


SUGGEST_SAMPLE_DAYS = 30  # one snapshot a month over the year


def weight_snapshots(
    *, org: Organization, model: HealthModel, lead: int, today: dt.date | None = None
) -> pd.DataFrame:
    """The model's scores on one day a month over the last year whose outcome `lead` days
    later is known: date, churned (within `lead` days after the day), one column per
    indicator key; accounts with less than `lead` days of history left out."""
    today = today or org_today(org)
    keys = _indicator_keys(model)
    last = today - dt.timedelta(days=lead)
    days = [last - dt.timedelta(days=SUGGEST_SAMPLE_DAYS * i) for i in range(13)]
    qs = HealthScore.objects.filter(
        model=model,
        date__in=days,
        account__customer_since__lte=F("date") - dt.timedelta(days=lead),
    ).annotate(churned_at=F("account__churned_at"))
    frame = _frame(_with_indicator_scores(qs, keys), keys, ["date", "churned_at"])
    if frame.empty:
        return pd.DataFrame(columns=["date", "churned", *keys])
    churned_at = pd.to_datetime(frame["churned_at"])
    day = pd.to_datetime(frame["date"])
    frame["churned"] = (churned_at > day) & (churned_at <= day + pd.Timedelta(days=lead))
    return frame.drop(columns=["churned_at"])


def model_weight_suggestion(
    *,
    org: Organization,
    model: HealthModel,
    lead: int = 90,
    today: dt.date | None = None,
    progress=None,
) -> dict:
    from .services import indicator_key
    from .suggest import suggest_weights

    current = {
        indicator_key(i.measure, i.window_days, i.metric): i.weight for i in model.indicators.all()
    }
    snapshots = weight_snapshots(org=org, model=model, lead=lead, today=today)
    if progress:
        progress(0.2, "loaded")
    out = suggest_weights(snapshots, current, progress=progress)
    return {"lead": lead, "model_version": model.version, **out}


def fitness_snapshot(
    *, model: HealthModel, day: dt.date, kind: str = FitnessKind.FITNESS, lead: int = 0
) -> FitnessSnapshot | None:
    return FitnessSnapshot.objects.filter(
        model=model, model_version=model.version, day=day, kind=kind, lead=lead
    ).first()


def latest_suggestion(*, model: HealthModel) -> FitnessSnapshot | None:
    """The newest weight suggestion for the model's current version."""
    return (
        FitnessSnapshot.objects.filter(
            model=model, model_version=model.version, kind=FitnessKind.SUGGESTION
        )
        .order_by("-day", "-updated_at")
        .first()
    )


def resolution_counts(*, model: HealthModel) -> dict[str, int]:
    """How managers resolved the disagreements on accounts this model scored, per decision."""
    rows = (
        DisagreementResolution.objects.filter(model=model)
        .values("decision")
        .annotate(n=Count("id"))
        .values_list("decision", "n")
    )
    return dict(rows)
