"""Test helpers that are not factories: the hand-built worlds tests start from, small
writers, the condition language's test catalogue, logging in a browser, waiting for a worker
and the test mail server. Test modules import them from here (and factories from
tests/factories.py), never from another test module."""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from decimal import Decimal
from html.parser import HTMLParser

import pandas as pd
import pytest
from django.core.mail.backends import locmem
from django.db import connection

from accounts.models import Persona
from accounts.services import account_rollups_refresh
from conditions import ConditionError, Field, FieldType, parse
from health.models import HealthModel, HealthScore, Indicator
from playbooks.models import PlaybookTemplate, TemplateStep
from tests import factories as f
from triggers.models import Trigger

# The day the hand-built worlds are scored, and fire, on.
DAY = dt.date(2024, 6, 30)

# -- the portfolio triggers fire on -------------------------------------------------------


def score(org, account, day, value, colour, volume=None):
    breakdown = {"usage_frequency:30:logins": [12.0, 60.0, 0.5]}
    if volume is not None:
        breakdown["volume_trend:90:transacted_volume"] = [volume, 50.0, 0.5]
    HealthScore.all_objects.create(
        organization=org,
        account=account,
        date=day,
        score=value,
        colour=colour,
        breakdown=breakdown,
    )


def compact_score(org, account, model, day, *, keys, weights, raws, scores, score, colour):
    """One score row written the night's way (health_scores_write: compact, raws and scores
    in the layout (keys, weights)'s order), with no 7- or 30-day change."""
    from health.compact import Layout
    from health.services import health_scores_write

    frame = pd.DataFrame(
        {
            "score": [score],
            "colour": [colour],
            "model_id": [model.pk],
            "model_version": [1],
            "layout": [Layout(keys=tuple(keys), weights=tuple(weights))],
            "raws": [list(raws)],
            "scores": [list(scores)],
            "change_7d": [None],
            "change_30d": [None],
        },
        index=[account.pk],
    )
    health_scores_write(org_id=org.pk, day=day, scores=frame)


def template(
    org, name, kind, steps=(("Call the sponsor", 2, "owner"), ("Review with manager", 7, "manager"))
):
    t = PlaybookTemplate.all_objects.create(organization=org, name=name, kind=kind)
    for i, (title, offset, who) in enumerate(steps, 1):
        TemplateStep.all_objects.create(
            organization=org, template=t, order=i, title=title, due_offset_days=offset, assignee=who
        )
    return t


def trigger_world(org, csm, manager):
    """The hand-built portfolio triggers fire on: five accounts with today's health scores and
    breakdowns written directly, products, an overdue invoice, two triggers from the brief."""
    enterprise = Persona.all_objects.create(
        organization=org,
        name="Enterprise",
        slug="enterprise",
        rules={"field": "tier", "op": "in", "value": ["diamond", "platinum"]},
        priority=1,
    )
    core = f.ProductFactory(organization=org, name="Core", code="core")
    analytics = f.ProductFactory(organization=org, name="Analytics", code="analytics")
    mk = lambda name, **kw: f.AccountFactory(  # noqa: E731
        organization=org, name=name, owner=csm, customer_since=dt.date(2022, 1, 1), **kw
    )
    a = mk("Alfa", tier="diamond", persona=enterprise)  # green, volume +35%, no analytics
    b = mk("Bravo", tier="diamond", persona=enterprise)  # green, volume +25%, holds analytics
    c = mk("Charlie", tier="silver")  # score 43: retention
    d = mk("Delta", tier="gold")  # volume -38%: retention
    e = mk("Echo", tier="gold")  # healthy, but an invoice 41 days overdue: retention
    for account in (a, b, c, d, e):
        f.SubscriptionFactory(account=account, product=core, mrr=Decimal("1000"))
    f.SubscriptionFactory(account=b, product=analytics, mrr=Decimal("500"))
    account_rollups_refresh(org=org)
    score(org, a, DAY, 82, "green", volume=35.0)
    score(org, b, DAY, 90, "green", volume=25.0)
    score(org, c, DAY, 43, "red", volume=5.0)
    score(org, d, DAY, 60, "yellow", volume=-38.0)
    score(org, e, DAY, 80, "green", volume=0.0)
    f.InvoiceFactory(
        account=e,
        issued_on=dt.date(2024, 4, 20),
        due_on=dt.date(2024, 5, 20),
        amount=Decimal("1200"),
    )
    offer = template(org, "Offer Analytics", "expansion")
    save = template(org, "Retention call", "retention")
    expansion = Trigger.all_objects.create(
        organization=org,
        name="Enterprise growth: offer Analytics",
        kind="expansion",
        persona=enterprise,
        product=analytics,
        template=offer,
        action="playbook",
        cooldown_days=30,
        condition={
            "all": [
                {"field": "health_colour", "op": "=", "value": "green"},
                {"field": "indicator.volume_trend.raw", "op": ">", "value": 20},
            ]
        },
    )
    retention = Trigger.all_objects.create(
        organization=org,
        name="Retention risk",
        kind="retention",
        template=save,
        action="alert",
        cooldown_days=30,
        condition={
            "any": [
                {"field": "health_score", "op": "<", "value": 51},
                {"field": "indicator.volume_trend.raw", "op": "<=", "value": -30},
                {"field": "overdue_invoice_max_days", "op": ">", "value": 30},
            ]
        },
    )
    return {
        "accounts": {"a": a, "b": b, "c": c, "d": d, "e": e},
        "products": {"core": core, "analytics": analytics},
        "triggers": {"expansion": expansion, "retention": retention},
        "templates": {"offer": offer, "save": save},
    }


