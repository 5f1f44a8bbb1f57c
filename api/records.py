"""What each kind of record that comes in is made of, and how one value is read: the one
definition the REST API's serializers, its bulk endpoints and the CSV import share, so a
value is accepted or refused, with the same message, whichever way it arrives.

Values come typed from JSON (numbers, ISO dates) or as text from a spreadsheet, in the
spreadsheet's dialect: Brazilian files write `1.234,56`, `R$ 1.234,56` and `31/12/2024`; ISO
dates are always understood. Pure: no database (relations are resolved by api.resolve).
"""

from __future__ import annotations

import datetime as dt
import gc
import math
import re
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import models as am

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
        value = float(raw)
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


# -- columns and kinds -----------------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """A relation field: the model it points at and the key it is named by."""

    model: type
    key: str  # "external_id", "code", "email" (users), "name" (churn reasons)


@dataclass(frozen=True)
class Column:
    name: str  # the API's field name (and the CSV mapping target)
    reader: Callable
    attname: str = ""  # the model's column; default: name (relations: <name>_id)
    required: bool = False
    max_length: int | None = None
    places: int = 2
    minimum: float | int | None = None
    maximum: float | int | None = None
    choices: tuple = ()  # ((value, {folded synonyms}), ...)
    ref: Ref | None = None
    labels: tuple[str, ...] = ()  # header names that suggest this column (EN and PT)
    help: str = ""
    blank_value: object = None  # what an empty optional cell writes

    @property
    def column(self) -> str:
        if self.attname:
            return self.attname
        return f"{self.name}_id" if self.ref else self.name

    @property
    def type_name(self) -> str:
        return {
            read_text: "text",
            read_email: "email",
            read_slug: "slug",
            read_decimal: "decimal",
            read_float: "number",
            read_int: "integer",
            read_date: "date",
            read_datetime: "datetime",
            read_bool: "boolean",
            read_choice: "choice",
            read_key: "key",
        }[self.reader]


class ChoiceSet(tuple):
    """(value, the spellings a file may use for it) pairs; `model_choices` keeps the model's
    (value, label) pairs they come from, which the API's schema shows."""

    model_choices: tuple = ()


def _choices(model_choices, extra: dict[str, tuple[str, ...]] | None = None) -> ChoiceSet:
    extra = extra or {}
    out = ChoiceSet(
        (value, frozenset({fold(label), *(fold(s) for s in extra.get(value, ()))}))
        for value, label in model_choices
    )
    out.model_choices = tuple(model_choices)
    return out


def text(name, max_length, **kw) -> Column:
    return Column(name, read_text, max_length=max_length, blank_value="", **kw)


def key(name, model, by, **kw) -> Column:
    return Column(name, read_key, ref=Ref(model, by), max_length=254, **kw)


def _user():
    from orgs.models import User

    return User


TIERS = _choices(
    am.Tier.choices,
    {"diamond": ("diamante",), "platinum": ("platina",), "gold": ("ouro",), "silver": ("prata",)},
)
TOUCH = _choices(
    am.TouchModel.choices,
    {
        "high": ("high", "alto", "alto toque"),
        "mid": ("mid", "medio", "medio toque"),
        "low": ("low", "baixo", "baixo toque"),
        "tech": ("tech", "tech touch", "digital"),
    },
)
STAGES = _choices(
    am.LifecycleStage.choices,
    {
        "adoption": ("adocao",),
        "ongoing": ("em andamento", "ativo", "active"),
        "renewal": ("renovacao",),
        "churned": ("churn", "cancelado", "perdido"),
    },
)
SIZES = _choices(am.SizeBand.choices)
ROLES = _choices(
    am.ContactRole.choices,
    {
        "executive_sponsor": ("patrocinador", "sponsor"),
        "decision_maker": ("decisor",),
        "champion": ("campeao",),
        "user": ("usuario",),
        "billing": ("financeiro", "cobranca"),
    },
)
SUB_STATUS = _choices(
    am.SubscriptionStatus.choices,
    {"active": ("ativa", "ativo"), "cancelled": ("cancelada", "cancelado", "canceled")},
)
PRIORITIES = _choices(
    am.TicketPriority.choices,
    {"low": ("baixa",), "normal": ("media", "normal"), "high": ("alta",), "urgent": ("urgente",)},
)
SURVEY_KINDS = _choices(am.SurveyKind.choices)
INTERACTION_KINDS = _choices(
    am.InteractionKind.choices,
    {
        "call": ("ligacao", "telefonema"),
        "meeting": ("reuniao",),
        "email": ("e mail",),
        "visit": ("visita",),
        "note": ("nota", "anotacao"),
    },
)

