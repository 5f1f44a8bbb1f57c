"""Template filters for figures in the organization's locale and currency (orgs.formatting):
{% load formats %} {{ amount|money }} {{ count|number }} {{ rate|percent:1 }}
{{ day|short_date }}."""

from django import template

from orgs import formatting

register = template.Library()


@register.filter
def money(value, decimals=2):
    return formatting.format_money(value, int(decimals))


@register.filter
def number(value, decimals=0):
    return formatting.format_number(value, int(decimals))


@register.filter
def percent(value, decimals=0):
    """`value` in percentage points (12.5 → 12,5%)."""
    return formatting.format_percent(value, int(decimals))


@register.filter
def short_date(value):
    return formatting.format_date(value)


@register.filter
def short_datetime(value):
    return formatting.format_date(value, with_time=True)


@register.filter
def zoned_datetime(value):
    """An instant in the organization's time zone, the zone named (orgs.formatting)."""
    return formatting.format_datetime_zoned(value)


@register.filter
def month_year(value):
    return formatting.format_month(value)


@register.simple_tag
def format_locale():
    """The organization's locale for browsers' Intl APIs ("pt-BR"): charts read it."""
    return formatting.bcp47()


@register.simple_tag
def format_currency():
    return formatting.current()[1]