# -- the hand-computed measures -----------------------------------------------------------


def at(day: str, hour: int = 12) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{hour:02d}:00:00+00:00")


def measures_world(org):
    """A small, readable fixture whose every measure was computed by hand (see
    tests/health/test_measures.py): accounts x (established), y (young, signed 2024-06-01) and z
    (churned 2024-06-15)."""
    x = f.AccountFactory(
        organization=org,
        name="X",
        customer_since=dt.date(2023, 1, 1),
        csm_sentiment=4,
        csm_sentiment_expires_on=dt.date(2024, 7, 31),
    )
    y = f.AccountFactory(
        organization=org,
        name="Y",
        customer_since=dt.date(2024, 6, 1),
        csm_sentiment=2,
        csm_sentiment_expires_on=dt.date(2024, 6, 1),
    )
    z = f.AccountFactory(
        organization=org,
        name="Z",
        customer_since=dt.date(2022, 1, 1),
        churned_at=dt.date(2024, 6, 15),
        lifecycle_stage="churned",
    )
    usage = []
    # logins: 10 active days of 5 in June, one day of 0 (not active), and a baseline of
    # 90 days of 2 in March-May (180 over the 180-day baseline: 1.0 a day).
    for d in range(1, 11):
        usage.append((x, "logins", dt.date(2024, 6, d), 5.0))
    usage.append((x, "logins", dt.date(2024, 6, 11), 0.0))
    start = dt.date(2024, 3, 1)
    for i in range(90):
        usage.append((x, "logins", start + dt.timedelta(days=i), 2.0))
    # transacted volume: 1500 in the last 90 days, 3000 in the 90 before
    usage += [
        (x, "transacted_volume", dt.date(2024, 6, 15), 1000.0),
        (x, "transacted_volume", dt.date(2024, 5, 1), 500.0),
        (x, "transacted_volume", dt.date(2024, 2, 1), 3000.0),
        (x, "product:core", dt.date(2024, 6, 15), 3.0),
        (x, "product:analytics", dt.date(2024, 4, 1), 1.0),
        (z, "logins", dt.date(2024, 6, 1), 9.0),
    ]
    from accounts.models import UsageMetric

    UsageMetric.all_objects.bulk_create(
        [
            UsageMetric(organization=org, account=a, metric=m, date=d, value=v)
            for a, m, d, v in usage
        ]
    )
    core = f.ProductFactory(organization=org, name="Core", code="core")
    analytics = f.ProductFactory(organization=org, name="Analytics", code="analytics")
    addon = f.ProductFactory(organization=org, name="Addon", code="addon")
    f.SubscriptionFactory(
        account=x,
        product=core,
        mrr=Decimal("1000"),
        discount_pct=Decimal("10"),
        renewals_count=2,
        start_date=dt.date(2023, 1, 1),
    )
    f.SubscriptionFactory(
        account=x,
        product=analytics,
        mrr=Decimal("3000"),
        discount_pct=Decimal("30"),
        renewals_count=0,
        start_date=dt.date(2023, 6, 1),
    )
    f.SubscriptionFactory(
        account=x,
        product=addon,
        mrr=Decimal("500"),
        discount_pct=Decimal("50"),
        status="cancelled",
        start_date=dt.date(2023, 1, 1),
        end_date=dt.date(2024, 5, 1),
    )
    for when, score in [
        ("2024-01-10", 9),
        ("2024-05-01", 4),
        ("2023-05-01", 10),
        ("2024-07-01", 10),
    ]:
        f.SurveyResponseFactory(account=x, kind="nps", score=score, answered_at=at(when))
    for when, score in [("2024-06-01", 4), ("2024-05-15", 2), ("2024-03-01", 1)]:
        f.SurveyResponseFactory(account=x, kind="csat", score=score, answered_at=at(when))
    tickets = [
        ("2024-06-01", "2024-06-02", "2024-06-05"),  # closed after its SLA: over
        ("2024-06-10", "2024-06-11", "2024-06-10T13"),  # closed in time
        ("2024-06-20", "2024-06-21", None),  # open past its SLA: over
        ("2024-06-29", "2024-07-02", None),  # SLA not yet due on the day
        ("2024-03-01", "2024-03-02", "2024-03-10"),  # over, but outside the 90 days
    ]
    for opened, due, closed in tickets:
        f.TicketFactory(
            account=x,
            opened_at=at(opened),
            sla_due_at=at(due),
            closed_at=(
                None
                if closed is None
                else dt.datetime.fromisoformat(
                    closed + (":00:00+00:00" if "T" in closed else "T18:00:00+00:00")
                )
            ),
        )
    invoices = [
        # issued, due, paid, amount, discount
        ("2024-05-01", "2024-06-01", None, "1000", "100"),  # overdue: 900
        ("2024-04-01", "2024-05-01", "2024-05-20", "800", "0"),  # paid before the day
        ("2024-05-20", "2024-06-20", "2024-07-05", "500", "0"),  # paid after the day: overdue
        ("2024-06-10", "2024-07-10", None, "700", "0"),  # not yet due
    ]
    for issued, due, paid, amount, discount in invoices:
        f.InvoiceFactory(
            account=x,
            issued_on=dt.date.fromisoformat(issued),
            due_on=dt.date.fromisoformat(due),
            paid_on=dt.date.fromisoformat(paid) if paid else None,
            amount=Decimal(amount),
            discount_amount=Decimal(discount),
        )
    f.InteractionFactory(account=x, occurred_at=at("2024-06-20", 10))
    f.InteractionFactory(account=x, occurred_at=at("2024-07-02", 10))
    return x, y, z


