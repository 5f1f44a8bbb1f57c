"""The journey written: the night's stage step (activation dates, stage moves, their
LifecycleChange rows, onboarding playbooks), the organization's lifecycle settings, the goal
of the purchase, the default onboarding templates and the journey's triggers."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import pandas as pd
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_noop

from accounts.demo.words import demo_words
from accounts.models import Account, LifecycleChange, LifecycleStage, Persona
from csplatform.db.bulk import update_from_values, upsert
from orgs.languages import supported_language
from orgs.models import Organization, User
from orgs.tenancy import org_context
from playbooks.models import PlaybookKind, PlaybookTemplate, TemplateStep
from playbooks.services import PlaybookSpec, playbooks_create_bulk
from triggers.fields import load_frame
from triggers.models import Action, Schedule, Trigger
from triggers.services import trigger_create, trigger_pause

from . import rules as r
from .models import LifecycleSettings, PurchaseGoal

logger = logging.getLogger(__name__)

# The journey's own templates and triggers are the organization's data, named in its
# language when they are made (org_language) and found again by that name.
ONBOARDING_TEMPLATE = gettext_noop("Onboarding journey")
ENTERED_RENEWAL_TRIGGER = gettext_noop("Entered renewal")
NOT_ACTIVATED_TRIGGER = gettext_noop("Not activated in time")
RENEWAL_TEMPLATE = gettext_noop("Renewal: prepare the renewal")
RESCUE_TEMPLATE = gettext_noop("Onboarding rescue")


def org_language(org: Organization):
    """translation.override of the organization's language: what the journey writes as data
    (template and trigger names, steps) reads as the organization's people speak."""
    return translation.override(
        supported_language(getattr(org, "locale", "")) or django_settings.LANGUAGE_CODE
    )


def journey_trigger_names(org: Organization) -> list[str]:
    """The two journey triggers' names as this organization's were made."""
    with org_language(org):
        return [gettext(ENTERED_RENEWAL_TRIGGER), gettext(NOT_ACTIVATED_TRIGGER)]


@dataclass(frozen=True)
class LifecycleStats:
    accounts: int = 0
    moved: int = 0
    activated: int = 0
    churned: int = 0
    onboarding_playbooks: int = 0


def lifecycle_settings_of(org: Organization) -> LifecycleSettings:
    """The organization's settings: its row, or an unsaved one with the defaults (nothing is
    written until an admin saves)."""
    with org_context(org):
        found = LifecycleSettings.objects.first()
    return found or LifecycleSettings(organization=org)


def lifecycle_night_run(*, org_id: int, day: dt.date, is_demo: bool = False) -> LifecycleStats:
    """Bring every account's stage and activation up to `day`, set-based, after the day's
    scores and before its triggers: one frame (the trigger loader, the columns the rules
    read), the activation condition then the stage rules as masks, one bulk update of the
    accounts and one bulk insert of LifecycleChange (ON CONFLICT DO NOTHING on account, day
    and stage), and one onboarding playbook per account that entered onboarding. A re-run
    of the same night finds every stage as it left it and writes nothing."""
    org = Organization.objects.get(pk=org_id)
    settings = lifecycle_settings_of(org)
    rules = r.rules_of(settings)
    with org_context(org), transaction.atomic():
        fields = rules.fields() | {"lifecycle_stage", "activated", "owner_id"}
        frame = load_frame(day=day, fields=fields)
        activated = pd.Series(dtype=bool)
        moves = pd.DataFrame(columns=["from_stage", "to_stage"])
        if not frame.empty:
            activated = r.newly_activated(frame, rules.activation)
            frame.loc[activated, "activated"] = True
            stages = r.assign_stages(frame, rules)
            moves = r.stage_moves(frame["lifecycle_stage"], stages)
        churned = _churned_unrecorded(day)
        activated_ids = [int(i) for i in activated[activated].index]
        if activated_ids:
            update_from_values(
                table=Account._meta.db_table,
                key="id",
                columns=[("activated_on", "date")],
                rows=[(pk, day) for pk in activated_ids],
                org_id=org.pk,
            )
        stage_rows = [(int(pk), m.to_stage) for pk, m in moves.iterrows()]
        stage_rows += [(pk, LifecycleStage.CHURNED.value) for pk, _f, _on in churned]
        update_from_values(
            table=Account._meta.db_table,
            key="id",
            columns=[("lifecycle_stage", "varchar")],
            rows=stage_rows,
            org_id=org.pk,
        )
        now = timezone.now()
        change_rows = [
            (org.pk, int(pk), m.from_stage or "", m.to_stage, day, "rule", now)
            for pk, m in moves.iterrows()
        ] + [
            (org.pk, pk, from_stage or "", LifecycleStage.CHURNED.value, on, "rule", now)
            for pk, from_stage, on in churned
        ]
        upsert(
            table=LifecycleChange._meta.db_table,
            columns=[
                "organization_id",
                "account_id",
                "from_stage",
                "to_stage",
                "changed_on",
                "source",
                "created_at",
            ],
            rows=change_rows,
            conflict=["organization_id", "account_id", "changed_on", "to_stage"],
            update=[],
        )
        entered = moves.index[moves["to_stage"] == LifecycleStage.ONBOARDING]
        made = _onboarding_playbooks(org=org, frame=frame.loc[entered], day=day, is_demo=is_demo)
    stats = LifecycleStats(
        accounts=len(frame),
        moved=len(moves),
        activated=len(activated_ids),
        churned=len(churned),
        onboarding_playbooks=made,
    )
    logger.info(
        "lifecycle org=%s day=%s accounts=%s moved=%s activated=%s churned=%s onboarding=%s",
        org.slug,
        day,
        stats.accounts,
        stats.moved,
        stats.activated,
        stats.churned,
        stats.onboarding_playbooks,
    )
    return stats


