"""Set-based reads for every layer: a queryset's rows straight into a pandas DataFrame.

Iterating a `values_list` queryset hands the rows over a hundred at a time and passes every
row through Django's converters, which at 100,000 rows costs as much as the query itself. On
PostgreSQL `values_frame` runs the queryset's own SQL (its WHERE clause, the organization's
included: it is compiled in the caller's tenancy context) on a plain cursor and fetches the rows
at once; the values are psycopg2's (a numeric is a Decimal, a date a date, a sum of integers a
Decimal where Django would give an int), so callers cast the columns they compute on, as they do
anyway for pandas. Elsewhere (SQLite, the embedded demo, stores dates and decimals as text) the
queryset is iterated so its converters still run.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet


def values_frame(queryset: QuerySet, columns: Sequence[str]) -> pd.DataFrame:
    """The rows of `queryset` (a `values_list` of len(columns) expressions) as a DataFrame
    with `columns`, in the queryset's order (add `.order_by()` where order does not matter:
    the model's default ordering costs a sort or an index walk)."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return pd.DataFrame(list(queryset), columns=list(columns))
    try:
        sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
    except EmptyResultSet:  # a filter that can match nothing (`pk__in=[]`): no query at all
        return pd.DataFrame([], columns=list(columns))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return pd.DataFrame(rows, columns=list(columns))
