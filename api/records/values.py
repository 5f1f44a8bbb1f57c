"""Reading one value of a record: the dialects values come in (typed JSON, Brazilian or ISO
spreadsheet text) and one reader per type, each returning the value or raising Invalid with
the message the API and the CSV import both show. Pure."""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from .columns import Column


EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2200, 12, 31)


@dataclass(frozen=True)
class Dialect:
    """How text values are written: the decimal separator ("," or ".") and the order of a
    date written with slashes, dashes or dots ("dmy" or "mdy"). `typed`: values come from
    JSON (numbers are numbers; text dates must be ISO)."""

    decimal: str = "."
    date_order: str = "dmy"
    typed: bool = False


JSON = Dialect(decimal=".", date_order="iso", typed=True)
BRAZIL = Dialect(decimal=",", date_order="dmy")


class Invalid(ValueError):
    """A value refused; the message says why, in words for the person who wrote it."""


def fold(text: str) -> str:
    """Lowercase without accents or punctuation: "Data de Início" -> "data de inicio"."""
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


# -- reading one value -----------------------------------------------------------------------

_FORMULA = re.compile(r"^\s*(=|[+\-@]\s*[A-Za-z_][A-Za-z0-9_.]*\s*\()")
_FORMULA_STARTS = frozenset("=+-@")


def _text_of(raw) -> str:
    if raw.__class__ is str:
        text = raw.strip()
    elif isinstance(raw, bool) or not isinstance(raw, str | int):
        raise Invalid(_("Expected text."))
    else:
        text = str(raw).strip()
    if text[:1] in _FORMULA_STARTS and _FORMULA.match(text):
        raise Invalid(
            _("This cell holds a formula (%(formula)s), not a value: save the sheet as values.")
            % {"formula": text[:30]}
        )
    return text


def read_text(raw, col: Column, dialect: Dialect):
    text = _text_of(raw)
    if col.max_length and len(text) > col.max_length:
        raise Invalid(
            _("At most %(max)s characters (this has %(n)s).")
            % {"max": col.max_length, "n": len(text)}
        )
    return text


_SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")


def read_slug(raw, col: Column, dialect: Dialect):
    """A code such as a product's: letters, digits, - and _ (the model's SlugField)."""
    text = read_text(raw, col, dialect)
    if not _SLUG.match(text):
        raise Invalid(
            _("%(value)s is not a code: use letters, digits, - and _ only.") % {"value": text[:60]}
        )
    return text


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def read_email(raw, col: Column, dialect: Dialect):
    text = read_text(raw, col, dialect).lower()
    if text and not _EMAIL.match(text):
        raise Invalid(_("%(value)s is not an email address.") % {"value": text[:60]})
    return text


_CURRENCY = re.compile(r"^(R\$|US\$|\$|€|BRL|USD|EUR)\s*", re.I)


def _number_text(raw, dialect: Dialect) -> str:
    """The number in `raw` written the Python way ("-1234.56"), or Invalid."""
    if isinstance(raw, bool):
        raise Invalid(_("Expected a number."))
    if isinstance(raw, int | float):
        if isinstance(raw, float) and not math.isfinite(raw):
            raise Invalid(_("Expected a finite number."))
        return repr(raw) if isinstance(raw, float) else str(raw)
    if not isinstance(raw, str):
        raise Invalid(_("Expected a number."))
    text = raw.strip().replace("\u00a0", " ")
    if _FORMULA.match(text) and not re.match(r"^\s*[+\-]?\s*[\d(]", text):
        raise Invalid(
            _("This cell holds a formula (%(formula)s), not a value: save the sheet as values.")
            % {"formula": text[:30]}
        )
    if text.startswith("="):
        raise Invalid(
            _("This cell holds a formula (%(formula)s), not a value: save the sheet as values.")
            % {"formula": text[:30]}
        )
    negative = False
    if text.startswith("(") and text.endswith(")"):  # accounting negatives: (1.234,56)
        negative, text = True, text[1:-1].strip()
    if text.startswith("-"):
        negative, text = not negative, text[1:].strip()
    elif text.startswith("+"):
        text = text[1:].strip()
    text = _CURRENCY.sub("", text)
    if text.startswith("-"):  # R$ -10,00
        negative, text = not negative, text[1:].strip()
    text = text.removesuffix("%").strip().replace(" ", "")
    if dialect.typed or dialect.decimal == ".":
        thousands, point = ",", "."
    else:
        thousands, point = ".", ","
    grouped = rf"\d{{1,3}}(\{thousands}\d{{3}})+"
    if not re.fullmatch(rf"(\d+|{grouped})(\{point}\d+)?|\{point}\d+", text):
        raise Invalid(_("%(value)s is not a number.") % {"value": raw.strip()[:30]})
    text = text.replace(thousands, "").replace(point, ".")
    return ("-" if negative else "") + text


