"""Drill-downs: the accounts, playbooks or firings behind one number of a report. A report's
`drill` function (reports/definitions) says which rows, as a queryset; this module gives each
kind of row its query shape and columns, for the page (paged) and the CSV export (all)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from .tables import DATE, MONEY, SCORE, TEXT, Column, Row, Table

FIRINGS, PLAYBOOKS, ACCOUNTS = "firings", "playbooks", "accounts"
PAGE_SIZE = 50


class DrillError(ValueError):
    """A drill-down the report does not have, or a row key that is not one."""


@dataclass
class Drill:
    kind: str
    title: str
    queryset: QuerySet
    note: str = ""


def _user(user) -> str:
    return (user.get_full_name() or user.username) if user is not None else ""


def shaped(drill: Drill) -> QuerySet:
    """The rows with what their line shows, in a stable order."""
    qs = drill.queryset
    if drill.kind == FIRINGS:
        return qs.select_related("trigger", "account", "playbook", "alert").order_by(
            "-fired_on", "-pk"
        )
    if drill.kind == PLAYBOOKS:
        return qs.select_related("account", "owner").order_by("-opened_on", "-pk")
    return qs.select_related("persona", "owner", "churn_reason").order_by("name", "pk")


def columns(kind: str) -> list[Column]:
    if kind == FIRINGS:
        return [
            Column("fired_on", _("Fired on"), DATE),
            Column("account", _("Account"), TEXT),
            Column("trigger", _("Trigger"), TEXT),
            Column("alert", _("Alert"), TEXT),
            Column("playbook", _("Playbook"), TEXT),
            Column("outcome", _("Outcome"), TEXT),
        ]
    if kind == PLAYBOOKS:
        return [
            Column("account", _("Account"), TEXT),
            Column("playbook", _("Playbook"), TEXT),
            Column("kind", _("Kind"), TEXT),
            Column("owner", _("Owner"), TEXT),
            Column("opened_on", _("Opened"), DATE),
            Column("closed_on", _("Closed"), DATE),
            Column("outcome", _("Outcome"), TEXT),
            Column("mrr_won", _("MRR won"), MONEY),
        ]
    return [
        Column("account", _("Account"), TEXT),
        Column("persona", _("Persona"), TEXT),
        Column("owner", _("Owner"), TEXT),
        Column("tier", _("Tier"), TEXT),
        Column("mrr", _("MRR"), MONEY),
        Column("health", _("Health"), SCORE),
        Column("churned_at", _("Churned on"), DATE),
        Column("churn_reason", _("Churn reason"), TEXT),
    ]


def row(kind: str, obj) -> Row:
    """One line of the list, with the links a person follows from it."""
    if kind == FIRINGS:
        playbook = obj.playbook
        alert = getattr(obj, "alert", None)  # a firing without an alert has none
        values = {
            "fired_on": obj.fired_on,
            "account": obj.account.name,
            "trigger": f"{obj.trigger.name} · v{obj.trigger_version}",
            "alert": alert.get_status_display() if alert else "",
            "playbook": playbook.title if playbook else "",
            "outcome": playbook.get_outcome_display() if playbook and playbook.outcome else "",
        }
        links = {"account": reverse("accounts:detail", args=[obj.account_id])}
        if playbook:
            links["playbook"] = reverse("playbooks:detail", args=[playbook.pk])
        return Row(values=values, keys=links)
    if kind == PLAYBOOKS:
        values = {
            "account": obj.account.name,
            "playbook": obj.title,
            "kind": obj.get_kind_display(),
            "owner": _user(obj.owner),
            "opened_on": obj.opened_on,
            "closed_on": obj.closed_at.date() if obj.closed_at else None,
            "outcome": obj.get_outcome_display() if obj.outcome else obj.get_status_display(),
            "mrr_won": obj.mrr_won,
        }
        links = {
            "account": reverse("accounts:detail", args=[obj.account_id]),
            "playbook": reverse("playbooks:detail", args=[obj.pk]),
        }
        return Row(values=values, keys=links)
    values = {
        "account": obj.name,
        "persona": obj.persona.name if obj.persona else "",
        "owner": _user(obj.owner),
        "tier": obj.get_tier_display(),
        "mrr": obj.mrr,
        "health": obj.health_score,
        "churned_at": obj.churned_at,
        "churn_reason": obj.churn_reason.name if obj.churn_reason else "",
    }
    return Row(values=values, keys={"account": reverse("accounts:detail", args=[obj.pk])})


def page_table(drill: Drill, *, page: int) -> tuple[Table, int, int]:
    """One page of the list as a table, the page number shown and how many rows in all."""
    qs = shaped(drill)
    total = qs.count()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    objs = list(qs[(page - 1) * PAGE_SIZE : page * PAGE_SIZE])
    table = Table(
        key="drill",
        title=drill.title,
        columns=columns(drill.kind),
        rows=[row(drill.kind, o) for o in objs],
        empty=_("Nothing behind this number."),
    )
    return table, page, total


def all_rows(drill: Drill) -> Iterator[Row]:
    """Every row, read in chunks (for the CSV export)."""
    for obj in shaped(drill).iterator(chunk_size=2000):
        yield row(drill.kind, obj)


def firings(qs: QuerySet, title: str, note: str = "") -> Drill:
    return Drill(FIRINGS, title, qs, note)


def playbooks(qs: QuerySet, title: str, note: str = "") -> Drill:
    return Drill(PLAYBOOKS, title, qs, note)


def accounts(qs: QuerySet, title: str, note: str = "") -> Drill:
    return Drill(ACCOUNTS, title, qs, note)