def _churned_unrecorded(day: dt.date) -> list[tuple[int, str, dt.date]]:
    """Accounts churned on or before `day` whose move to churned is not recorded yet: (id,
    the stage they leave, the churn date). The stage left is the last one recorded before the
    churn, else the account's own when it is not churned already."""
    recorded = LifecycleChange.objects.filter(
        account=OuterRef("pk"),
        to_stage=LifecycleStage.CHURNED,
        changed_on__gte=OuterRef("churned_at"),
    )
    last = (
        LifecycleChange.objects.filter(
            account=OuterRef("pk"), changed_on__lte=OuterRef("churned_at")
        )
        .exclude(to_stage=LifecycleStage.CHURNED)
        .order_by("-changed_on", "-id")
        .values("to_stage")[:1]
    )
    rows = (
        Account.objects.filter(churned_at__isnull=False, churned_at__lte=day)
        .exclude(Exists(recorded))
        .annotate(last_stage=Subquery(last))
        .values_list("pk", "lifecycle_stage", "last_stage", "churned_at")
    )
    out = []
    for pk, stage, last_stage, on in rows:
        left = last_stage or (stage if stage != LifecycleStage.CHURNED else "")
        out.append((pk, left, on))
    return out


# -- onboarding ---------------------------------------------------------------------------


def _step_specs(settings: LifecycleSettings) -> list[tuple[str, str, int]]:
    welcome = settings.welcome_text.strip() or gettext(
        "Write your organization's welcome mail in Configuration → Lifecycle."
    )
    return [
        (
            gettext("Welcome call"),
            gettext(
                "Introduce yourself, agree the go-live date and ask what they bought the "
                "product for."
            ),
            2,
        ),
        (gettext("Welcome mail"), gettext("Send the welcome mail:") + "\n\n" + welcome, 1),
        (
            gettext("Record the goal of the purchase"),
            gettext("Write the customer's goal in “Goal of the purchase” on the account page."),
            3,
        ),
        (
            gettext("Training"),
            gettext("Train the users on the features their goal needs."),
            14,
        ),
        (
            gettext("First-value check"),
            gettext(
                "Has the customer reached a first result towards their goal? Check the "
                "activation on the account page; if not, plan a session."
            ),
            30,
        ),
    ]


