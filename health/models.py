"""Health models (per persona), their indicators, the daily score history, and the nightly runs."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from orgs.tenancy import TenantModel

from .compact import FloatArrayField, Layout, decode
from .compact import missing as compact_missing


class Colour(models.TextChoices):
    RED = "red", _("Red")
    YELLOW = "yellow", _("Yellow")
    GREEN = "green", _("Green")
    NONE = "none", _("No data")


class HealthModel(TenantModel):
    """How accounts of one persona are scored (persona empty: the default model, for accounts
    in no persona or in a persona without a model of its own)."""

    name = models.CharField(max_length=120)
    persona = models.OneToOneField(
        "accounts.Persona",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="health_model",
    )
    # Colour bands: score <= red_max is red, <= yellow_max is yellow, above is green.
    red_max = models.PositiveSmallIntegerField(default=50)
    yellow_max = models.PositiveSmallIntegerField(default=75)
    # Bumped by every change of the model or its indicators; each score row records the
    # version that produced it, so history says which configuration scored a day.
    version = models.PositiveIntegerField(default=1)
    description = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(persona__isnull=True),
                name="healthmodel_one_default_per_org",
            ),
            models.CheckConstraint(
                condition=Q(red_max__lt=models.F("yellow_max")) & Q(yellow_max__lt=100),
                name="healthmodel_bands_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        errors = {}
        if self.red_max is not None and self.yellow_max is not None:
            if self.red_max >= self.yellow_max:
                errors["red_max"] = (
                    f"the red band must end below the yellow band (red_max {self.red_max} "
                    f">= yellow_max {self.yellow_max})"
                )
            if self.yellow_max >= 100:
                errors["yellow_max"] = "the yellow band must end below 100, so green exists"
        if errors:
            raise ValidationError(errors)


class Direction(models.TextChoices):
    HIGHER_IS_BETTER = "higher", _("Higher is better")
    LOWER_IS_BETTER = "lower", _("Lower is better")


class Indicator(TenantModel):
    """One measure of a model, mapped to 0-100 piecewise linearly: `bad_value` scores 0,
    `good_value` scores 100, values in between are interpolated, values beyond are clamped."""

    model = models.ForeignKey(HealthModel, on_delete=models.CASCADE, related_name="indicators")
    measure = models.CharField(max_length=40)
    window_days = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Empty: the measure's default window.")
    )
    metric = models.CharField(
        max_length=40, blank=True, help_text=_("Usage metric for usage measures (empty: default).")
    )
    direction = models.CharField(max_length=8, choices=Direction.choices)
    bad_value = models.FloatField()
    good_value = models.FloatField()
    weight = models.FloatField(default=1)

    class Meta:
        ordering = ["model", "-weight", "measure"]
        constraints = [
            models.UniqueConstraint(
                fields=["model", "measure", "window_days", "metric"],
                name="indicator_unique_measure_per_model",
                nulls_distinct=False,
            ),
            models.CheckConstraint(condition=Q(weight__gt=0), name="indicator_weight_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.model}: {self.measure}"

    @property
    def label(self) -> str:
        """The measure as a reader names it (health.measures), not its key."""
        from .measures import measure_label

        return measure_label(self.measure)

    @property
    def metric_label(self) -> str:
        from .measures import metric_label

        return metric_label(self.metric)

    def clean(self):
        from .measures import MEASURES

        errors = {}
        measure = MEASURES.get(self.measure)
        if measure is None:
            errors["measure"] = (
                f"unknown measure {self.measure!r}; choose one of: {', '.join(sorted(MEASURES))}"
            )
        else:
            if self.window_days is not None and not measure.windowed:
                errors["window_days"] = f"measure {self.measure!r} takes no window"
            if self.window_days is not None and not 1 <= self.window_days <= 730:
                errors["window_days"] = "the window must be between 1 and 730 days"
            reach, kept = measure.usage_days(self.window_days), settings.USAGE_RAW_RETENTION_DAYS
            if kept and reach and reach > kept:
                errors["window_days"] = gettext(
                    "This indicator reads %(reach)d days of daily usage, but raw daily usage is "
                    "kept for %(kept)d days (USAGE_RAW_RETENTION_DAYS): choose a shorter window."
                ) % {"reach": reach, "kept": kept}
            if self.metric and not measure.takes_metric:
                errors["metric"] = f"measure {self.measure!r} takes no usage metric"
        if self.weight is not None and self.weight <= 0:
            errors["weight"] = f"the weight must be positive, got {self.weight}"
        if self.bad_value is not None and self.good_value is not None:
            if self.bad_value == self.good_value:
                errors["good_value"] = "the good and bad values must differ"
            elif self.direction == Direction.HIGHER_IS_BETTER and self.good_value < self.bad_value:
                errors["good_value"] = (
                    f"higher is better, so the good value ({self.good_value}) must be above "
                    f"the bad value ({self.bad_value})"
                )
            elif self.direction == Direction.LOWER_IS_BETTER and self.good_value > self.bad_value:
                errors["good_value"] = (
                    f"lower is better, so the good value ({self.good_value}) must be below "
                    f"the bad value ({self.bad_value})"
                )
        if errors:
            raise ValidationError(errors)


class ScoreLayout(TenantModel):
    """The fixed order and weights of a model version's indicators that compact score rows
    store their arrays in (health/compact.py); one per organization and content, immutable."""

    keys = models.JSONField(default=list)
    weights = models.JSONField(default=list)
    digest = models.CharField(max_length=40)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "digest"], name="scorelayout_unique_digest"
            )
        ]

    def __str__(self) -> str:
        return ", ".join(self.keys)

    @property
    def as_layout(self) -> Layout:
        return Layout(keys=tuple(self.keys), weights=tuple(float(w) for w in self.weights))


class HealthScore(TenantModel):
    """One account's score on one day, with the per-indicator breakdown
    {key: [raw, score, share]}: stored compact (`raws` and `scores` in the order of `layout`,
    health/compact.py), or as JSON in `breakdown` for rows written before (and the test
    builders). Read it through `breakdown_dict` and `missing_keys`.
    Re-running a day replaces its row (unique account × date)."""

    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="health_scores"
    )
    date = models.DateField()
    model = models.ForeignKey(
        HealthModel, null=True, on_delete=models.SET_NULL, related_name="scores"
    )
    model_version = models.PositiveIntegerField(default=1)
    score = models.FloatField(null=True)
    colour = models.CharField(max_length=8, choices=Colour.choices)
    breakdown = models.JSONField(default=dict)
    missing = models.JSONField(default=list)
    layout = models.ForeignKey(
        ScoreLayout,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # layouts are never deleted: no lookup by it to serve
    )
    raws = FloatArrayField(null=True, blank=True)
    scores = FloatArrayField(null=True, blank=True)

    class Meta:
        ordering = ["-date"]
        constraints = [
            models.UniqueConstraint(fields=["account", "date"], name="healthscore_unique_day"),
        ]
        indexes = [models.Index(fields=["organization", "date"], name="healthscore_org_date")]

    @property
    def breakdown_dict(self) -> dict:
        return breakdown_of(
            breakdown=self.breakdown,
            keys=self.layout.keys if self.layout_id else None,
            weights=self.layout.weights if self.layout_id else None,
            raws=self.raws,
            scores=self.scores,
        )

    @property
    def missing_keys(self) -> list[str]:
        if self.breakdown or not self.layout_id or self.scores is None:
            return list(self.missing or [])
        return compact_missing(self.layout.as_layout, self.scores)


def breakdown_of(*, breakdown, keys, weights, raws, scores) -> dict:
    """A row's breakdown from its columns (a model instance's or a values() row's): the JSON
    when the row has it, else decoded from the arrays and the layout's keys and weights."""
    if breakdown or keys is None or raws is None or scores is None:
        return breakdown or {}
    layout = Layout(keys=tuple(keys), weights=tuple(float(w) for w in weights))
    return decode(layout, raws, scores)


