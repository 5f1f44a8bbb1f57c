"""Numbers, money, percentages and dates in an organization's locale and currency: one table
of conventions, pure functions, and the request's locale in a context variable (set by
orgs.middleware.LanguageMiddleware; jobs pass locale and currency explicitly). The language a
page is read in is the reader's; the formats are the organization's, so a figure reads the same
to everyone in it."""

from __future__ import annotations

import contextvars
import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

NBSP = "\u00a0"


@dataclass(frozen=True)
class Conventions:
    bcp47: str  # the tag browsers' Intl APIs take
    decimal: str
    group: str
    date: str  # strftime, zero-padded: 01/12/2026
    datetime: str
    month: str  # a month on an axis, numeric so it needs no translation: 12/2026
    symbol_after: bool  # "1.234,56 €" rather than "R$ 1.234,56"
    symbol_space: bool
    percent_space: bool
    symbols: dict[str, str] = field(default_factory=dict)
    list_separator: str = ","  # CSV for this locale's spreadsheets
    csv_decimal: str = "."


_SYMBOLS = {"BRL": "R$", "USD": "US$", "EUR": "€"}

CONVENTIONS: dict[str, Conventions] = {
    "pt-br": Conventions(
        "pt-BR",
        ",",
        ".",
        "%d/%m/%Y",
        "%d/%m/%Y %H:%M",
        "%m/%Y",
        False,
        True,
        False,
        _SYMBOLS,
        ";",
        ",",
    ),
    "pt": Conventions(
        "pt-PT",
        ",",
        NBSP,
        "%d/%m/%Y",
        "%d/%m/%Y %H:%M",
        "%m/%Y",
        True,
        True,
        False,
        _SYMBOLS,
        ";",
        ",",
    ),
    "en": Conventions(
        "en-US",
        ".",
        ",",
        "%m/%d/%Y",
        "%m/%d/%Y %H:%M",
        "%m/%Y",
        False,
        False,
        False,
        {**_SYMBOLS, "USD": "$"},
        ",",
        ".",
    ),
    "en-gb": Conventions(
        "en-GB",
        ".",
        ",",
        "%d/%m/%Y",
        "%d/%m/%Y %H:%M",
        "%m/%Y",
        False,
        False,
        False,
        _SYMBOLS,
        ",",
        ".",
    ),
    "de": Conventions(
        "de-DE",
        ",",
        ".",
        "%d.%m.%Y",
        "%d.%m.%Y %H:%M",
        "%m.%Y",
        True,
        True,
        True,
        {**_SYMBOLS, "USD": "$"},
        ";",
        ",",
    ),
    "es": Conventions(
        "es-ES",
        ",",
        ".",
        "%d/%m/%Y",
        "%d/%m/%Y %H:%M",
        "%m/%Y",
        True,
        True,
        True,
        {**_SYMBOLS, "USD": "US$"},
        ";",
        ",",
    ),
    "fr": Conventions(
        "fr-FR",
        ",",
        "\u202f",
        "%d/%m/%Y",
        "%d/%m/%Y %H:%M",
        "%m/%Y",
        True,
        True,
        True,
        {**_SYMBOLS, "USD": "$US"},
        ";",
        ",",
    ),
}
DEFAULT_LOCALE = "en"


def conventions(locale: str | None) -> Conventions:
    """The conventions of `locale` ("pt-br", "pt_BR", "en-US"...): the exact one, else its
    language's, else English."""
    code = (locale or "").strip().lower().replace("_", "-")
    return (
        CONVENTIONS.get(code) or CONVENTIONS.get(code.split("-")[0]) or CONVENTIONS[DEFAULT_LOCALE]
    )


_current: contextvars.ContextVar[tuple[str, str]] = contextvars.ContextVar(
    "csplatform_formats", default=(DEFAULT_LOCALE, "")
)


def activate(*, locale: str, currency: str) -> contextvars.Token:
    return _current.set((locale, currency))


def deactivate(token: contextvars.Token) -> None:
    _current.reset(token)


def current() -> tuple[str, str]:
    """The (locale, currency) in force: the request's organization's, or the job's."""
    return _current.get()


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None
    return number if number.is_finite() else None


def _digits(number: Decimal, decimals: int, conv: Conventions, group: bool = True) -> str:
    quantum = Decimal(1).scaleb(-decimals)
    rounded = abs(number).quantize(quantum, rounding=ROUND_HALF_UP)
    whole, _, fraction = f"{rounded:f}".partition(".")
    if group:
        parts = []
        while len(whole) > 3:
            parts.insert(0, whole[-3:])
            whole = whole[:-3]
        parts.insert(0, whole)
        whole = conv.group.join(parts)
    return whole + (conv.decimal + fraction if decimals > 0 else "")


def _sign(number: Decimal, decimals: int) -> str:
    quantum = Decimal(1).scaleb(-decimals)
    return "-" if number.quantize(quantum, rounding=ROUND_HALF_UP) < 0 else ""


def format_number(value, decimals: int = 0, *, locale: str | None = None) -> str:
    """1234.5 → "1.234,5" (pt-BR, decimals=1), "1,234.5" (en); "" for no value."""
    number = _decimal(value)
    if number is None:
        return ""
    conv = conventions(locale if locale is not None else current()[0])
    return _sign(number, decimals) + _digits(number, decimals, conv)