# -- health models and usage --------------------------------------------------------------


def simple_model(org, persona=None, weight=1.0, good=10):
    """Score = usage frequency over 10 days, 0 days -> 0, `good` (10) days -> 100."""
    model = HealthModel.all_objects.create(organization=org, name="Simple", persona=persona)
    Indicator.all_objects.create(
        organization=org,
        model=model,
        measure="usage_frequency",
        window_days=10,
        metric="logins",
        direction="higher",
        bad_value=0,
        good_value=good,
        weight=weight,
    )
    return model


def indicator(org, model, **kw) -> Indicator:
    """An unsaved indicator of `model`: usage frequency, 0 days scores 0, 20 scores 100."""
    data = dict(
        organization=org,
        model=model,
        measure="usage_frequency",
        direction="higher",
        bad_value=0,
        good_value=20,
        weight=1,
    )
    data.update(kw)
    return Indicator(**data)


def active_days(org, account, days, end=DAY):
    from accounts.models import UsageMetric

    UsageMetric.all_objects.bulk_create(
        [
            UsageMetric(
                organization=org,
                account=account,
                metric="logins",
                date=end - dt.timedelta(days=i),
                value=1.0,
            )
            for i in range(days)
        ]
    )


# -- the condition language on a hand-built frame (no database) ---------------------------

CATALOGUE = {
    f.name: f
    for f in [
        Field("score", FieldType.NUMBER, "Score", q_path="score"),
        Field("since", FieldType.DATE, "Customer since", q_path="since"),
        Field("industry", FieldType.STRING, "Industry", q_path="industry"),
        Field("tier", FieldType.CHOICE, "Tier", ("gold", "silver", "bronze"), q_path="tier"),
        Field("active", FieldType.BOOL, "Active", q_path="active"),
        Field("products", FieldType.SET, "Products held"),
    ]
}