class RunState(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class HealthRun(TenantModel):
    """One organization's scoring of one day. A second start of the same night finds this
    row (unique organization × date) and starts nothing new."""

    date = models.DateField()
    state = models.CharField(max_length=8, choices=RunState.choices, default=RunState.RUNNING)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    chunks_failed = models.PositiveIntegerField(default=0)
    accounts_scored = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Part of the queued nightly chain (not a foreground run or a backfill): once DONE it is
    # owed its trigger stage, which the sweeper starts if the hand-off was lost.
    chained = models.BooleanField(default=False)
    # What the sweeper repaired on this run: [{"at": iso, "action": str, "detail": str}].
    repairs = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-date"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "date"], name="healthrun_unique_day")
        ]

    def __str__(self) -> str:
        return f"health run {self.date} ({self.state})"


class HealthRunChunk(TenantModel):
    """A range of account ids that one worker scores. `attempts` counts deliveries, so a chunk
    whose worker keeps dying is given up after a few tries instead of looping forever.

    What the sweeper reads (health/services/pipeline.py, health_chunks_sweep): `queued_at`
    (its task was last sent), `started_at` and `lease_expires_at` (a worker took it: the lease
    is its time limit). Open (running) with no start: queued, perhaps lost with the broker;
    started with an expired lease and no worker holding its row lock: its worker died."""

    run = models.ForeignKey(HealthRun, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    first_account_id = models.BigIntegerField()
    last_account_id = models.BigIntegerField()
    state = models.CharField(max_length=8, choices=RunState.choices, default=RunState.RUNNING)
    attempts = models.PositiveSmallIntegerField(default=0)
    accounts_scored = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "index"]
        constraints = [
            models.UniqueConstraint(fields=["run", "index"], name="healthrunchunk_unique_index")
        ]
        indexes = [
            # The sweeper's scan: only the open chunks, a handful at any time.
            models.Index(
                fields=["queued_at"], condition=Q(state="running"), name="healthrunchunk_open"
            )
        ]