EXTERNAL_ID = text(
    "external_id",
    100,
    required=True,
    labels=(
        "external id",
        "id externo",
        "codigo",
        "code",
        "id",
        "identificador",
        "customer id",
        "id do cliente",
        "codigo do cliente",
    ),
    help=gettext_lazy("Your system's id for the record: the key re-sends and upserts match on."),
)


def ACCOUNT_REF(required=True):  # noqa: N802 (a column factory)
    return key(
        "account",
        am.Account,
        "external_id",
        required=required,
        labels=(
            "account",
            "account id",
            "account external id",
            "conta",
            "cliente",
            "id do cliente",
            "codigo do cliente",
            "customer",
            "customer id",
        ),
        help=gettext_lazy("The account's external id."),
    )


_BY_NAME: dict[str, dict] = {}


@dataclass(frozen=True)
class Kind:
    name: str
    model: type
    key: tuple[str, ...]  # the API names of the columns a record is matched by
    columns: tuple[Column, ...]
    check: Callable[[dict], list[tuple[str, str]]] | None = None  # record-level rules
    label: str = ""

    @property
    def by_name(self) -> dict[str, Column]:
        # Built once per kind (setdefault would build the dict on every call: once a row).
        found = _BY_NAME.get(self.name)
        if found is None:
            found = _BY_NAME[self.name] = {c.name: c for c in self.columns}
        return found

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


def _after(first: str, second: str, message) -> Callable[[dict], list[tuple[str, str]]]:
    def check(record: dict) -> list[tuple[str, str]]:
        a, b = record.get(first), record.get(second)
        if a is not None and b is not None and b < a:
            return [(second, str(message))]
        return []

    return check


def _all(*checks):
    def check(record):
        out = []
        for c in checks:
            out += c(record)
        return out

    return check


def _account_rules(record: dict) -> list[tuple[str, str]]:
    out = []
    if record.get("churned_at") is not None and not record.get("churn_reason"):
        out.append(("churn_reason", _("A churned account needs its churn reason.")))
    if record.get("lifecycle_stage") == "churned" and record.get("churned_at") is None:
        out.append(("churned_at", _("A churned account needs the day it churned.")))
    return out


def _survey_rules(record: dict) -> list[tuple[str, str]]:
    kind, score = record.get("kind"), record.get("score")
    if score is None or kind is None:
        return []
    if kind == "nps" and not 0 <= score <= 10:
        return [("score", _("An NPS answer is 0 to 10 (got %(score)s).") % {"score": score})]
    if kind == "csat" and not 1 <= score <= 5:
        return [("score", _("A CSAT answer is 1 to 5 (got %(score)s).") % {"score": score})]
    return []


ACCOUNTS = Kind(
    "accounts",
    am.Account,
    ("external_id",),
    (
        EXTERNAL_ID,
        text(
            "name",
            200,
            required=True,
            labels=(
                "name",
                "account name",
                "company",
                "nome",
                "razao social",
                "empresa",
                "nome da conta",
                "nome fantasia",
                "cliente",
            ),
        ),
        text("industry", 80, labels=("industry", "segment", "setor", "segmento", "industria")),
        text("region", 80, labels=("region", "regiao", "estado", "uf")),
        Column(
            "size_band",
            read_choice,
            choices=SIZES,
            blank_value="",
            labels=("size", "size band", "porte", "tamanho", "funcionarios"),
        ),
        Column("tier", read_choice, choices=TIERS, labels=("tier", "nivel", "categoria", "plano")),
        Column(
            "touch_model",
            read_choice,
            choices=TOUCH,
            labels=("touch model", "touch", "modelo de atendimento", "atendimento"),
        ),
        text("acquisition_channel", 80, labels=("acquisition channel", "canal de aquisicao")),
        text(
            "relationship_channel", 80, labels=("relationship channel", "canal de relacionamento")
        ),
        key(
            "owner",
            _user(),
            "email",
            labels=(
                "owner",
                "owner email",
                "csm",
                "csm email",
                "responsavel",
                "email do csm",
                "email do responsavel",
                "dono",
            ),
            help=gettext_lazy("The owning CSM's email (a member of the organization)."),
        ),
        Column(
            "lifecycle_stage",
            read_choice,
            choices=STAGES,
            labels=("lifecycle stage", "stage", "estagio", "fase", "etapa", "status"),
        ),
        Column(
            "customer_since",
            read_date,
            labels=(
                "customer since",
                "cliente desde",
                "data de inicio",
                "inicio",
                "start date",
                "data de contratacao",
            ),
        ),
        Column(
            "churned_at",
            read_date,
            labels=(
                "churned at",
                "churn date",
                "data de churn",
                "data de cancelamento",
                "cancelado em",
            ),
        ),
        key(
            "churn_reason",
            am.ChurnReason,
            "name",
            labels=("churn reason", "motivo do churn", "motivo de cancelamento", "motivo"),
        ),
        text("notes", 10000, labels=("notes", "observacoes", "notas", "obs")),
    ),
    check=_account_rules,
)

