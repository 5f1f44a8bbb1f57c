"""demo_backfill, the last step of `make demo` before the server: a year of history in one quiet
command that shows its progress and ends with the logins; the simulated CSM work it records
lands (decisions, steps, outcomes), set-based, and only in the demo's own organization."""

from __future__ import annotations

import io
import logging
import math
import re

import pytest
from django.core.management import call_command

from accounts.demo import DEMO_PASSWORD, demo_logins_lines
from accounts.demo.words import demo_words
from accounts.models import Account
from orgs.models import Organization
from orgs.tenancy import org_context
from playbooks.models import Playbook, PlaybookStatus, PlaybookStep, StepStatus
from tests import factories as f
from triggers.demo.simulation import DISMISS_REASONS, _rows_update
from triggers.management.commands.demo_backfill import PROGRESS_EVERY, backfill_days
from triggers.models import Alert, AlertStatus

pytestmark = pytest.mark.django_db

SLUG = "demo-test"
PROGRESS = re.compile(r"^  backfill: day (\d+)/(\d+) \((\d{4}-\d\d-\d\d)\) \d+ s$")


def seed(slug: str = SLUG) -> Organization:
    out = io.StringIO()
    call_command(
        "seed_demo", org=slug, accounts="60", months="3", seed="3", no_logins=True, stdout=out
    )
    assert DEMO_PASSWORD not in out.getvalue(), "--no-logins printed the logins"
    return Organization.objects.get(slug=slug)


def backfill(*args: str, stdout=None, **options) -> str:
    out = stdout or io.StringIO()
    call_command("demo_backfill", "--org", SLUG, *args, stdout=out, **options)
    return out.getvalue()


def test_the_backfill_is_quiet_shows_progress_and_ends_with_the_logins(caplog):
    org = seed()
    caplog.set_level(logging.INFO)
    caplog.clear()
    url = "http://127.0.0.1:8123/"

    text = backfill("--days", "60", "--daily", "10", "--url", url)

    # nothing at INFO from the nightly chain (it logs a few lines per day otherwise)
    assert [r.getMessage() for r in caplog.records if r.levelno <= logging.INFO] == []
    assert logging.root.manager.disable == logging.NOTSET, "logging left disabled"
    lines = text.splitlines()
    logins = demo_logins_lines(org, url=url)
    assert lines[-len(logins) :] == logins
    assert f"The demo is served at {url}" in logins
    assert not [line for line in lines[: -len(logins)] if DEMO_PASSWORD in line]
    # one progress line every PROGRESS_EVERY days and on the last (stdout is not a terminal)
    progress = [PROGRESS.match(line) for line in lines if PROGRESS.match(line)]
    total = len(backfill_days(org_today_of(org), 60, 10))
    assert len(progress) == math.ceil(total / PROGRESS_EVERY)
    assert [int(m[1]) for m in progress][-1] == int(progress[-1][2]) == total

    # a second run does nothing, and still ends with the logins
    again = backfill("--url", url).splitlines()
    assert "history already backfilled" in again[0]
    assert again[-len(logins) :] == logins


def test_verbosity_2_keeps_the_chains_info_lines(caplog):
    seed()
    caplog.set_level(logging.INFO)
    backfill("--days", "3", "--daily", "1", verbosity=2)
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any(m.startswith("health run planned") for m in messages), messages


def test_on_a_terminal_the_progress_line_is_redrawn_in_place():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    org = seed()
    out = Terminal()
    text = backfill("--days", "14", "--daily", "3", stdout=out)

    total = len(backfill_days(org_today_of(org), 14, 3))
    (line,) = [line for line in text.split("\n") if "backfill: day" in line]
    drawn = line.split("\r")[1:]
    assert [PROGRESS.match(d)[1] for d in drawn] == [str(i) for i in range(1, total + 1)]


def test_the_simulated_work_is_recorded():
    org = seed()
    backfill("--days", "90", "--daily", "20")

    with org_context(org):
        confirmed = list(
            Alert.objects.filter(status=AlertStatus.CONFIRMED).select_related("firing")
        )
        dismissed = list(Alert.objects.filter(status=AlertStatus.DISMISSED))
        done = list(PlaybookStep.objects.filter(status=StepStatus.DONE))
        closed = list(Playbook.objects.filter(status=PlaybookStatus.COMPLETED))
        assert confirmed and done and closed, (len(confirmed), len(done), len(closed))
        for alert in confirmed:
            assert alert.playbook_id and alert.firing.playbook_id == alert.playbook_id
            assert alert.decided_at is not None and alert.decided_by_id == alert.owner_id
        # dismissed by a CSM with one of the demo's reasons, or closed by the account's churn
        by_csm = [a for a in dismissed if not a.dismiss_reason.startswith("account churned")]
        assert by_csm
        # in the demo's language: a Brazilian demo's reasons are in Portuguese
        reasons = {demo_words(org.locale)(r) for r in DISMISS_REASONS}
        assert org.locale == "pt-br" and "Queda sazonal, o cliente confirmou" in reasons
        for alert in by_csm:
            assert alert.dismiss_reason in reasons and alert.decided_at is not None
        for step in done:
            assert step.completed_at is not None and step.completed_by_id == step.assignee_id
        for playbook in closed:
            assert playbook.outcome and playbook.is_demo
            assert playbook.closed_at is not None and playbook.closed_by_id == playbook.owner_id
        # simulated on the day it happened (15:00 that day), not on the backfill's wall clock
        assert {p.closed_at.time().hour for p in closed} == {15}