def read_decimal(raw, col: Column, dialect: Dialect):
    try:
        value = Decimal(_number_text(raw, dialect))
    except InvalidOperation:
        raise Invalid(_("%(value)s is not a number.") % {"value": str(raw)[:30]}) from None
    try:
        value = value.quantize(Decimal(1).scaleb(-col.places), rounding=ROUND_HALF_UP)
    except InvalidOperation:  # more digits than a decimal holds (1e300): out of any bound
        _check_bounds(value, col)
        raise Invalid(_("%(value)s is not a number.") % {"value": str(raw)[:30]}) from None
    _check_bounds(value, col)
    return value


def read_float(raw, col: Column, dialect: Dialect):
    if raw.__class__ is int or raw.__class__ is float:  # JSON's numbers: no text to read
        try:
            value = float(raw)
        except OverflowError:  # an integer of hundreds of digits: beyond any float
            raise Invalid(_("Expected a finite number.")) from None
        if not math.isfinite(value):
            raise Invalid(_("Expected a finite number."))
        _check_bounds(value, col)
        return value
    value = float(_number_text(raw, dialect))
    if not math.isfinite(value):
        raise Invalid(_("Expected a finite number."))
    _check_bounds(value, col)
    return value


def read_int(raw, col: Column, dialect: Dialect):
    text = _number_text(raw, dialect)
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise Invalid(_("%(value)s is not a number.") % {"value": str(raw)[:30]}) from None
    if number != number.to_integral_value():
        raise Invalid(_("%(value)s is not a whole number.") % {"value": str(raw).strip()[:30]})
    value = int(number)
    _check_bounds(value, col)
    return value


def _check_bounds(value, col: Column) -> None:
    if col.minimum is not None and value < col.minimum:
        raise Invalid(
            _("Must be at least %(min)s (got %(value)s).") % {"min": col.minimum, "value": value}
        )
    if col.maximum is not None and value > col.maximum:
        raise Invalid(
            _("Must be at most %(max)s (got %(value)s).") % {"max": col.maximum, "value": value}
        )


_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_SHORT_DATE = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2,4})$")
_MIDNIGHT = re.compile(r"\s+0{1,2}:00(:00(\.0+)?)?$")


def _date_parts(text: str, dialect: Dialect) -> tuple[int, int, int]:
    m = _ISO_DATE.match(text)
    if m:
        return int(m[1]), int(m[2]), int(m[3])
    m = _SHORT_DATE.match(text)
    if m and not dialect.typed:
        if len(m[3]) != 4:
            raise Invalid(_("%(value)s: write the year with four digits.") % {"value": text})
        first, second = int(m[1]), int(m[2])
        if dialect.date_order == "mdy":
            return int(m[3]), first, second
        return int(m[3]), second, first
    if dialect.typed:
        raise Invalid(_("%(value)s is not a date (YYYY-MM-DD).") % {"value": text[:30]})
    expected = "MM/DD/YYYY" if dialect.date_order == "mdy" else "DD/MM/YYYY"
    raise Invalid(
        _("%(value)s is not a date (%(format)s or YYYY-MM-DD).")
        % {"value": text[:30], "format": expected}
    )


