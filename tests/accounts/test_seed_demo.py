"""seed_demo: same seed, same data; refuses to overwrite; validates its arguments; and seeds a
portfolio that hangs together, where churners' signals deteriorate before they leave."""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, F, Q, Sum

from accounts import demo
from accounts import models as am
from accounts.demo.writers import _foreign_keys_check
from accounts.personas import validate_persona_rules
from orgs.models import Membership, Organization, Role
from orgs.tenancy import org_context

TODAY = "2026-01-15"
ROOT = Path(__file__).resolve().parents[2]


def seed(**options) -> str:
    out = io.StringIO()
    options = {"accounts": 40, "months": 2, "today": TODAY, **options}
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def snapshot(slug: str = "demo") -> dict:
    """Everything seeded, keyed by external ids and names, never by primary keys."""
    org = Organization.objects.get(slug=slug)
    with org_context(org):
        return {
            "org": (org.name, org.currency),
            "users": sorted(
                Membership.objects.filter(organization=org).values_list("user__username", "role")
            ),
            "accounts": list(
                am.Account.objects.order_by("external_id").values_list(
                    "external_id",
                    "name",
                    "tier",
                    "touch_model",
                    "industry",
                    "region",
                    "size_band",
                    "owner__username",
                    "lifecycle_stage",
                    "customer_since",
                    "churned_at",
                    "churn_reason__name",
                    "mrr",
                    "renewal_date",
                    "persona__slug",
                )
            ),  # fmt: skip
            "subscriptions": list(
                am.Subscription.objects.order_by("external_id").values_list(
                    "external_id",
                    "product__code",
                    "mrr",
                    "start_date",
                    "end_date",
                    "status",
                    "renewals_count",
                    "discount_pct",
                )
            ),  # fmt: skip
            "movements": sorted(
                am.MrrMovement.objects.values_list(
                    "subscription__external_id", "date", "kind", "delta_mrr", "note"
                )
            ),
            "contacts": list(
                am.Contact.objects.order_by("external_id").values_list(
                    "external_id",
                    "name",
                    "role",
                    "email",
                    "consent_given_at",
                    "consent_withdrawn_at",
                )
            ),  # fmt: skip
            "usage": [
                (ext, metric, n, round(total, 2))
                for ext, metric, n, total in am.UsageMetric.objects.values_list(
                    "account__external_id", "metric"
                )
                .annotate(n=Count("id"), total=Sum("value"))
                .order_by("account__external_id", "metric")
            ],
            "tickets": list(
                am.Ticket.objects.order_by("external_id").values_list(
                    "external_id",
                    "account__external_id",
                    "priority",
                    "opened_at",
                    "closed_at",
                    "sla_breached",
                )
            ),  # fmt: skip
            "invoices": list(
                am.Invoice.objects.order_by("number").values_list(
                    "number", "due_on", "paid_on", "amount", "discount_amount"
                )
            ),
            "surveys": sorted(
                am.SurveyResponse.objects.values_list(
                    "account__external_id", "contact__external_id", "kind", "score", "answered_at"
                )
            ),
            "interactions": sorted(
                am.Interaction.objects.values_list(
                    "account__external_id", "author__username", "kind", "occurred_at", "summary"
                )
            ),
        }


@pytest.mark.django_db
def test_same_seed_gives_the_same_data_and_another_seed_differs():
    seed(seed=7)
    first = snapshot()
    assert all(first[table] for table in first), "every table has rows"

    seed(seed=7, replace=True)
    assert snapshot() == first
    # --replace removed the old organization's rows rather than leaving them beside the new.
    assert Organization.objects.filter(slug="demo").count() == 1
    assert am.Account.all_objects.count() == len(first["accounts"])
    assert am.UsageMetric.all_objects.count() == sum(n for *_, n, _ in first["usage"])

    seed(seed=8, replace=True)
    other = snapshot()
    assert other["accounts"] != first["accounts"]
    assert other["usage"] != first["usage"]


@pytest.mark.django_db
def test_refuses_to_overwrite_an_existing_organization_without_replace():
    seed()
    before = snapshot()
    with pytest.raises(CommandError, match="already exists.*--replace"):
        seed(seed=99)
    assert snapshot() == before


@pytest.mark.django_db
def test_if_missing_leaves_an_existing_organization_untouched_and_prints_logins():
    seed()
    before = snapshot()
    out = seed(seed=99, accounts=5, if_missing=True)
    assert snapshot() == before
    assert "left as it is" in out
    assert "csm " in out and demo.DEMO_PASSWORD in out


@pytest.mark.django_db
def test_no_logins_leaves_the_logins_to_the_backfill_that_make_demo_runs_last():
    first = seed(accounts=5, months=1, if_missing=True, no_logins=True)
    again = seed(accounts=5, months=1, if_missing=True, no_logins=True)
    assert "Seeded in" in first and "left as it is" in again
    assert demo.DEMO_PASSWORD not in first + again


@pytest.mark.django_db
def test_if_missing_seeds_when_the_organization_is_absent():
    out = seed(accounts=5, months=1, if_missing=True)
    assert Organization.objects.filter(slug="demo").exists()
    assert "Seeded in" in out