def test_rows_update_writes_only_the_organizations_own_rows(org, other_org):
    ours = f.AccountFactory(organization=org, name="Ours")
    theirs = f.AccountFactory(organization=other_org, name="Theirs")
    ours.name = theirs.name = "Renamed"

    _rows_update(org, Account, [ours, theirs], ["name"])

    names = dict(Account.all_objects.filter(pk__in=[ours.pk, theirs.pk]).values_list("pk", "name"))
    assert names == {ours.pk: "Renamed", theirs.pk: "Theirs"}


def org_today_of(org):
    from health.selectors import org_today

    return org_today(org)


def test_expansion_offers_convert_differently_per_product():
    """The simulated outcomes of 2,000 expansion playbooks per offer: 30% find no
    opportunity; of the rest, Analytics wins 62%, Marketplace 4%. Won / playbooks is then
    about 0.7 × 62% = 43% and 0.7 × 4% = 3%: a trigger report has triggers that convert and
    one that hardly does (draws are seeded; the bounds leave room for the noise)."""
    import datetime as dt

    import numpy as np

    from triggers.demo.simulation import _simulate_outcome

    rng = np.random.default_rng(3)
    won = {}
    for product_id, code in ((1, "analytics"), (2, "marketplace")):
        outcomes = []
        for _ in range(2000):
            playbook = Playbook(kind="expansion", origin_label=f"offer {code}")
            playbook.account = Account(mrr=1000)
            _simulate_outcome(
                playbook,
                dt.date(2024, 6, 1),
                rng,
                {f"offer {code}": product_id},
                {1: "analytics", 2: "marketplace"},
            )
            outcomes.append(playbook.outcome)
        won[code] = outcomes.count("won") / len(outcomes)
        assert 0.25 < outcomes.count("no_opportunity") / len(outcomes) < 0.35
    assert 0.38 < won["analytics"] < 0.48
    assert won["marketplace"] < 0.06


def test_the_brazilian_demo_names_its_own_things_in_portuguese_and_demo_en_in_english():
    """The demo's data is written in its organization's language: the Brazilian demo's
    templates, steps, triggers, products, churn reasons, personas and health models are in
    Portuguese; the English demo's, in English (the same catalogue, the same keys)."""
    from accounts.models import ChurnReason, Persona, Product
    from health.demo import health_models_create_defaults
    from health.models import HealthModel
    from playbooks.models import PlaybookTemplate, TemplateStep
    from triggers.demo import demo_configuration_create
    from triggers.models import Trigger

    pt = seed()
    call_command(
        "seed_demo", org="demo-en-test", locale="en", accounts="30", months="3", seed="3",
        no_logins=True, stdout=io.StringIO(),
    )  # fmt: skip
    en = Organization.objects.get(slug="demo-en-test")

    def names(org):
        demo_configuration_create(org=org)
        health_models_create_defaults(org=org)
        with org_context(org):
            return {
                "templates": set(PlaybookTemplate.objects.values_list("name", flat=True)),
                "steps": set(TemplateStep.objects.values_list("title", flat=True)),
                "triggers": set(Trigger.objects.values_list("name", flat=True)),
                "products": set(Product.objects.values_list("name", flat=True)),
                "reasons": set(ChurnReason.objects.values_list("name", flat=True)),
                "personas": set(Persona.objects.values_list("name", flat=True)),
                "models": set(HealthModel.objects.values_list("name", flat=True)),
                "industries": set(Account.objects.values_list("industry", flat=True)),
                "healthcare_rule": Persona.objects.get(slug="healthcare").rules,
            }

    ours, theirs = names(pt), names(en)
    assert {"Retenção: salvar a conta", "Expansão: oferecer Pagamentos"} <= ours["templates"]
    assert "Confirmar o risco com os dados" in ours["steps"]
    assert {"Revisão mensal de retenção", "Mid-market: oferecer Pagamentos"} <= ours["triggers"]
    assert "Plataforma principal" in ours["products"] and "Concorrente" in ours["reasons"]
    assert "Logos estratégicos" in ours["personas"] and "Saúde padrão" in ours["models"]
    # the healthcare persona still finds its accounts: its rule names the industry in Portuguese
    assert "Saúde" in ours["industries"] and "Healthcare" not in ours["industries"]
    assert ours.pop("healthcare_rule") == {
        "all": [{"field": "industry", "op": "=", "value": "Saúde"}]
    }
    english = {"Retention: save the account", "Monthly retention review", "Core platform"}
    assert not english & set().union(*ours.values())
    assert {"Retention: save the account", "Expansion: offer Payments"} <= theirs["templates"]
    assert {"Monthly retention review", "Mid-market: offer Payments"} <= theirs["triggers"]
    assert "Competitor" in theirs["reasons"] and "Default health" in theirs["models"]
    assert "Healthcare" in theirs["industries"]
