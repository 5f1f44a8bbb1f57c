"""Reports: the per-organization goals the reports measure against, and the small fact tables
the nightly chain keeps so a report never scans a year of raw rows on a page view.

Fact tables key their dimensions by plain ids (0 for "none") rather than foreign keys: a
deleted persona or a departed CSM leaves the history it belongs to readable, and the unique
key (one row per day and dimension) needs no NULLs, so a re-run replaces a day exactly."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from orgs.tenancy import TenantModel

COVERAGE_DAYS = (14, 30, 60, 90)


class ReportSettings(TenantModel):
    """An organization's goals: the share of at-risk accounts the safety net aims to revert,
    and coverage (every customer touched within N days, for at least this share of them; a
    persona may set its own share)."""

    reversal_goal_pct = models.PositiveSmallIntegerField(
        _("reversal goal (%)"),
        default=70,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=_(
            "Of the accounts that go through the retention safety net, the share "
            "the team aims to retain."
        ),
    )
    coverage_days = models.PositiveSmallIntegerField(
        _("coverage window (days)"),
        default=30,
        choices=[(d, _("%(days)d days") % {"days": d}) for d in COVERAGE_DAYS],
        help_text=_("An account not contacted for longer than this is not covered."),
    )
    coverage_goal_pct = models.PositiveSmallIntegerField(
        _("coverage goal (%)"),
        default=80,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=_(
            "The share of customers that should have been contacted within the "
            "window (each persona may set its own below)."
        ),
    )

    activity_metric = models.CharField(
        _("activity metric"),
        max_length=40,
        default="logins",
        help_text=_(
            "A customer counts as actively using the product when this usage metric "
            "was above zero on enough days of the last 30."
        ),
    )
    activity_min_days = models.PositiveSmallIntegerField(
        _("active days needed"),
        default=8,
        validators=[MinValueValidator(1), MaxValueValidator(30)],
        help_text=_(
            "Days of the last 30 with activity for a customer to count as active "
            "(8: about twice a week)."
        ),
    )

    class Meta:
        verbose_name = _("report settings")
        verbose_name_plural = _("report settings")
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="reportsettings_one_per_org"),
            models.CheckConstraint(
                condition=Q(reversal_goal_pct__gte=1) & Q(reversal_goal_pct__lte=100),
                name="reportsettings_reversal_goal_range",
            ),
            models.CheckConstraint(
                condition=Q(coverage_goal_pct__gte=1) & Q(coverage_goal_pct__lte=100),
                name="reportsettings_coverage_goal_range",
            ),
            models.CheckConstraint(
                condition=Q(coverage_days__in=COVERAGE_DAYS),
                name="reportsettings_coverage_days_choice",
            ),
            models.CheckConstraint(
                condition=Q(activity_min_days__gte=1) & Q(activity_min_days__lte=30),
                name="reportsettings_activity_days_range",
            ),
        ]

    def __str__(self) -> str:
        return str(_("Report settings"))


class CoverageGoal(TenantModel):
    """A persona's own coverage goal (the organization's applies to the others)."""

    settings = models.ForeignKey(
        ReportSettings, on_delete=models.CASCADE, related_name="coverage_goals"
    )
    persona = models.ForeignKey("accounts.Persona", on_delete=models.CASCADE, related_name="+")
    goal_pct = models.PositiveSmallIntegerField(
        _("coverage goal (%)"), validators=[MinValueValidator(1), MaxValueValidator(100)]
    )

    class Meta:
        verbose_name = _("coverage goal")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "persona"], name="coveragegoal_one_per_persona"
            ),
            models.CheckConstraint(
                condition=Q(goal_pct__gte=1) & Q(goal_pct__lte=100),
                name="coveragegoal_goal_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.persona}: {self.goal_pct}%"


class PortfolioDay(TenantModel):
    """The portfolio on one day, per persona, owner, tier, touch model and health colour:
    customers, their MRR, scores, use of the product and how recently they were contacted.
    Written by reports.services.facts_refresh after the night's triggers; a re-run of the day
    replaces its rows."""

    date = models.DateField()
    persona_key = models.BigIntegerField(default=0)  # Persona id, 0: none
    owner_key = models.BigIntegerField(default=0)  # User id, 0: unassigned
    tier = models.CharField(max_length=16, blank=True)
    touch_model = models.CharField(max_length=8, blank=True)
    colour = models.CharField(max_length=8, blank=True)  # "" when not scored
    customers = models.PositiveIntegerField(default=0)
    mrr = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    scored = models.PositiveIntegerField(default=0)
    score_sum = models.FloatField(default=0)
    active_30d = models.PositiveIntegerField(default=0)  # used the product in the last 30 days
    untouched_14 = models.PositiveIntegerField(default=0)  # no contact logged for 14+ days
    untouched_30 = models.PositiveIntegerField(default=0)
    untouched_60 = models.PositiveIntegerField(default=0)
    untouched_90 = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "organization",
                    "date",
                    "persona_key",
                    "owner_key",
                    "tier",
                    "touch_model",
                    "colour",
                ],
                name="portfolioday_one_row_per_cell",
            )
        ]
        indexes = [models.Index(fields=["organization", "date"], name="portfolioday_org_date")]


class HealthBaseline(TenantModel):
    """How health moved, without a playbook: for the accounts of one persona and colour scored
    in the week starting `week` that had no playbook open that week, how many there were and
    the sum of their score changes `horizon` (30 or 90) days later. The comparison group of the
    playbook effectiveness report."""

    week = models.DateField()  # a Monday
    horizon = models.PositiveSmallIntegerField()  # days
    persona_key = models.BigIntegerField(default=0)
    colour = models.CharField(max_length=8)
    accounts = models.PositiveIntegerField(default=0)
    change_sum = models.FloatField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "week", "horizon", "persona_key", "colour"],
                name="healthbaseline_one_row_per_cell",
            )
        ]


class PlaybookEffect(TenantModel):
    """A closed playbook's effect on its account's health: the score when it closed and 30 and
    90 days later (filled in as those days come), and the comparison group's change over the
    same horizons (HealthBaseline of its persona, colour and week)."""

    playbook = models.OneToOneField(
        "playbooks.Playbook", on_delete=models.CASCADE, related_name="effect"
    )
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    closed_on = models.DateField()
    week = models.DateField()  # the Monday of closed_on's week: its HealthBaseline cell
    persona_key = models.BigIntegerField(default=0)
    colour = models.CharField(max_length=8, blank=True)
    score_at_close = models.FloatField(null=True)
    score_30 = models.FloatField(null=True)
    score_90 = models.FloatField(null=True)
    baseline_30 = models.FloatField(null=True)  # the comparison group's mean change
    baseline_90 = models.FloatField(null=True)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "closed_on"], name="playbookeffect_org_closed")
        ]


class FactRefresh(TenantModel):
    """One night's refresh of the facts above (unique per day: a re-run replaces it), so the
    reports know which days have a snapshot and say how fresh it is."""

    date = models.DateField()
    finished_at = models.DateTimeField()
    seconds = models.FloatField(default=0)
    cells = models.PositiveIntegerField(default=0)  # PortfolioDay rows written
    # The trigger facts (TriggerDay) this refresh left: exact for the days up to
    # `triggers_through`, except the days whose firings, alerts or playbooks changed at or
    # after `triggers_since` (those a page reads raw until the next refresh).
    triggers_through = models.DateField(null=True, blank=True)
    triggers_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-date"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "date"], name="factrefresh_one_per_day")
        ]


class RiskDay(TenantModel):
    """The risk the team carried into a day, per persona and owner: customers, those at risk
    (an open retention playbook or an alert waiting), the others renewing (an open renewal
    playbook), and the year before's outcomes the churn forecast multiplies them by. Written
    with the day's facts; the forecast reads it on the first day of each quarter."""

    date = models.DateField()
    persona_key = models.BigIntegerField(default=0)
    owner_key = models.BigIntegerField(default=0)
    customers = models.PositiveIntegerField(default=0)
    at_risk = models.PositiveIntegerField(default=0)
    renewing = models.PositiveIntegerField(default=0)
    retained_12m = models.PositiveIntegerField(default=0)  # retention playbooks closed retained
    lost_12m = models.PositiveIntegerField(default=0)  # ... closed churned
    renewals_12m = models.PositiveIntegerField(default=0)  # renewal playbooks closed
    renewals_lost_12m = models.PositiveIntegerField(default=0)  # ... closed churned

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "date", "persona_key", "owner_key"],
                name="riskday_one_row_per_cell",
            )
        ]