def read_date(raw, col: Column, dialect: Dialect):
    if not isinstance(raw, str):
        raise Invalid(_("Expected a date (YYYY-MM-DD)."))
    if len(raw) == 10 and raw[4] == "-" and raw[7] == "-":  # ISO, the usual case: C-fast
        try:
            value = dt.date.fromisoformat(raw)
        except ValueError:
            value = None
        if value is not None and EARLIEST <= value <= LATEST:
            return value
    text = raw.strip()
    if len(text) > 10:
        text = _MIDNIGHT.sub("", text)
    year, month, day = _date_parts(text, dialect)
    try:
        value = dt.date(year, month, day)
    except ValueError:
        raise Invalid(_("%(value)s is not a day of the calendar.") % {"value": text}) from None
    if not EARLIEST <= value <= LATEST:
        raise Invalid(
            _("%(value)s is outside %(first)s to %(last)s.")
            % {"value": value, "first": EARLIEST, "last": LATEST}
        )
    return value


_ISO_DATETIME = re.compile(
    r"^\d{4}-\d{1,2}-\d{1,2}([T ]\d{1,2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?(Z|[+\-]\d{2}:?\d{2})?$"
)
_SHORT_DATETIME = re.compile(r"^(\S+)\s+(\d{1,2}):(\d{2})(?::(\d{2}))?$")


def read_datetime(raw, col: Column, dialect: Dialect, zone: ZoneInfo | None = None):
    """An aware datetime; a time written without a zone is the organization's local time."""
    if not isinstance(raw, str):
        raise Invalid(_("Expected a date and time (ISO 8601)."))
    text = raw.strip()
    zone = zone or dt.UTC
    if _ISO_DATETIME.match(text):
        try:
            value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise Invalid(_("%(value)s is not a date and time.") % {"value": text[:40]}) from None
    else:
        m = _SHORT_DATETIME.match(text)
        day_text, hour, minute, second = (m[1], m[2], m[3], m[4]) if m else (text, 0, 0, 0)
        if dialect.typed:
            raise Invalid(
                _("%(value)s is not a date and time (ISO 8601, e.g. 2024-06-30T14:00:00Z).")
                % {"value": text[:40]}
            )
        day = read_date(day_text, col, dialect)
        try:
            value = dt.datetime.combine(day, dt.time(int(hour), int(minute), int(second or 0)))
        except ValueError:
            raise Invalid(_("%(value)s is not a time of day.") % {"value": text[:40]}) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    if not EARLIEST <= value.date() <= LATEST:
        raise Invalid(
            _("%(value)s is outside %(first)s to %(last)s.")
            % {"value": value.date(), "first": EARLIEST, "last": LATEST}
        )
    return value.astimezone(dt.UTC)


_TRUE = {"1", "true", "yes", "y", "sim", "s", "x", "verdadeiro", "v"}
_FALSE = {"0", "false", "no", "n", "nao", "falso", "f", ""}


def read_bool(raw, col: Column, dialect: Dialect):
    if isinstance(raw, bool):
        return raw
    if dialect.typed and not isinstance(raw, str):
        raise Invalid(_("Expected true or false."))
    word = fold(str(raw))
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise Invalid(_("%(value)s is not yes or no.") % {"value": str(raw)[:30]})


def read_choice(raw, col: Column, dialect: Dialect):
    text = _text_of(raw)
    word = fold(text)
    for value, names in col.choices:
        if word == fold(value) or word in names:
            return value
    allowed = ", ".join(v for v, _names in col.choices)
    raise Invalid(
        _("%(value)s is not one of: %(allowed)s.") % {"value": text[:40], "allowed": allowed}
    )


def read_key(raw, col: Column, dialect: Dialect):
    """A relation, by the other row's key (external id, product code, member's email)."""
    if col.ref.key == "email":
        return read_email(raw, col, dialect)
    text = read_text(raw, col, dialect)
    return text.lower() if col.ref.key in ("name",) else text
