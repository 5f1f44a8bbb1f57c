"""How an indicator's raw value reads when it moves between two days ("active 18 → 9 of the
last 30 days"), health's own phrases (health knows nothing of triggers' evidence phrases).

Each phrase is a translatable template with named placeholders: `before` and `after` (the two
raw values, formatted with the measure's digits, or "no data"), `window` (the indicator's
window in days) and `metric` (its usage metric, in words).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from orgs import formatting

from .measures import metric_label


@dataclass(frozen=True)
class MovePhrase:
    text: Any
    digits: int = 0
    suffix: str = ""  # after each value ("%")


MOVE_PHRASES: dict[str, MovePhrase] = {
    "usage_frequency": MovePhrase(
        _("active %(before)s → %(after)s of the last %(window)s days (%(metric)s)")
    ),
    "usage_trend": MovePhrase(
        _("%(metric)s %(before)s → %(after)s in the last %(window)s days vs the 6 months before"),
        suffix="%",
    ),
    "volume_trend": MovePhrase(
        _("%(metric)s %(before)s → %(after)s in the last %(window)s days vs the ones before"),
        suffix="%",
    ),
    "tenure": MovePhrase(_("customer for %(before)s → %(after)s months")),
    "renewals": MovePhrase(_("renewed %(before)s → %(after)s times")),
    "nps_latest": MovePhrase(_("latest NPS answer %(before)s → %(after)s")),
    "csat_avg": MovePhrase(
        _("average CSAT %(before)s → %(after)s over the last %(window)s days"), digits=1
    ),
    "tickets_over_sla": MovePhrase(
        _("tickets over SLA in the last %(window)s days: %(before)s → %(after)s")
    ),
    "overdue_invoices": MovePhrase(_("overdue invoices: %(before)s → %(after)s")),
    "overdue_amount": MovePhrase(_("overdue amount %(before)s → %(after)s"), digits=2),
    "discount_level": MovePhrase(_("average discount %(before)s → %(after)s"), suffix="%"),
    "days_since_interaction": MovePhrase(_("days since the last contact: %(before)s → %(after)s")),
    "product_adoption": MovePhrase(
        _("uses %(before)s → %(after)s of the products held (last %(window)s days)"), suffix="%"
    ),
    "csm_sentiment": MovePhrase(_("CSM sentiment %(before)s → %(after)s of 5")),
}

_FALLBACK = MovePhrase(_("%(before)s → %(after)s"), digits=2)


def _value(value: float | None, phrase: MovePhrase) -> str:
    if value is None:
        return gettext("no data")
    return formatting.format_with_spec(value, f",.{phrase.digits}f") + phrase.suffix


def move_text(
    measure: str, before: float | None, after: float | None, window: int | None, metric: str
) -> str:
    """The raw values behind a move, in words."""
    phrase = MOVE_PHRASES.get(measure, _FALLBACK)
    return str(phrase.text) % {
        "before": _value(before, phrase),
        "after": _value(after, phrase),
        "window": window if window is not None else "",
        "metric": metric_label(metric),
    }