@pytest.mark.django_db
def test_other_slugs_get_their_own_prefixed_logins_beside_the_demo():
    seed(accounts=5, months=1)
    seed(org="acme", accounts=5, months=1)
    acme = Organization.objects.get(slug="acme")
    logins = set(
        Membership.objects.filter(organization=acme).values_list("user__username", flat=True)
    )
    assert "acme-csm" in logins and "csm" not in logins
    with org_context(acme):
        assert am.Account.objects.count() == 5


@pytest.mark.django_db
def test_seeds_with_row_by_row_foreign_key_checks_where_triggers_cannot_be_skipped(monkeypatch):
    monkeypatch.setattr("accounts.demo.seed._pg_skip_triggers", lambda connection: False)
    seed(accounts=8, months=1)
    with org_context(Organization.objects.get(slug="demo")):
        assert am.Account.objects.count() == 8
        assert am.UsageMetric.objects.exists()


@pytest.mark.django_db
def test_foreign_key_check_catches_a_row_that_points_nowhere():
    from django.db import IntegrityError, connection

    seed(accounts=3, months=1)
    org = Organization.objects.get(slug="demo")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            "INSERT INTO accounts_usagemetric (organization_id, account_id, metric, date, value) "
            "VALUES (%s, %s, 'logins', '2026-01-01', 1)",
            [org.pk, 10**12],
        )
        cursor.execute("SET LOCAL session_replication_role = origin")
        with pytest.raises(IntegrityError, match="account"):
            _foreign_keys_check(connection, [am.UsageMetric], org.pk)
        cursor.execute("DELETE FROM accounts_usagemetric WHERE account_id = %s", [10**12])


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"accounts": 0}, "--accounts"),
        ({"accounts": "many"}, "--accounts"),
        ({"months": 0}, "--months"),
        ({"months": 37}, "--months"),
        ({"org": "not a slug!"}, "--org"),
        ({"seed": -1}, "--seed"),
        ({"today": "2026-13-40"}, "--today"),
        ({"replace": True, "if_missing": True}, "--replace"),
    ],
)
def test_bad_arguments_are_refused_naming_the_argument(options, named):
    with pytest.raises(CommandError) as excinfo:
        seed(**options)
    assert named in str(excinfo.value)
    assert "\n" not in str(excinfo.value)