def onboarding_templates_ensure(*, org: Organization) -> dict[int | None, PlaybookTemplate]:
    """The onboarding template of each persona and the default one (accounts in no persona),
    created where missing (by name: "Onboarding journey" and "Onboarding journey: <persona>").
    Written here rather than through playbook_template_save because the night has no acting
    user; admins edit them like any template afterwards."""
    settings = lifecycle_settings_of(org)
    with org_context(org), org_language(org):
        base = gettext(ONBOARDING_TEMPLATE)
        personas = list(Persona.objects.order_by("pk").values_list("pk", "name"))
        wanted = {None: base} | {pk: f"{base}: {name}"[:160] for pk, name in personas}
        existing = {
            (t.persona_id, t.name): t
            for t in PlaybookTemplate.objects.filter(
                kind=PlaybookKind.ONBOARDING, name__in=list(wanted.values())
            ).prefetch_related("steps")
        }
        out: dict[int | None, PlaybookTemplate] = {}
        steps = None
        for persona_id, name in wanted.items():
            template = existing.get((persona_id, name))
            if template is None:
                steps = steps or _step_specs(settings)
                template = _template(
                    org,
                    name,
                    PlaybookKind.ONBOARDING,
                    steps,
                    persona_id=persona_id,
                    description=gettext("Opened when an account enters onboarding."),
                )
                template = PlaybookTemplate.objects.prefetch_related("steps").get(pk=template.pk)
            out[persona_id] = template
    return out


def _onboarding_playbooks(
    *, org: Organization, frame: pd.DataFrame, day: dt.date, is_demo: bool
) -> int:
    if frame.empty:
        return 0
    templates = onboarding_templates_ensure(org=org)
    specs = []
    for pk, persona_id, owner_id in zip(
        frame.index, frame["persona_id"], frame["owner_id"], strict=True
    ):
        persona_id = None if pd.isna(persona_id) else int(persona_id)
        template = templates.get(persona_id) or templates[None]
        if not template.is_active:
            continue
        specs.append(
            PlaybookSpec(
                account_id=int(pk),
                owner_id=None if pd.isna(owner_id) else int(owner_id),
                template=template,
                opened_on=day,
                origin="lifecycle",
                # worded when read (the playbook page, the timeline), in the reader's language
                is_demo=is_demo,
            )
        )
    return len(playbooks_create_bulk(org=org, specs=specs).new)


# -- settings and goals ------------------------------------------------------------------


def lifecycle_settings_save(
    *, org: Organization, values: dict, acting_user: User
) -> LifecycleSettings:
    """Save the organization's days and welcome text (`values`: model field names)."""
    with org_context(org), transaction.atomic():
        settings = LifecycleSettings.objects.select_for_update().first() or LifecycleSettings(
            organization=org
        )
        for name, value in values.items():
            setattr(settings, name, value)
        settings.full_clean()
        settings.save()
    logger.info("lifecycle settings saved org=%s by=%s", org.slug, acting_user.pk)
    return settings


def lifecycle_rule_save(
    *, org: Organization, rule: str, tree: dict | None, acting_user: User
) -> LifecycleSettings:
    """Set one rule (a ruled stage or "activation") to `tree`, validated like a trigger's
    condition; None puts the default back."""
    if rule not in r.RULE_KEYS:
        raise ValidationError({"rule": f"no such rule {rule!r}"})
    if tree is not None:
        r.validate_rule(tree)
    with org_context(org), transaction.atomic():
        settings = LifecycleSettings.objects.select_for_update().first() or LifecycleSettings(
            organization=org
        )
        if rule == "activation":
            settings.activation = tree or {}
        else:
            rules = dict(settings.rules or {})
            if tree is None:
                rules.pop(rule, None)
            else:
                rules[rule] = tree
            settings.rules = rules
        settings.save()
    logger.info("lifecycle rule %s saved org=%s by=%s", rule, org.slug, acting_user.pk)
    return settings


def purchase_goal_record(*, account: Account, text: str, acting_user: User) -> PurchaseGoal:
    """Record (or replace) what the customer bought the product for."""
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": gettext("Write the customer's goal.")})
    with transaction.atomic():
        goal, _created = PurchaseGoal.objects.update_or_create(
            account=account,
            defaults={
                "organization_id": account.organization_id,
                "text": text,
                "recorded_by": acting_user,
                "recorded_on": timezone.localdate(),
            },
        )
    return goal


# -- the journey's triggers -------------------------------------------------------------


