"""The constraints in the way of distributing the database by organization (orgs/distribution.py)
and their list in docs/scaling.md: the list is the models' own, so a new unique constraint or
foreign key without the organization shows up here (add its row to the doc, or include
organization_id), and one closed by a migration must leave the doc."""

from __future__ import annotations

import re
from pathlib import Path

from django.db import models
from django.test.utils import isolate_apps

from accounts.models import Account
from health.models import CsmJudgement, HealthModel, HealthRun, HealthScore
from orgs.distribution import distribution_gaps, tenant_models
from orgs.models import Membership, Organization
from orgs.tenancy import TenantModel

DOC = Path(__file__).resolve().parents[2] / "docs" / "scaling.md"
ROW = re.compile(r"^\| `(?P<table>[a-z0-9_]+)` \| (?P<kind>[a-z -]+) \| `(?P<name>[^`]+)` \|")


def _doc_rows() -> set[tuple[str, str, str]]:
    rows = set()
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            rows.add((match["table"], match["kind"], match["name"]))
    return rows


def test_the_doc_lists_every_gap_the_models_have_and_no_other():
    """Every gap distribution_gaps finds has its row in docs/scaling.md, and every row there is
    a gap the models still have. The failure prints the rows to add or remove."""
    found = {gap.table + "|" + gap.kind + "|" + gap.name: gap for gap in distribution_gaps()}
    listed = {"|".join(row) for row in _doc_rows()}
    missing = [found[key].line for key in sorted(found.keys() - listed)]
    stale = sorted(listed - found.keys())
    assert not missing, "docs/scaling.md lacks these gaps; add the rows:\n" + "\n".join(missing)
    assert not stale, "docs/scaling.md lists gaps the models no longer have:\n" + "\n".join(stale)
    # the list is not empty by accident: today's schema has dozens (see the doc's count)
    assert len(found) > 50


def test_a_unique_constraint_without_the_organization_is_a_gap_and_one_with_it_is_not():
    """HealthScore: unique (account_id, date) leaves the organization out, so it is a gap
    whose fix is unique (organization_id, account_id, date). HealthRun: unique
    (organization_id, date) includes it: no unique gap. HealthModel: persona is a one-to-one
    field (unique persona_id): a gap; its partial unique on the organization alone is not."""
    gaps = distribution_gaps([HealthScore, HealthRun, HealthModel])
    uniques = {(g.table, g.name): g for g in gaps if g.kind == "unique"}
    assert set(uniques) == {
        ("health_healthscore", "healthscore_unique_day"),
        ("health_healthmodel", "persona_id unique"),
    }
    day = uniques[("health_healthscore", "healthscore_unique_day")]
    assert day.columns == ("account_id", "date")
    assert day.fix == "unique (organization_id, account_id, date) in its place"


def test_foreign_keys_between_tenant_tables_are_gaps_and_to_reference_tables_are_not():
    """HealthScore points at accounts_account, health_scorelayout and health_healthmodel
    (tenant tables: gaps, to
    be (organization_id, x_id) -> (organization_id, id)) and at orgs_organization (a reference
    table: fine). CsmJudgement points at accounts_account (a gap) and at orgs_user through
    set_by (a reference table: fine). Membership is no tenant table and points only at users
    and organizations (reference tables): no gap."""
    gaps = distribution_gaps([HealthScore, CsmJudgement, Membership, Organization])
    keys = sorted((g.table, g.name) for g in gaps if g.kind == "foreign key")
    assert keys == [
        ("health_csmjudgement", "account_id"),
        ("health_healthscore", "account_id"),
        ("health_healthscore", "layout_id"),
        ("health_healthscore", "model_id"),
    ]
    account = next(g for g in gaps if g.table == "health_healthscore" and g.name == "account_id")
    assert account.fix == (
        "foreign key (organization_id, account_id) references accounts_account"
        " (organization_id, id)"
    )
    assert not [g for g in gaps if g.table in ("orgs_membership", "orgs_organization")]


@isolate_apps("orgs")
def test_a_reference_table_pointing_at_a_tenant_table_and_a_plain_many_to_many_are_gaps():
    """A model that is no tenant table (it would be replicated to every node) with a foreign
    key to accounts_account cannot exist on shards; a tenant model's auto-created
    many-to-many table has no organization_id at all. Two made-up models, one gap each."""

    class Lookup(models.Model):  # noqa: DJ008 (a made-up model, never shown)
        account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")

        class Meta:
            app_label = "orgs"
            db_table = "orgs_lookup"

    class Tagged(TenantModel):
        accounts = models.ManyToManyField(Account, related_name="+")

        class Meta:
            app_label = "orgs"
            db_table = "orgs_tagged"

    gaps = distribution_gaps([Lookup, Tagged])
    assert [(g.table, g.kind, g.name) for g in gaps] == [
        ("orgs_lookup", "reference to tenant", "account_id"),
        ("orgs_tagged_accounts", "many-to-many", "accounts"),
    ]


def test_every_tenant_model_is_read():
    """The walk covers the tenant models of every app (a few named ones, and none that is not
    a TenantModel)."""
    names = {m._meta.label for m in tenant_models()}
    assert {"accounts.Account", "health.HealthScore", "triggers.Firing"} <= names
    assert "orgs.Organization" not in names and "orgs.Membership" not in names