def test_bad_argument_from_the_command_line_exits_non_zero_with_one_line(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "csplatform.settings.local",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
    }
    proc = subprocess.run(
        [sys.executable, "manage.py", "seed_demo", "--accounts", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if "--accounts" in line]
    assert errors == ["CommandError: --accounts must be at least 1 (got 0)"]


@pytest.mark.django_db
def test_seeded_portfolio_hangs_together():
    out = seed(accounts=60, months=3, seed=42)
    today = dt.date.fromisoformat(TODAY)
    org = Organization.objects.get(slug="demo")
    assert (org.name, org.currency) == ("Demo CS", "BRL")

    members = Membership.objects.filter(organization=org).select_related("user")
    roles = {m.role for m in members}
    assert roles == {Role.ADMIN, Role.MANAGER, Role.ANALYST, Role.CSM}
    first_csm = min((m for m in members if m.role == Role.CSM), key=lambda m: m.pk)
    assert first_csm.user.username == "csm"
    assert first_csm.user.check_password(demo.DEMO_PASSWORD)
    for login in ("admin", "manager", "analyst", "csm"):
        assert f"  {login} " in out  # the printed table of logins

    with org_context(org):
        assert 3 <= am.Product.objects.count() <= 6
        personas = list(am.Persona.objects.all())
        assert 4 <= len(personas) <= 6
        for persona in personas:
            validate_persona_rules(persona.rules)
        assert am.ChurnReason.objects.filter(name="Concorrente").exists()  # pt-BR demo

        accounts = am.Account.objects.all()
        assert accounts.count() == 60
        churned = accounts.filter(churned_at__isnull=False)
        assert churned.exists()
        assert not churned.filter(Q(churn_reason=None) | ~Q(lifecycle_stage="churned")).exists()
        assert not churned.filter(mrr__gt=0).exists()
        assert not accounts.filter(churned_at=None).exclude(churn_reason=None).exists()
        assert not am.Subscription.objects.filter(
            account__churned_at__isnull=False, status="active"
        ).exists()
        assert churned.filter(mrr_movements__kind="churn").distinct().count() == churned.count()

        # Account MRR is the sum of its active subscriptions, and the ledger explains each one.
        active = dict(
            am.Subscription.objects.filter(status="active")
            .values_list("account_id")
            .annotate(total=Sum("mrr"))
        )
        for pk, mrr in accounts.values_list("pk", "mrr"):
            assert mrr == active.get(pk, 0)
        ledger = dict(
            am.MrrMovement.objects.values_list("subscription_id").annotate(total=Sum("delta_mrr"))
        )
        for sub in am.Subscription.objects.all():
            assert ledger[sub.pk] == (sub.mrr if sub.status == "active" else 0)
            assert (sub.end_date is None) == (sub.status == "active")
        assert am.Subscription.objects.filter(discount_pct__gt=0).exists()

        # Personas were assigned, including the hand-picked one.
        assert accounts.filter(persona__isnull=False).values("persona").distinct().count() >= 3
        assert accounts.filter(persona__slug="strategic").exists()

        # Signals: some invoices overdue and discounted, some tickets over SLA.
        assert am.Invoice.objects.filter(paid_on=None, due_on__lt=today).exists()
        assert am.Invoice.objects.filter(discount_amount__gt=0).exists()
        assert am.Ticket.objects.filter(sla_breached=True).exists()
        assert am.Ticket.objects.filter(sla_breached=False).exists()
        metrics = set(am.UsageMetric.objects.values_list("metric", flat=True))
        # the four usage metrics, and "product:<code>" for the use of held products
        assert metrics == set(demo.USAGE_METRICS) | {f"product:{p[0]}" for p in demo.PRODUCTS}
        assert not am.UsageMetric.objects.filter(date__gte=F("account__churned_at")).exists()
        assert not am.UsageMetric.objects.filter(date__lt=F("account__customer_since")).exists()
        assert not am.UsageMetric.objects.filter(date__gte=today).exists()
        kinds = set(am.SurveyResponse.objects.values_list("kind", flat=True))
        assert kinds == {"nps", "csat"}
        assert not am.Interaction.objects.exclude(author=F("account__owner")).exists()
        per_account = accounts.annotate(n=Count("contacts")).values_list("n", flat=True)
        assert min(per_account) >= 1 and max(per_account) <= 5
        assert am.Contact.objects.filter(consent_given_at=None).exists()
        assert am.Contact.objects.filter(consent_withdrawn_at__isnull=False).exists()


# -- the generator alone, no database ------------------------------------------------------


def _frames(accounts: int = 500, months: int = 12):
    spec = demo.DemoSpec(accounts=accounts, months=months, seed=3, today=dt.date(2026, 1, 15))
    rng = np.random.default_rng([spec.seed, 0])
    acc = demo.accounts_frame(spec, rng)
    subs, movements = demo.subscriptions_frames(acc, spec, rng)
    contacts = demo.contacts_frame(acc, spec, rng)
    return spec, acc, subs, movements, contacts


def test_churn_history_is_about_a_sixth_of_accounts_over_the_last_year():
    spec, acc, *_ = _frames()
    churned = acc[acc["churn_day"] >= 0]
    assert 0.10 <= len(churned) / len(acc) <= 0.22
    assert churned["churn_day"].between(spec.today_day - 366, spec.today_day - 1).all()
    assert (churned["since"] < churned["churn_day"] - 60).all()


def test_the_ledger_explains_every_subscription():
    _, _, subs, movements, _ = _frames()
    totals = movements.groupby("subscription")["delta_mrr"].sum()
    expected = np.where(subs["status"] == "active", subs["mrr"], 0.0)
    assert np.allclose(totals.reindex(subs.index).to_numpy(), expected)
    assert set(movements["kind"]) == {"new", "expansion", "contraction", "churn"}


def test_churners_signals_deteriorate_before_they_leave():
    spec, acc, subs, movements, contacts = _frames()
    chunks = list(demo.signal_chunks(acc, movements, subs, contacts, spec))
    users = {
        key: np.concatenate([c.usage[key] for c in chunks])
        for key in ("metric", "account", "date", "value")
    }
    active = users["metric"] == "active_users"
    days, account, value = users["date"][active], users["account"][active], users["value"][active]

    def usage_between(i: int, start: int, end: int) -> float:
        mask = (account == i) & (days >= start) & (days < end)
        return float(value[mask].sum())

    ratios = []
    for i, row in acc[acc["fate"] == "churned"].iterrows():
        churn = row["churn_day"]
        if churn - 150 < spec.window_start or row["since"] > churn - 150:
            continue
        before = usage_between(i, churn - 150, churn - 120)
        if before > 0:
            ratios.append(usage_between(i, churn - 30, churn) / before)
    assert len(ratios) >= 10
    assert np.median(ratios) < 0.5

    growth = []
    for i, row in acc[acc["fate"] == "expanding"].iterrows():
        exp = row["expansion_day"]
        if exp - 150 < spec.window_start:
            continue
        before = usage_between(i, exp - 150, exp - 120)
        if before > 0:
            growth.append(usage_between(i, exp - 20, exp) * 1.5 / before)
    assert np.median(growth) > 1.2

    tickets = pd.concat([c.tickets for c in chunks], ignore_index=True)
    invoices = pd.concat([c.invoices for c in chunks], ignore_index=True)
    churned_ids = set(acc.index[acc["churn_day"] >= 0])
    is_churner = tickets["account"].isin(churned_ids)
    assert (
        tickets.loc[is_churner, "sla_breached"].mean()
        > tickets.loc[~is_churner, "sla_breached"].mean() + 0.1
    )
    unpaid = invoices["paid_on"] < 0
    churner_invoice = invoices["account"].isin(churned_ids)
    assert unpaid[churner_invoice].mean() > 2 * unpaid[~churner_invoice].mean()