class TriggerDay(TenantModel):
    """What one trigger version's firings of one day became, as the trigger performance
    report counts them (reports.selectors.triggers: firings, alerts by decision, playbooks by
    status and outcome, MRR won, the open pipeline) and the reasons its alerts were dismissed
    (the days to outcome are in TriggerOutcomeDay). Written by the nightly refresh for the days
    whose firings, alerts or playbooks changed since the last one; a re-run replaces
    those days. Firings whose playbook has other firings too (TriggerSpan) are left out and
    read from the raw rows, so the report counts each playbook once however the days add up."""

    date = models.DateField()  # the day the firings fired
    trigger_id = models.BigIntegerField()  # kept when a trigger is deleted, like the others
    trigger_version = models.PositiveIntegerField()
    firings = models.PositiveIntegerField(default=0)
    alerts = models.PositiveIntegerField(default=0)
    confirmed = models.PositiveIntegerField(default=0)
    dismissed = models.PositiveIntegerField(default=0)
    pending = models.PositiveIntegerField(default=0)
    playbooks = models.PositiveIntegerField(default=0)
    open = models.PositiveIntegerField(default=0)
    completed = models.PositiveIntegerField(default=0)
    on_time = models.PositiveIntegerField(default=0)
    opportunities = models.PositiveIntegerField(default=0)
    successes = models.PositiveIntegerField(default=0)
    pipeline_open = models.PositiveIntegerField(default=0)
    won = models.PositiveIntegerField(default=0)
    lost = models.PositiveIntegerField(default=0)
    no_opportunity = models.PositiveIntegerField(default=0)
    retained = models.PositiveIntegerField(default=0)
    churned = models.PositiveIntegerField(default=0)
    risk_not_confirmed = models.PositiveIntegerField(default=0)
    activated = models.PositiveIntegerField(default=0)
    not_activated = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    mrr_won = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    pipeline = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    dismiss_reasons = models.JSONField(default=dict)  # {"reason": alerts}

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "date", "trigger_id", "trigger_version"],
                name="triggerday_one_row_per_version",
            )
        ]


