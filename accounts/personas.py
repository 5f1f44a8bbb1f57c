"""The account-field catalogue of the condition language, used by persona rules (and extended
by triggers and reports)."""

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from conditions import ConditionError, Field, FieldType, Phrase, parse

from .models import (
    Account,
    LifecycleStage,
    SizeBand,
    Subscription,
    Tier,
    TouchModel,
    subscription_held_on,
)


def _products_q(op: str, value) -> Q:
    """Products held today (the live form; the nightly frame uses the day it evaluates)."""
    held = Subscription.objects.filter(subscription_held_on(timezone.localdate()))
    if op == "is_empty":
        holds_any = Exists(held.filter(account=OuterRef("pk")))
        return ~Q(holds_any) if value else Q(holds_any)
    holds = Exists(held.filter(account=OuterRef("pk"), product__code=value))
    return Q(holds) if op == "contains" else ~Q(holds)


def _choices(enum) -> tuple[str, ...]:
    return tuple(enum.values)


ACCOUNT_FIELDS: dict[str, Field] = {
    f.name: f
    for f in [
        Field(
            "tier",
            FieldType.CHOICE,
            gettext_noop("Tier"),
            _choices(Tier),
            q_path="tier",
            phrase=Phrase(_("The tier is %(value)s")),
        ),
        Field(
            "touch_model",
            FieldType.CHOICE,
            gettext_noop("Touch model"),
            _choices(TouchModel),
            "touch_model",
            phrase=Phrase(_("The account is %(value)s touch")),
        ),
        Field(
            "lifecycle_stage",
            FieldType.CHOICE,
            gettext_noop("Lifecycle stage"),
            _choices(LifecycleStage),
            "lifecycle_stage",
            phrase=Phrase(_("The lifecycle stage is %(value)s")),
        ),
        Field(
            "size_band",
            FieldType.CHOICE,
            gettext_noop("Size band"),
            _choices(SizeBand),
            "size_band",
            phrase=Phrase(_("The company has %(value)s employees")),
        ),
        Field(
            "industry",
            FieldType.STRING,
            gettext_noop("Industry"),
            q_path="industry",
            phrase=Phrase(_("The industry is %(value)s")),
        ),
        Field(
            "region",
            FieldType.STRING,
            gettext_noop("Region"),
            q_path="region",
            phrase=Phrase(_("The region is %(value)s")),
        ),
        Field(
            "acquisition_channel",
            FieldType.STRING,
            gettext_noop("Acquisition channel"),
            q_path="acquisition_channel",
            phrase=Phrase(_("Acquired through %(value)s")),
        ),
        Field(
            "relationship_channel",
            FieldType.STRING,
            gettext_noop("Relationship channel"),
            q_path="relationship_channel",
            phrase=Phrase(_("The relationship channel is %(value)s")),
        ),
        Field(
            "mrr",
            FieldType.NUMBER,
            gettext_noop("MRR"),
            q_path="mrr",
            phrase=Phrase(_("MRR is %(value)s")),
        ),
        Field(
            "customer_since",
            FieldType.DATE,
            gettext_noop("Customer since"),
            q_path="customer_since",
            phrase=Phrase(_("A customer since %(value)s")),
        ),
        Field(
            "renewal_date",
            FieldType.DATE,
            gettext_noop("Renewal date"),
            q_path="renewal_date",
            phrase=Phrase(_("Renews on %(value)s")),
        ),
        Field(
            "products",
            FieldType.SET,
            gettext_noop("Products held"),
            q_builder=_products_q,
            phrase=Phrase(_("Products held: %(value)s")),
        ),
    ]
}


def validate_persona_rules(rules) -> None:
    """Persona rules are a condition tree on account fields, or {} for hand-picked only.
    Raises django ValidationError naming the field `rules` and the place in the tree."""
    from django.core.exceptions import ValidationError

    if rules in (None, {}):
        return
    try:
        parse(rules, ACCOUNT_FIELDS)
    except ConditionError as exc:
        raise ValidationError({"rules": f"{exc.path}: {exc.message}"}) from exc


def persona_rules_q(rules) -> Q | None:
    """The Q for a persona's rules, or None when it has no rules (hand-picked only)."""
    if rules in (None, {}):
        return None
    return parse(rules, ACCOUNT_FIELDS).to_q()


# What compiling one persona's stored rules can raise: the condition language's errors
# (ConditionError is a ValueError) and what a value the ORM cannot prepare raises. Reported
# as that persona's problem; database errors are not caught here.
PERSONA_RULE_ERRORS = (ValueError, TypeError, ArithmeticError, LookupError, RecursionError)


def persona_rules_compile(personas) -> tuple[dict[int, Q | None], list[dict]]:
    """Each persona's rules as a Q (None: hand-picked only), compiled down to SQL so a value
    the database layer cannot take shows here rather than in the refresh. A persona whose rules
    fail is left out and reported: {"persona": id, "name": ..., "error": ...}."""
    compiled: dict[int, Q | None] = {}
    problems: list[dict] = []
    for persona in personas:
        try:
            q = persona_rules_q(persona.rules)
            if q is not None:
                Account.objects.filter(q).query.sql_with_params()
        except ConditionError as exc:
            error = gettext("its rules no longer validate: %(error)s") % {"error": exc}
        except PERSONA_RULE_ERRORS as exc:
            error = gettext("its rules cannot be evaluated: %(error)s") % {
                "error": f"{type(exc).__name__}: {exc}"
            }
        else:
            compiled[persona.pk] = q
            continue
        problems.append({"persona": persona.pk, "name": persona.name, "error": error})
    return compiled, problems


def persona_rule_problems() -> list[dict]:
    """The current organization's personas whose rules fail (see persona_rules_compile)."""
    from .models import Persona

    return persona_rules_compile(Persona.objects.order_by("priority", "pk"))[1]


__all__ = [
    "ACCOUNT_FIELDS",
    "Account",
    "persona_rule_problems",
    "persona_rules_compile",
    "persona_rules_q",
    "validate_persona_rules",
]