def format_money(
    value, decimals: int = 2, *, currency: str | None = None, locale: str | None = None
) -> str:
    """1234.56 BRL → "R$ 1.234,56" (pt-BR), "R$1,234.56" (en); 10 EUR → "10,00 €" (de).
    The space between symbol and number does not break (U+00A0)."""
    number = _decimal(value)
    if number is None:
        return ""
    in_force = current()
    conv = conventions(locale if locale is not None else in_force[0])
    code = (currency if currency is not None else in_force[1]) or ""
    symbol = conv.symbols.get(code, code)
    digits = _digits(number, decimals, conv)
    if not symbol:
        return _sign(number, decimals) + digits
    space = NBSP if conv.symbol_space else ""
    body = f"{digits}{space}{symbol}" if conv.symbol_after else f"{symbol}{space}{digits}"
    return _sign(number, decimals) + body


def format_percent(value, decimals: int = 0, *, locale: str | None = None) -> str:
    """A value in percentage points: 12.5 → "12,5%" (pt-BR), "12.5%" (en), "12,5 %" (de)."""
    number = _decimal(value)
    if number is None:
        return ""
    conv = conventions(locale if locale is not None else current()[0])
    space = NBSP if conv.percent_space else ""
    return f"{_sign(number, decimals)}{_digits(number, decimals, conv)}{space}%"


def format_date(value, *, locale: str | None = None, with_time: bool = False) -> str:
    """A date: 2026-12-01 → "01/12/2026" (pt-BR), "12/01/2026" (en), "01.12.2026" (de).
    An aware datetime is shown in the time zone in force (the organization's)."""
    if value is None or value == "":
        return ""
    conv = conventions(locale if locale is not None else current()[0])
    if isinstance(value, dt.datetime):
        from django.utils import timezone

        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.strftime(conv.datetime if with_time else conv.date)
    if isinstance(value, dt.date):
        return value.strftime(conv.date)
    return str(value)


def zone_name(zone=None) -> str:
    """The time zone as a reader names it: "America/Sao Paulo", "UTC" (the one in force, the
    organization's, when none is given)."""
    from django.utils import timezone

    key = str(zone if zone is not None else timezone.get_current_timezone())
    return key.replace("_", " ")


def format_datetime_zoned(value, *, locale: str | None = None) -> str:
    """An instant in the time zone in force (the organization's), with the zone named:
    "01/12/2026 14:05 America/Sao Paulo" (pt-BR). Takes an aware datetime or its ISO text (as
    the nights' records keep it); a naive one is taken as already in that zone."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if not isinstance(value, dt.datetime):
        return format_date(value, locale=locale)
    from django.utils import timezone

    if timezone.is_aware(value):
        value = timezone.localtime(value)
    conv = conventions(locale if locale is not None else current()[0])
    return f"{value.strftime(conv.datetime)} {zone_name()}"


def format_month(value, *, locale: str | None = None) -> str:
    if value is None or value == "":
        return ""
    return value.strftime(conventions(locale if locale is not None else current()[0]).month)


def csv_number(value, *, decimal_comma: bool) -> str:
    """A number for a CSV cell: no grouping; "1234,5" for spreadsheets in a decimal-comma
    locale, "1234.5" otherwise; "" for no value."""
    if value is None or value == "":
        return ""
    text = str(value)
    return text.replace(".", ",") if decimal_comma else text


def bcp47(locale: str | None = None) -> str:
    """The locale as browsers' Intl APIs take it ("pt-BR")."""
    return conventions(locale if locale is not None else current()[0]).bcp47


def format_with_spec(value, spec: str, *, locale: str | None = None) -> str:
    """A number through a str.format spec ("+.0f", ",.2f", ".1f") as the phrases that carry
    such specs write it, in the locale in force: 12.5 with ".1f" → "12,5" (pt-BR), 1234.5
    with ",.2f" → "1.234,50". The spec's "," asks for the locale's grouping."""
    text = format(value, spec)
    conv = conventions(locale if locale is not None else current()[0])
    return text.replace(",", "\0").replace(".", conv.decimal).replace("\0", conv.group)


_FIGURE = re.compile(r"-?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|-?[0-9]+(?:\.[0-9]+)?")
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def localize_figure(value, *, locale: str | None = None):
    """A value kept in data the neutral way ("1,234", "12.5", 30, "2026-12-01": how evidence
    stores the numbers and days of its sentences) written in the locale in force when it is
    read: "1.234", "12,5", "01/12/2026" in pt-BR; the decimals are kept as stored. Anything
    else (words, labels) is returned unchanged."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return format_number(value, 0, locale=locale)
    if isinstance(value, float):
        value = repr(value)
    if not isinstance(value, str):
        return value
    if _FIGURE.fullmatch(value):
        fraction = value.partition(".")[2]
        return format_number(value.replace(",", ""), len(fraction), locale=locale)
    if _ISO_DAY.fullmatch(value):
        try:
            return format_date(dt.date.fromisoformat(value), locale=locale)
        except ValueError:
            return value
    return value