class TriggerOutcomeDay(TenantModel):
    """How many of one day's firings of a trigger version had their playbook closed `days`
    days later: the histogram the median days to outcome is taken from, written with
    TriggerDay (the same days, the same firings)."""

    date = models.DateField()
    trigger_id = models.BigIntegerField()
    trigger_version = models.PositiveIntegerField()
    days = models.IntegerField()
    firings = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "date", "trigger_id", "trigger_version", "days"],
                name="triggeroutcomeday_one_row_per_days",
            )
        ]


class TriggerSpan(TenantModel):
    """A playbook that more than one firing made or joined: its firings are not in
    TriggerDay (a sum of days would count it twice) and the report reads them raw."""

    playbook_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "playbook_id"], name="triggerspan_one_per_playbook"
            )
        ]


class LedgerTotal(TenantModel):
    """The MRR ledger of one period over all accounts (reports.selectors.portfolio.ledger
    with no filter: the home's MRR, GRR and NRR), kept by the nightly refresh for the quarter
    so far, with the ledger it was read from: how many movements, and the last one's id. The
    ledger is only ever added to (and a movement deleted by an operator lowers the count), so
    while both are the same the figures are exact; otherwise the page reads the ledger."""

    date_from = models.DateField()
    date_to = models.DateField()
    movements = models.PositiveIntegerField()
    last_movement = models.BigIntegerField()
    values = models.JSONField(default=dict)  # LEDGER_COLUMNS

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "date_from", "date_to"], name="ledgertotal_one_per_period"
            )
        ]


class MrrMonth(TenantModel):
    """One account's MRR ledger in one month (only months with movements), in whole cents
    (floats: exact for whole numbers far beyond any MRR, and summed several times faster than
    integers, whose sums PostgreSQL keeps as numerics): the month's movements by kind
    (contraction and churn as positive losses, as the ledger reports them), their net, the
    account's MRR at the month's end (all its movements to then), whether this is the
    account's latest month (so its MRR today is one row) and the day of its first movement.
    Rebuilt per account by the nightly refresh from the ledger (a re-run replaces an
    account's rows); a page adds the movements written since (MrrMonthState), so the
    portfolio's ledger reads about one row per account instead of its whole history."""

    account_id = models.BigIntegerField()
    month = models.DateField()  # the month's first day
    new = models.FloatField(default=0)
    expansion = models.FloatField(default=0)
    reactivation = models.FloatField(default=0)
    contraction = models.FloatField(default=0)
    churned = models.FloatField(default=0)
    net = models.FloatField(default=0)
    mrr_end = models.FloatField(default=0)
    latest = models.BooleanField(default=False)
    first_date = models.DateField()  # the account's first movement (before it, not counted)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "account_id", "month"], name="mrrmonth_one_per_month"
            )
        ]
        indexes = [
            models.Index(fields=["organization", "month"], name="mrrmonth_org_month"),
            models.Index(
                fields=["organization", "account_id"],
                name="mrrmonth_org_latest",
                condition=Q(latest=True),
            ),
        ]


