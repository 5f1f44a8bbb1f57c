"""Reads of the reports: the rows each report is computed from, as SQL aggregates (FILTER,
window functions) over the layers below, scoped to the organization in context and to the
report's filters. One module per report; `scope` holds what they share."""