# Five accounts; row 12 has every value missing one way or another (NaN, None, ""), row 13
# has None where row 12 has "", row 14 has zero and the empty set written as "||".
FRAME = pd.DataFrame(
    {
        "score": [10.0, 50.0, math.nan, 75.5, 0.0],
        "since": [
            dt.date(2024, 1, 10),
            dt.date(2024, 3, 1),
            None,
            dt.date(2023, 12, 31),
            dt.date(2024, 3, 1),
        ],
        "industry": ["Retail", "Health", "", None, "Retail"],
        "tier": ["gold", "silver", "", None, "bronze"],
        "active": [True, False, None, True, False],
        "products": ["|analytics|core|", "|core|", "", None, "||"],
    },
    index=[10, 11, 12, 13, 14],
)


def mask(tree, frame=FRAME, catalogue=CATALOGUE) -> list[bool]:
    out = parse(tree, catalogue).to_mask(frame)
    assert list(out.index) == list(frame.index)
    return [bool(x) for x in out]


def cmp(field, op, value):
    return {"field": field, "op": op, "value": value}


def refused(tree, catalogue=CATALOGUE) -> ConditionError:
    with pytest.raises(ConditionError) as info:
        parse(tree, catalogue)
    return info.value


# -- the browser --------------------------------------------------------------------------

PASSWORD = "pass12345"  # tests.factories.UserFactory's

# Collects what the Content-Security-Policy refused, as the page itself sees it (Playwright's
# init scripts are not subject to the page's policy): page.add_init_script(WATCH_VIOLATIONS).
WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


def log_in(page, username: str, password: str = PASSWORD) -> None:
    """Through the login form, as a person would."""
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state("networkidle")


def watch_csp(page):
    """`page`, recording CSP violations: the console's "Refused to ..." errors and the
    securitypolicyviolation events (read by assert_nothing_refused)."""
    page.csp_console = []
    page.on(
        "console",
        lambda msg: (
            page.csp_console.append(msg.text)
            if "Content Security Policy" in msg.text or msg.text.startswith("Refused to")
            else None
        ),
    )
    page.add_init_script(WATCH_VIOLATIONS)
    return page


def assert_nothing_refused(page, where: str) -> None:
    events = page.evaluate("window.__cspViolations || []")
    assert page.csp_console == [], (where, page.csp_console)
    assert events == [], (where, events)
    assert page.js_errors == [], (where, page.js_errors)


# -- concurrency and waiting for a worker -------------------------------------------------


def at_once(call, times: int) -> tuple[list, list[Exception]]:
    """Run `call()` in `times` threads started together, each on a database connection of its
    own (as that many workers would); returns what the calls returned and what they raised."""
    start = threading.Barrier(times)
    results, errors = [], []

    def run():
        try:
            start.wait(timeout=30)
            results.append(call())
        except Exception as exc:  # noqa: BLE001 - the caller asserts on them
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


def wait_for(predicate, seconds=90):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return False


# -- the mail server ----------------------------------------------------------------------


class HookedMailBackend(locmem.EmailBackend):
    """Django's in-memory mail backend with a hook run for each message before it counts as
    sent: a test pauses there, fails the message (the hook raises) or looks at the database
    while the sender waits for the mail server. Set it with settings.EMAIL_BACKEND =
    "tests.builders.HookedMailBackend" and HookedMailBackend.hook = callable(message)."""

    hook = None

    def send_messages(self, messages):
        for message in messages:
            if HookedMailBackend.hook is not None:
                HookedMailBackend.hook(message)
        return super().send_messages(messages)


# -- what a browser would post ------------------------------------------------------------