class MrrMonthState(TenantModel):
    """What the organization's MrrMonth rows were built from: how many movements the ledger
    had and the last one's id. The ledger is only added to, so while the count is this plus
    the movements after that id, the rows plus those movements are the whole ledger;
    otherwise (a movement deleted) the page reads the ledger itself."""

    movements = models.PositiveIntegerField(default=0)
    last_movement = models.BigIntegerField(default=0)
    refreshed_at = models.DateTimeField()
    # the ChurnProductMonth rows are built from the same movements (False: rows written
    # before those facts existed; the next refresh rebuilds every account)
    with_churn_products = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="mrrmonthstate_one_per_org")
        ]


class EffectMonth(TenantModel):
    """The playbook effectiveness report's aggregate (reports.selectors.effectiveness) of
    the playbooks closed in one month, per template, kind, opportunity product and days from
    opening to closing: how many closed, their outcomes, and the sums behind the health
    changes (PlaybookEffect). Only playbooks closed before the state's `cut` (EffectMonthState)
    are in it: a page adds those closed since, read raw. Rebuilt by the nightly refresh for the
    months whose playbooks closed or whose effects were filled since (a re-run replaces a
    month's rows)."""

    month = models.DateField()  # the first day of the month the playbooks closed in
    template_key = models.BigIntegerField(default=0)  # PlaybookTemplate id, 0: none
    kind = models.CharField(max_length=12)
    product_key = models.BigIntegerField(default=0)  # opportunity product id, 0: none
    days = models.IntegerField()  # from opening to closing
    closed = models.PositiveIntegerField(default=0)
    won = models.PositiveIntegerField(default=0)
    lost = models.PositiveIntegerField(default=0)
    no_opportunity = models.PositiveIntegerField(default=0)
    retained = models.PositiveIntegerField(default=0)
    churned = models.PositiveIntegerField(default=0)
    risk_not_confirmed = models.PositiveIntegerField(default=0)
    activated = models.PositiveIntegerField(default=0)
    not_activated = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    n_30 = models.PositiveIntegerField(default=0)
    change_30 = models.FloatField(null=True)  # None: no playbook with health data
    baseline_30 = models.FloatField(null=True)
    n_90 = models.PositiveIntegerField(default=0)
    change_90 = models.FloatField(null=True)
    baseline_90 = models.FloatField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "month", "template_key", "kind", "product_key", "days"],
                name="effectmonth_one_row_per_cell",
            )
        ]


class EffectMonthState(TenantModel):
    """Up to when the organization's EffectMonth rows count closed playbooks: those closed
    before `cut` (set by the refresh that wrote them, a little before it began)."""

    cut = models.DateTimeField()
    refreshed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="effectmonthstate_one_per_org")
        ]


class RetentionAlarmMonth(TenantModel):
    """The retention safety net's alarms of one month over all accounts
    (reports.selectors.retention.alarms_monthly): retention triggers' firings, those
    completed (alert dismissed or playbook closed) and the accounts they were on. Written by
    the nightly refresh, before the trigger facts, for the months whose firings, alerts or
    playbooks changed since the last one (as TriggerDay); a page takes a month from here while
    the trigger facts say none of its days changed since."""

    month = models.DateField()
    raised = models.PositiveIntegerField(default=0)
    completed = models.PositiveIntegerField(default=0)
    accounts = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "month"], name="retentionalarmmonth_one_per_month"
            )
        ]


class RetentionNetMonth(TenantModel):
    """The accounts through the retention net in one month over all accounts
    (reports.selectors.retention.net_monthly): with a retention playbook closed in it, and
    by outcome. Counts the playbooks closed before EffectMonthState's cut, rebuilt with
    EffectMonth; a page takes a month from here when it ended before the cut."""

    month = models.DateField()
    through = models.PositiveIntegerField(default=0)
    retained = models.PositiveIntegerField(default=0)
    churned = models.PositiveIntegerField(default=0)
    not_confirmed = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "month"], name="retentionnetmonth_one_per_month"
            )
        ]


class ChurnProductMonth(TenantModel):
    """One account's churn entries in the MRR ledger in one month for one product (the
    subscription's; 0 for a churn entry with no subscription), in whole cents as MrrMonth
    keeps them: the retention report's churn by product. Rebuilt with MrrMonth, for the same
    accounts and from the same movements (MrrMonthState says which), so a page adds the
    churn entries written since."""

    account_id = models.BigIntegerField()
    month = models.DateField()
    product_key = models.BigIntegerField(default=0)
    lost = models.FloatField(default=0)  # the entries' delta, negative, in cents

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "account_id", "month", "product_key"],
                name="churnproductmonth_one_per_cell",
            )
        ]
        indexes = [
            models.Index(fields=["organization", "month"], name="churnproductmonth_org_month")
        ]