CONTACTS = Kind(
    "contacts",
    am.Contact,
    ("external_id",),
    (
        EXTERNAL_ID,
        ACCOUNT_REF(),
        text(
            "name",
            200,
            required=True,
            labels=("name", "contact name", "nome", "contato", "nome do contato"),
        ),
        text("title", 120, labels=("title", "job title", "cargo", "funcao")),
        Column("role", read_choice, choices=ROLES, labels=("role", "papel", "perfil")),
        Column("email", read_email, max_length=254, blank_value="", labels=("email", "e mail")),
        text("phone", 40, labels=("phone", "telefone", "celular", "whatsapp")),
        Column(
            "consent_given_at",
            read_datetime,
            labels=(
                "consent given at",
                "consent date",
                "consentimento em",
                "data do consentimento",
                "data de consentimento",
            ),
        ),
        text(
            "consent_source",
            80,
            labels=("consent source", "origem do consentimento", "fonte do consentimento"),
        ),
        Column(
            "consent_withdrawn_at",
            read_datetime,
            labels=("consent withdrawn at", "consentimento revogado em", "data de revogacao"),
        ),
    ),
)

PRODUCTS = Kind(
    "products",
    am.Product,
    ("code",),
    (
        Column(
            "code",
            read_slug,
            max_length=60,
            blank_value="",
            required=True,
            labels=("code", "codigo", "sku"),
        ),
        text("name", 120, required=True, labels=("name", "nome", "produto")),
        text("description", 5000, labels=("description", "descricao")),
        Column("is_active", read_bool, labels=("active", "ativo")),
    ),
)

SUBSCRIPTIONS = Kind(
    "subscriptions",
    am.Subscription,
    ("external_id",),
    (
        EXTERNAL_ID,
        ACCOUNT_REF(),
        key(
            "product",
            am.Product,
            "code",
            required=True,
            labels=("product", "product code", "produto", "codigo do produto", "plano"),
            help=gettext_lazy("The product's code."),
        ),
        Column(
            "mrr",
            read_decimal,
            required=True,
            minimum=0,
            maximum=10**10 - 1,
            labels=(
                "mrr",
                "monthly revenue",
                "receita mensal",
                "valor mensal",
                "mensalidade",
                "valor",
            ),
        ),
        Column(
            "start_date",
            read_date,
            required=True,
            labels=("start date", "start", "data de inicio", "inicio", "inicio da vigencia"),
        ),
        Column(
            "end_date",
            read_date,
            labels=("end date", "end", "data de fim", "fim", "data de termino", "termino"),
        ),
        Column(
            "renewal_date",
            read_date,
            labels=("renewal date", "renewal", "data de renovacao", "renovacao"),
        ),
        Column("status", read_choice, choices=SUB_STATUS, labels=("status", "situacao")),
        Column(
            "renewals_count",
            read_int,
            minimum=0,
            maximum=10**6,
            labels=("renewals", "renewals count", "renovacoes", "numero de renovacoes"),
        ),
        Column(
            "discount_pct",
            read_decimal,
            minimum=0,
            maximum=100,
            labels=("discount", "discount pct", "desconto", "desconto %"),
        ),
    ),
    check=_after("start_date", "end_date", gettext_lazy("The end date is before the start date.")),
)

USAGE = Kind(
    "usage",
    am.UsageMetric,
    ("account", "metric", "date"),
    (
        ACCOUNT_REF(),
        text("metric", 40, required=True, labels=("metric", "metrica", "indicador", "evento")),
        Column("date", read_date, required=True, labels=("date", "day", "data", "dia")),
        Column(
            "value",
            read_float,
            required=True,
            minimum=-(10**15),
            maximum=10**15,
            labels=("value", "valor", "quantidade", "count", "total"),
        ),
    ),
)