# -- the CSM's judgement beside the model's score ------------------------------------------


class JudgementColour(models.TextChoices):
    RED = "red", _("Red")
    YELLOW = "yellow", _("Yellow")
    GREEN = "green", _("Green")


class CsmJudgement(TenantModel):
    """What the account's CSM (or a manager) says about its health, beside the model's score
    and never instead of it: a sentiment 1-5 (the catalogue's CSM sentiment indicator reads it
    from the account) and/or an override colour, always with a reason and an expiry. Setting a
    new one keeps the old row (history); the current one is the latest. Nothing nightly
    writes here."""

    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="csm_judgements"
    )
    sentiment = models.PositiveSmallIntegerField(null=True, blank=True)
    colour = models.CharField(max_length=8, choices=JudgementColour.choices, blank=True)
    reason = models.CharField(max_length=240)
    set_on = models.DateField()
    expires_on = models.DateField()
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["organization", "account"], name="csmjudgement_org_account")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(sentiment__isnull=True) | (Q(sentiment__gte=1) & Q(sentiment__lte=5)),
                name="csmjudgement_sentiment_range",
            ),
            models.CheckConstraint(
                condition=Q(sentiment__isnull=False) | ~Q(colour=""),
                name="csmjudgement_says_something",
            ),
            models.CheckConstraint(
                condition=Q(expires_on__gte=models.F("set_on")),
                name="csmjudgement_expires_after_set",
            ),
        ]

    def is_live(self, today) -> bool:
        return self.expires_on >= today

    @property
    def says_colour(self) -> str:
        """The colour the CSM says: the override, else the sentiment read as a band
        (4-5 green, 3 yellow, 1-2 red)."""
        if self.colour:
            return self.colour
        return sentiment_colour(self.sentiment)


def sentiment_colour(sentiment: int | None) -> str:
    if sentiment is None:
        return ""
    return "green" if sentiment >= 4 else "yellow" if sentiment == 3 else "red"


class Decision(models.TextChoices):
    AGREE_CSM = "agree_csm", _("Agree with the CSM")
    AGREE_MODEL = "agree_model", _("Agree with the model")
    MODEL_CHANGE = "model_change", _("Ask for a model change")


class DisagreementResolution(TenantModel):
    """A manager's resolution of one disagreement between a CSM's judgement and the model
    (one per judgement: a new judgement can disagree anew). Kept as evidence for the model's
    fitness page."""

    judgement = models.OneToOneField(
        CsmJudgement, on_delete=models.CASCADE, related_name="resolution"
    )
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.CASCADE, related_name="disagreement_resolutions"
    )
    model = models.ForeignKey(
        HealthModel, null=True, on_delete=models.SET_NULL, related_name="disagreement_resolutions"
    )
    decision = models.CharField(max_length=16, choices=Decision.choices)
    note = models.CharField(max_length=240, blank=True)
    csm_colour = models.CharField(max_length=8)
    model_colour = models.CharField(max_length=8)
    days = models.PositiveIntegerField()
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-resolved_at"]


# -- fitness, computed in the background and kept per model version and day ---------------


class FitnessKind(models.TextChoices):
    FITNESS = "fitness", _("Fitness")
    SUGGESTION = "suggestion", _("Suggested weights")


class FitnessSnapshot(TenantModel):
    """A model's fitness (or weight suggestion) as of one day for one version of it, computed
    by a background task (health.fitness_compute) so the model page only reads it. `progress`
    (0-1) and `note` say how far a running one is."""

    model = models.ForeignKey(HealthModel, on_delete=models.CASCADE, related_name="fitness")
    model_version = models.PositiveIntegerField()
    day = models.DateField()
    kind = models.CharField(max_length=12, choices=FitnessKind.choices)
    lead = models.PositiveSmallIntegerField(default=0)  # suggestions: the lead time in days
    state = models.CharField(max_length=8, choices=RunState.choices, default=RunState.RUNNING)
    progress = models.FloatField(default=0)
    note = models.CharField(max_length=120, blank=True)
    payload = models.JSONField(default=dict)
    seconds = models.FloatField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["model", "model_version", "day", "kind", "lead"],
                name="fitnesssnapshot_unique",
            )
        ]


# -- versions: what each published version of a model was ---------------------------------


class HealthModelVersion(TenantModel):
    """One published version of a model, immutable: a snapshot of the model and its
    indicators as data (health/versions.py: the fields that score, and each indicator's
    settings), what changed from the version before, who made it and when. Written in the
    transaction that makes the version; every score records the version that produced it
    (HealthScore.model_version)."""

    model = models.ForeignKey(HealthModel, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    snapshot = models.JSONField(default=dict)
    # [{"what": str, "before": value|None, "after": value|None}], health/versions.py
    changes = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["model", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["model", "version"], name="healthmodelversion_unique_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.model} v{self.version}"