class LedgerCell(TenantModel):
    """The portfolio's MRR ledger (reports.selectors.portfolio.ledger) over one period, summed
    over the accounts of one persona, tier, touch model and owner (LedgerAccount's, as of the
    refresh) for one product (0: every subscription): each account's period classified as
    the ledger does (in the base or not, its losses capped at its start MRR), then added up,
    money in whole cents as MrrMonth keeps it. Kept by the nightly refresh for the running
    month, quarter and year and the three before, from the movements up to
    LedgerCubeState.last_movement and dated up to `date_to`; a page adds the accounts moved
    or changed since (their contributions as the cells have them out, as they are now in),
    so the GRR, NRR and logo churn of the whole portfolio are sums over a few thousand rows."""

    date_from = models.DateField()
    date_to = models.DateField()
    persona_key = models.BigIntegerField(default=0)  # Persona id, 0: none
    tier = models.CharField(max_length=16, blank=True)
    touch_model = models.CharField(max_length=8, blank=True)
    owner_key = models.BigIntegerField(default=0)  # User id, 0: unassigned
    product_key = models.BigIntegerField(default=0)  # Product id, 0: every subscription
    members = models.FloatField(default=0)  # accounts in the cell (with movements by then)
    accounts_start = models.FloatField(default=0)
    accounts_end = models.FloatField(default=0)
    logos_lost = models.FloatField(default=0)
    logos_gained = models.FloatField(default=0)
    start_mrr = models.FloatField(default=0)
    end_mrr = models.FloatField(default=0)
    new_mrr = models.FloatField(default=0)
    expansion = models.FloatField(default=0)
    reactivation = models.FloatField(default=0)
    contraction = models.FloatField(default=0)
    churned = models.FloatField(default=0)
    base_churned = models.FloatField(default=0)
    base_contraction = models.FloatField(default=0)
    base_expansion = models.FloatField(default=0)
    base_loss = models.FloatField(default=0)
    end_paying = models.FloatField(default=0)  # end MRR of the accounts paying at the end

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "organization",
                    "date_from",
                    "date_to",
                    "persona_key",
                    "tier",
                    "touch_model",
                    "owner_key",
                    "product_key",
                ],
                name="ledgercell_one_row_per_cell",
            )
        ]


class LedgerAccount(TenantModel):
    """An account's persona, tier, touch model and owner as the LedgerCell rows count it (as
    of the refresh that last wrote it): a page compares them with the account's today to
    find the accounts whose cells moved."""

    account_id = models.BigIntegerField()
    persona_key = models.BigIntegerField(default=0)
    tier = models.CharField(max_length=16, blank=True)
    touch_model = models.CharField(max_length=8, blank=True)
    owner_key = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "account_id"], name="ledgeraccount_one_per_account"
            )
        ]


class LedgerCubeState(TenantModel):
    """What the organization's LedgerCell rows were built from: how many movements the
    ledger had and the last one's id (as MrrMonthState), and a digest of the dimensions they
    count each account under (LedgerAccount)."""

    movements = models.PositiveIntegerField(default=0)
    last_movement = models.BigIntegerField(default=0)
    refreshed_at = models.DateTimeField()
    # LedgerAccount's rows hashed in buckets of account ids ({"accounts_to": the last
    # account id, "buckets": {bucket: digest}}): a page hashes the accounts the same way
    # and compares only the buckets that differ (reports.ledger_cube)
    digests = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="ledgercubestate_one_per_org")
        ]


class AccountStart(TenantModel):
    """An account's first subscription start (the earliest start_date of its subscriptions),
    as the portfolio's activation table counts the accounts that started in a period. Kept
    by the nightly refresh for the accounts whose subscriptions changed (AccountStartState);
    a page reads the accounts with subscriptions changed or added since from the
    subscriptions themselves."""

    account_id = models.BigIntegerField()
    first_start = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "account_id"], name="accountstart_one_per_account"
            )
        ]
        indexes = [
            models.Index(fields=["organization", "first_start"], name="accountstart_org_start")
        ]


class AccountStartState(TenantModel):
    """What the organization's AccountStart rows were built from: the subscriptions up to
    `subscriptions_to` (an id), hashed in buckets of account ids ({bucket: digest}); a page
    hashes them the same way and reads the buckets that differ, and the accounts with a
    subscription after that id, from the subscriptions."""

    subscriptions_to = models.BigIntegerField(default=0)
    digests = models.JSONField(default=dict)
    refreshed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="accountstartstate_one_per_org")
        ]
