"""The reports: each module builds one (its tables, figures, charts and definitions) from the
selectors and the maths, and says what lies behind each number (its `drill`). REPORTS is the
registry the pages, the CSV export and `manage.py report` share."""

from __future__ import annotations

from . import effectiveness, portfolio, retention, surveys, trigger_performance
from .base import Param, ParamError, ReportSpec

REPORTS: dict[str, ReportSpec] = {
    module.NAME: ReportSpec(
        name=module.NAME,
        title=module.title,
        summary=module.summary,
        build=module.build,
        drill=module.drill,
        params=getattr(module, "PARAMS", ()),
        tables=module.TABLES,
    )
    for module in (trigger_performance, retention, portfolio, effectiveness, surveys)
}

__all__ = ["REPORTS", "Param", "ParamError", "ReportSpec"]