def journey_triggers_create(*, org: Organization, acting_user: User | None = None) -> int:
    """The two journey triggers, where missing: "Entered renewal" (a renewal playbook the day
    an account enters the stage) and "Not activated in time" (a retention alert for an account
    still not activated N to N + 30 days after its first subscription, N from the settings). Returns
    how many were created."""
    settings = lifecycle_settings_of(org)
    n = settings.activation_due_days
    made = 0
    with org_context(org), org_language(org):
        renewal_name, late_name = gettext(ENTERED_RENEWAL_TRIGGER), gettext(NOT_ACTIVATED_TRIGGER)
        have = set(Trigger.objects.values_list("name", flat=True))
        if renewal_name not in have:
            renewal = PlaybookTemplate.objects.filter(kind=PlaybookKind.RENEWAL).first()
            renewal = renewal or _template(
                org,
                gettext(RENEWAL_TEMPLATE),
                PlaybookKind.RENEWAL,
                [
                    (gettext("Prepare the renewal review"), gettext("Value delivered, usage."), 0),
                    (gettext("Renewal meeting"), gettext("With the decision maker."), 21),
                ],
            )
            trigger_create(
                trigger=Trigger(
                    organization=org,
                    name=renewal_name,
                    kind=PlaybookKind.RENEWAL,
                    condition={"field": "stage_entered_today", "op": "=", "value": "renewal"},
                    schedule=Schedule.NIGHTLY,
                    cooldown_days=180,
                    action=Action.PLAYBOOK,
                    template=renewal,
                ),
                acting_user=acting_user,
            )
            made += 1
        if late_name not in have:
            rescue_name = gettext(RESCUE_TEMPLATE)
            rescue = PlaybookTemplate.objects.filter(name=rescue_name).first() or _template(
                org,
                rescue_name,
                PlaybookKind.RETENTION,
                [
                    (
                        gettext("Find out why they have not started"),
                        gettext("Call the champion; read the usage and the goal of the purchase."),
                        1,
                    ),
                    (gettext("Agree a first-value plan"), gettext("Dates and owners."), 5),
                    (gettext("Check the activation again"), "", 21),
                ],
            )
            trigger_create(
                trigger=Trigger(
                    organization=org,
                    name=late_name,
                    kind=PlaybookKind.RETENTION,
                    condition={
                        "all": [
                            {"field": "activated", "op": "=", "value": False},
                            # in the month after the day it was due: an account that
                            # signed years ago is not a new customer failing to start
                            {
                                "field": "days_since_first_subscription",
                                "op": "between",
                                "value": [n, n + 30],
                            },
                        ]
                    },
                    schedule=Schedule.NIGHTLY,
                    cooldown_days=365,
                    action=Action.ALERT,
                    template=rescue,
                ),
                acting_user=acting_user,
            )
            made += 1
    return made


def _template(
    org, name: str, kind: str, steps, *, persona_id: int | None = None, description: str = ""
) -> PlaybookTemplate:
    """A template and its steps ((title, instructions, due offset days), done by the owner)."""
    template = PlaybookTemplate.objects.create(
        organization=org, name=name, kind=kind, persona_id=persona_id, description=description
    )
    TemplateStep.objects.bulk_create(
        [
            TemplateStep(
                organization=org,
                template=template,
                order=i,
                title=title,
                instructions=text,
                due_offset_days=days,
            )
            for i, (title, text, days) in enumerate(steps, 1)
        ]
    )
    return template


DEMO_WELCOME = (
    "Welcome aboard! Your first steps: 1) invite your team, 2) connect your data, 3) book your "
    "training. Guide: https://example.com/start · Help centre: https://example.com/help"
)


def lifecycle_demo_create(*, org: Organization) -> dict:
    """The demo's journey: its welcome text, the onboarding templates and the two triggers."""
    with org_context(org), transaction.atomic():
        w = demo_words(org.locale)
        if not LifecycleSettings.objects.exists():
            LifecycleSettings.objects.create(organization=org, welcome_text=w(DEMO_WELCOME))
        onboarding_templates_ensure(org=org)
        made = journey_triggers_create(org=org)
        # The journey opens the onboarding playbooks now: the demo's older tenure trigger
        # would open a second one for the same accounts.
        older = Trigger.objects.filter(name=w("New customer onboarding"), is_active=True).first()
        if older is not None:
            trigger_pause(trigger=older, paused=True, acting_user=None)
    return {"triggers": made}