TICKETS = Kind(
    "tickets",
    am.Ticket,
    ("external_id",),
    (
        EXTERNAL_ID,
        ACCOUNT_REF(),
        text("subject", 200, required=True, labels=("subject", "assunto", "titulo")),
        Column("priority", read_choice, choices=PRIORITIES, labels=("priority", "prioridade")),
        Column(
            "opened_at",
            read_datetime,
            required=True,
            labels=("opened at", "opened", "created", "aberto em", "data de abertura", "abertura"),
        ),
        Column(
            "closed_at",
            read_datetime,
            labels=("closed at", "closed", "fechado em", "data de fechamento", "encerramento"),
        ),
        Column("sla_due_at", read_datetime, labels=("sla due at", "sla", "prazo sla", "prazo")),
        Column("sla_breached", read_bool, labels=("sla breached", "sla estourado", "fora do sla")),
    ),
    check=_after("opened_at", "closed_at", gettext_lazy("Closed before it was opened.")),
)

INVOICES = Kind(
    "invoices",
    am.Invoice,
    ("external_id",),
    (
        EXTERNAL_ID,
        ACCOUNT_REF(),
        text(
            "number",
            40,
            required=True,
            labels=("number", "invoice number", "numero", "numero da fatura", "nota fiscal", "nf"),
        ),
        Column(
            "issued_on",
            read_date,
            required=True,
            labels=("issued on", "issued", "emissao", "data de emissao"),
        ),
        Column(
            "due_on",
            read_date,
            required=True,
            labels=("due on", "due date", "due", "vencimento", "data de vencimento"),
        ),
        Column(
            "paid_on",
            read_date,
            labels=("paid on", "paid", "pagamento", "data de pagamento", "pago em"),
        ),
        Column(
            "amount",
            read_decimal,
            required=True,
            minimum=0,
            maximum=10**10 - 1,
            labels=("amount", "total", "valor", "valor total"),
        ),
        Column(
            "discount_amount",
            read_decimal,
            minimum=0,
            maximum=10**10 - 1,
            labels=("discount", "discount amount", "desconto"),
        ),
    ),
    check=_after("issued_on", "due_on", gettext_lazy("Due before it was issued.")),
)

SURVEYS = Kind(
    "surveys",
    am.SurveyResponse,
    ("external_id",),
    (
        EXTERNAL_ID,
        ACCOUNT_REF(),
        key(
            "contact",
            am.Contact,
            "email",
            labels=("contact", "contact email", "contato", "email do contato"),
            help=gettext_lazy("The contact's email (a contact of the same account)."),
        ),
        Column(
            "kind",
            read_choice,
            choices=SURVEY_KINDS,
            required=True,
            labels=("kind", "type", "survey", "tipo", "pesquisa"),
        ),
        Column(
            "score",
            read_int,
            required=True,
            minimum=0,
            maximum=10,
            labels=("score", "nota", "pontuacao", "resposta"),
        ),
        text("comment", 10000, labels=("comment", "comentario", "observacao")),
        Column(
            "answered_at",
            read_datetime,
            required=True,
            labels=("answered at", "date", "respondido em", "data da resposta", "data"),
        ),
    ),
    check=_survey_rules,
)

INTERACTIONS = Kind(
    "interactions",
    am.Interaction,
    ("external_id",),
    (
        EXTERNAL_ID,
        ACCOUNT_REF(),
        key(
            "contact",
            am.Contact,
            "email",
            labels=("contact", "contact email", "contato", "email do contato"),
            help=gettext_lazy("The contact's email (a contact of the same account)."),
        ),
        key(
            "author",
            _user(),
            "email",
            labels=("author", "author email", "csm", "autor", "responsavel", "email do autor"),
            help=gettext_lazy("The email of the member who had the contact."),
        ),
        Column(
            "kind",
            read_choice,
            choices=INTERACTION_KINDS,
            required=True,
            labels=("kind", "type", "channel", "tipo", "canal"),
        ),
        Column(
            "occurred_at",
            read_datetime,
            required=True,
            labels=("occurred at", "date", "when", "data", "quando", "data do contato"),
        ),
        text("summary", 240, required=True, labels=("summary", "subject", "resumo", "assunto")),
        text("notes", 10000, labels=("notes", "notas", "observacoes", "detalhes")),
    ),
)

KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        ACCOUNTS,
        CONTACTS,
        PRODUCTS,
        SUBSCRIPTIONS,
        USAGE,
        TICKETS,
        INVOICES,
        SURVEYS,
        INTERACTIONS,
    )
}


# -- reading one record ----------------------------------------------------------------------


@dataclass
class Parsed:
    """One record read: its values by API name (only the fields it carried) and its
    problems as (field, message)."""

    values: dict = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)


def parse_record(
    kind: Kind, raw: dict, dialect: Dialect, *, zone: ZoneInfo | None = None, partial=False
) -> Parsed:
    """Read `raw` ({api name: value}); fields it does not carry are left out (a write keeps
    their stored value), required ones are errors unless `partial`. Empty text is "no value"."""
    out = Parsed()
    columns = kind.by_name
    if len(raw) > len(columns) or not columns.keys() >= raw.keys():
        for name in raw:
            if name not in columns:
                out.errors.append((name, _("Unknown field.")))
    for col in kind.columns:
        if col.name not in raw:
            if col.required and not partial:
                out.errors.append((col.name, _("This field is required.")))
            continue
        value = raw[col.name]
        if value is None or value == "" or (value.__class__ is str and value.isspace()):
            if col.required:
                out.errors.append((col.name, _("This field is required.")))
                continue
            out.values[col.name] = col.blank_value
            continue
        try:
            if col.reader is read_datetime:
                out.values[col.name] = read_datetime(value, col, dialect, zone)
            else:
                out.values[col.name] = col.reader(value, col, dialect)
        except Invalid as exc:
            out.errors.append((col.name, str(exc)))
    if kind.check is not None and not out.errors:
        out.errors += kind.check(out.values)
    return out


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a batch of records is read and written.
    A batch is tens of thousands of small dicts and lists that all live until it is written:
    every 700 of them start a collection, which walks them again, and the full ones walk
    every object of the process. Measured: a third of a 1,000,000-row import's CPU time.
    Nothing a batch builds is a cycle (reference counting frees it all), and the collector
    is back on when the block ends, whatever happened in it."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def parse_records(
    kind: Kind,
    raws: list[dict],
    dialect: Dialect,
    *,
    zone: ZoneInfo | None = None,
    partial=False,
) -> list[Parsed]:
    """`parse_record` of each of `raws`, the same values and errors in the same order, read
    a column at a time: a text value is read once per batch however many records repeat it
    (a usage file holds one day, one metric and a few values in thousands of rows), the rest
    one by one. Readers are pure, so a repeated text reads the same each time."""
    out = [Parsed() for _ in raws]
    columns = kind.by_name
    n_columns, names = len(columns), columns.keys()
    unknown = _("Unknown field.")
    required = _("This field is required.")
    for parsed, raw in zip(out, raws, strict=True):
        if len(raw) > n_columns or not names >= raw.keys():
            parsed.errors += [(name, unknown) for name in raw if name not in columns]
    for col in kind.columns:
        name, reader, blank = col.name, col.reader, col.blank_value
        if reader is read_datetime:
            reader = _with_zone(zone)
        must = col.required
        known: dict[str, tuple[bool, object]] = {}  # text -> (read, value or message)
        for parsed, raw in zip(out, raws, strict=True):
            if name not in raw:
                if must and not partial:
                    parsed.errors.append((name, required))
                continue
            value = raw[name]
            if value.__class__ is str:
                seen = known.get(value)
                if seen is None:
                    if value == "" or value.isspace():
                        seen = (False, required) if must else (True, blank)
                    else:
                        try:
                            seen = (True, reader(value, col, dialect))
                        except Invalid as exc:
                            seen = (False, str(exc))
                    known[value] = seen
                if seen[0]:
                    parsed.values[name] = seen[1]
                else:
                    parsed.errors.append((name, seen[1]))
                continue
            if value is None:
                if must:
                    parsed.errors.append((name, required))
                else:
                    parsed.values[name] = blank
                continue
            try:
                parsed.values[name] = reader(value, col, dialect)
            except Invalid as exc:
                parsed.errors.append((name, str(exc)))
    if kind.check is not None:
        for parsed in out:
            if not parsed.errors:
                parsed.errors += kind.check(parsed.values)
    return out


def _with_zone(zone: ZoneInfo | None) -> Callable:
    """read_datetime with the zone given, called like the other readers."""

    def read(raw, col: Column, dialect: Dialect):
        return read_datetime(raw, col, dialect, zone)

    return read


def natural_key(kind: Kind, values: dict) -> tuple:
    return tuple(map(values.get, kind.key))