class _Posted(HTMLParser):
    """The values a browser posts from an HTML fragment: inputs (checked boxes only, no
    buttons), selected options (the first option of a select with none selected), textareas
    (less the newline right after the tag, which browsers drop)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.pairs: list[tuple[str, str]] = []
        self._select: str | None = None
        self._first: str | None = None
        self._chosen = False
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("submit", "button", "image", "file", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.pairs.append((name, a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select" and name:
            self._select, self._first, self._chosen = name, None, False
        elif tag == "option" and self._select:
            value = a.get("value", "")
            if self._first is None:
                self._first = value
            if "selected" in a:
                self.pairs.append((self._select, value))
                self._chosen = True
        elif tag == "textarea" and name:
            self._textarea, self._text = name, ""

    def handle_data(self, data):
        if self._textarea:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "select" and self._select:
            if not self._chosen and self._first is not None:
                self.pairs.append((self._select, self._first))
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.pairs.append((self._textarea, self._text.removeprefix("\n")))
            self._textarea = None


def posted(html: str, **extra):
    """The QueryDict a browser would post from `html`, plus `extra` values."""
    from django.http import QueryDict

    parser = _Posted()
    parser.feed(html)
    data = QueryDict(mutable=True)
    for name, value in parser.pairs:
        data.appendlist(name, value)
    for name, value in extra.items():
        data[name] = value
    return data


# -- one night of the whole chain, small enough to compute by hand --------------------------

# A day 1, so the night has every stage: scoring, nightly triggers, the monthly run, digest.
NIGHT = dt.date(2024, 7, 1)
OLD_CUSTOMER, NEW_CUSTOMER = dt.date(2020, 1, 1), dt.date(2024, 1, 1)


def night_world(org, owner) -> dict:
    """Six accounts N0..N5 of `owner`: Ni was active 2*i of the 10 days up to NIGHT, so it
    scores 20*i (the simple model: 10 days -> 100); N1, N3 and N5 are customers since 2020
    (tenure > 1000 days), the others since 2024-01-01 (182 days).

    - "Low usage or loyal" (nightly, playbook): usage raw < 5 days or tenure > 1000 days:
      N0 (0 days), N1 (2), N2 (4) by usage, N1, N3, N5 by tenure: 5 firings, 5 playbooks, the
      evidence of each carries its usage raw value (0, 2, 4, 6, 10 days);
    - "Monthly review" (monthly, alert): score < 50: N0 (0), N1 (20), N2 (40): 3 alerts.
    8 notifications for the owner (5 playbooks assigned, 3 alerts), one digest email."""
    accounts = []
    for i in range(6):
        account = f.AccountFactory(
            organization=org,
            name=f"N{i}",
            owner=owner,
            customer_since=OLD_CUSTOMER if i % 2 else NEW_CUSTOMER,
        )
        active_days(org, account, 2 * i, end=NIGHT)
        accounts.append(account)
    simple_model(org)
    Trigger.all_objects.create(
        organization=org,
        name="Low usage or loyal",
        kind="retention",
        action="playbook",
        template=template(org, "Check in", "retention"),
        condition={
            "any": [
                {"field": "indicator.usage_frequency.raw", "op": "<", "value": 5},
                {"field": "tenure_days", "op": ">", "value": 1000},
            ]
        },
    )
    Trigger.all_objects.create(
        organization=org,
        name="Monthly review",
        kind="retention",
        action="alert",
        schedule="monthly",
        template=template(org, "Review", "retention"),
        condition={"field": "health_score", "op": "<", "value": 50},
    )
    return {"accounts": accounts}


def night_rows(org) -> dict:
    """What a night leaves, by account name (so two organizations' nights compare): scores
    with breakdowns, firings with evidence, playbooks, alerts, notifications, the forecast."""
    from accounts.models import Account
    from playbooks.models import Notification, Playbook
    from triggers.models import Alert, Firing, RetentionForecast

    name = dict(Account.all_objects.filter(organization=org).values_list("pk", "name")).get
    return {
        "scores": sorted(
            (name(row.account_id), row.date.isoformat(), row.score, row.colour, row.breakdown_dict)
            for row in HealthScore.all_objects.filter(organization=org).select_related("layout")
        ),
        "firings": sorted(
            (name(a), t, p.isoformat(), sorted(e.items()))
            for a, t, p, e in Firing.all_objects.filter(organization=org).values_list(
                "account_id", "trigger__name", "period", "evidence"
            )
        ),
        "playbooks": sorted(
            (name(a), t)
            for a, t in Playbook.all_objects.filter(organization=org).values_list(
                "account_id", "template__name"
            )
        ),
        "alerts": sorted(
            (name(a), s)
            for a, s in Alert.all_objects.filter(organization=org).values_list(
                "account_id", "status"
            )
        ),
        "notifications": sorted(
            Notification.all_objects.filter(organization=org).values_list("kind", "text")
        ),
        "forecast": sorted(
            RetentionForecast.all_objects.filter(organization=org).values_list(
                "month", "alerts_raised", "expected_actions", "accounts_at_risk"
            )
        ),
    }


# -- why it moved: two hand-computed days --------------------------------------------------


def two_scored_days(org, account=None):
    """An account scored on DAY − 30 (version 1) and DAY (version 2), breakdowns written by hand:
    weights usage 3, tickets 1, NPS 1.
      DAY − 30: usage 18 days → 60 × 0.6 = 36, tickets 0 → 100 × 0.2 = 20, NPS 9 → 90 × 0.2 = 18;
                score 74 (yellow)
      DAY:      usage 9 days → 30 × 0.75 = 22.5, tickets 1 → 50 × 0.25 = 12.5, NPS missing;
                score 35 (red)
      change −39 = usage −13.5, tickets −7.5, NPS −18."""
    account = account or f.AccountFactory(organization=org, name="Acme Ltda", external_id="ACME")
    model = HealthModel.all_objects.create(organization=org, name="Default", version=2)
    usage, tickets, nps = "usage_frequency:30:logins", "tickets_over_sla:90", "nps_latest:365"
    days = [
        (
            DAY - dt.timedelta(days=30),
            1,
            74,
            "yellow",
            {usage: [18.0, 60.0, 0.6], tickets: [0.0, 100.0, 0.2], nps: [9.0, 90.0, 0.2]},
            [],
        ),
        (
            DAY,
            2,
            35,
            "red",
            {usage: [9.0, 30.0, 0.75], tickets: [1.0, 50.0, 0.25], nps: [None, None, 0.0]},
            [nps],
        ),
    ]
    for day, version, value, colour, breakdown, missing in days:
        HealthScore.all_objects.create(
            organization=org,
            account=account,
            date=day,
            model=model,
            model_version=version,
            score=value,
            colour=colour,
            breakdown=breakdown,
            missing=missing,
        )
    return account, model


# -- a year of monthly scores whose informative indicator is known -------------------------

TRUST_USAGE, TRUST_NPS = "usage_frequency:30:logins", "nps_latest:365"


def usage_nps_model(org, name="M"):
    """A model of two indicators, weight 1 each: usage frequency (30 days, logins) and the
    latest NPS (365 days), both 0 at 0 and 100 at 10."""
    model = HealthModel.all_objects.create(organization=org, name=name)
    for measure, window, metric in (("usage_frequency", 30, "logins"), ("nps_latest", 365, "")):
        Indicator.all_objects.create(
            organization=org,
            model=model,
            measure=measure,
            window_days=window,
            metric=metric,
            direction="higher",
            bad_value=0,
            good_value=10,
            weight=1,
        )
    return model


def churn_history(org, today, *, accounts=80, lead=30, seed=11):
    """A model (usage weight 1, NPS weight 1) and a year of monthly scores, on the days a
    weight suggestion samples (today − lead − 30k, k = 0..12). Usage is what matters: an
    account whose usage score is below 35 churns, at a random point of the year, within `lead`
    days after one of its scored days; no other account churns. NPS is noise."""
    import random

    rng = random.Random(seed)
    model = usage_nps_model(org, "Learned")
    days = sorted(today - dt.timedelta(days=lead + 30 * k) for k in range(13))
    rows = []
    for _ in range(accounts):
        usage, nps = rng.uniform(0, 100), rng.uniform(0, 100)
        churn_at = None
        if usage < 35:
            last_day = rng.choice(days[1:])
            churn_at = last_day + dt.timedelta(days=rng.randint(1, lead))
        account = f.AccountFactory(
            organization=org, customer_since=dt.date(2015, 1, 1), churned_at=churn_at
        )
        for day in days:
            if churn_at is not None and day >= churn_at:
                break
            value = round((usage + nps) / 2)
            rows.append(
                HealthScore(
                    organization=org,
                    account=account,
                    date=day,
                    model=model,
                    score=value,
                    colour="red" if value <= 50 else "yellow" if value <= 75 else "green",
                    breakdown={
                        TRUST_USAGE: [usage / 10, round(usage, 1), 0.5],
                        TRUST_NPS: [nps / 10, round(nps, 1), 0.5],
                    },
                )
            )
    HealthScore.all_objects.bulk_create(rows)
    return model
