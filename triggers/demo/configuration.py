"""The demo's trigger configuration: playbook templates and triggers per persona, drawn from
the source documents (../shared/seeds), created for a demo organization when it is seeded."""

from __future__ import annotations

import logging

from django.db import transaction

from accounts.demo.words import demo_words
from accounts.models import Persona, Product
from orgs.models import Organization
from orgs.tenancy import org_context
from playbooks.models import (
    PlaybookTemplate,
    TemplateStep,
)

from ..models import Trigger
from ..services.configuration import trigger_versions_record_initial

logger = logging.getLogger(__name__)


# name: (kind, [(title, instructions, due offset days, who)])
TEMPLATES = {
    "Onboarding: welcome": (
        "onboarding",
        [
            ("Welcome call", "Introduce yourself, agree goals and the go-live date.", 2, "owner"),
            ("Welcome mail with the how-to video and guide", "Send the welcome kit.", 1, "owner"),
            (
                "Check adoption at day 30",
                "Are the key features in use? If not, plan a session.",
                30,
                "owner",
            ),
        ],
    ),
    "Retention: save the account": (
        "retention",
        [
            (
                "Confirm the risk with the data",
                "Read the health breakdown and the evidence.",
                1,
                "owner",
            ),
            ("Call the decision maker", "Hear their reasons; log the contact.", 3, "owner"),
            ("Agree a recovery plan", "Concrete actions and dates, shared in writing.", 7, "owner"),
            ("Manager review", "Is the plan enough? Escalate if not.", 14, "manager"),
            ("Check the health 30 days later", "Has the score recovered?", 30, "owner"),
        ],
    ),
    "Retention: collections and discounts": (
        "retention",
        [
            (
                "Review invoices and discounts",
                "Overdue amounts, discount level, payment history.",
                1,
                "owner",
            ),
            ("Call the billing contact", "Agree a payment plan.", 3, "owner"),
            ("Manager sign-off on any new discount", "", 7, "manager"),
        ],
    ),
    "Retention: support escalation": (
        "retention",
        [
            ("Review the tickets over SLA", "With support: root causes and owners.", 1, "owner"),
            ("Call the champion", "Apologise, explain the fix and the dates.", 2, "owner"),
            ("Confirm the fixes landed", "", 14, "owner"),
        ],
    ),
    "Retention: detractor follow-up": (
        "retention",
        [
            ("Call the detractor", "Listen; log what they said.", 2, "owner"),
            ("Close the loop", "Tell them what changed because of their answer.", 10, "owner"),
        ],
    ),
    "Renewal: 90 days ahead": (
        "renewal",
        [
            ("Prepare the renewal review", "Value delivered, usage, open issues.", 0, "owner"),
            ("Renewal meeting", "With the decision maker.", 30, "owner"),
            ("Send the renewal proposal", "", 45, "owner"),
            ("Manager sign-off", "", 60, "manager"),
        ],
    ),
}

ADDON_PRODUCTS = ("analytics", "payments", "marketplace", "mobile")


def _template_create(org, name: str, kind: str, steps, description: str = "") -> PlaybookTemplate:
    """A template and its steps: (title, instructions, due offset days, who), in the
    organization's language (accounts.demo.words)."""
    w = demo_words(org.locale)
    template = PlaybookTemplate.all_objects.create(
        organization=org, name=w(name), kind=kind, description=description
    )
    TemplateStep.all_objects.bulk_create(
        [
            TemplateStep(
                organization=org,
                template=template,
                order=i,
                title=w(title),
                instructions=w(text) if text else "",
                due_offset_days=days,
                assignee=who,
            )
            for i, (title, text, days, who) in enumerate(steps, 1)
        ]
    )
    return template


def _expansion_template(org, product: Product) -> PlaybookTemplate:
    w = demo_words(org.locale)
    name = w("Expansion: offer %(product)s", product=product.name)
    existing = PlaybookTemplate.objects.filter(name=name).first()
    if existing is not None:
        return existing
    return _template_create(
        org,
        name,
        "expansion",
        [
            ("Review usage and growth", "Is the account ready for more?", 0, "owner"),
            (
                w("Pitch %(product)s to the sponsor", product=product.name),
                "Log the call.",
                3,
                "owner",
            ),
            ("Send the proposal", "With the expected MRR.", 7, "owner"),
            ("Follow up on the proposal", "Won, lost or no opportunity.", 14, "owner"),
        ],
        description=w("Cross-sell %(product)s.", product=product.name),
    )


def demo_configuration_create(*, org: Organization) -> dict:
    """Templates and triggers for the demo's personas (does nothing if they exist)."""
    with org_context(org), transaction.atomic():
        if Trigger.objects.exists():
            return {"templates": 0, "triggers": 0}
        templates = {
            name: _template_create(org, name, kind, steps)
            for name, (kind, steps) in TEMPLATES.items()
        }
        personas = {p.slug: p for p in Persona.objects.all()}
        products = {p.code: p for p in Product.objects.all()}
        enterprise = personas.get("enterprise-high-touch")
        mid = personas.get("mid-market")
        t = templates
        w = demo_words(org.locale)
        rows = [
            # retention, nightly: a fresh fall into red, volume drop, delinquency, SLA, CSAT, NPS
            (
                "Score fell into red",
                "retention",
                None,
                None,
                "nightly",
                "alert",
                30,
                {
                    "all": [
                        {"field": "health_score", "op": "<", "value": 51},
                        {"field": "score_change_7d", "op": "<=", "value": -10},
                    ]
                },
                t["Retention: save the account"],
            ),
            (
                "Transacted volume dropped 30% in 6 months",
                "retention",
                None,
                None,
                "nightly",
                "alert",
                60,
                {"field": "indicator.volume_trend.raw", "op": "<=", "value": -30},
                t["Retention: save the account"],
            ),
            (
                "Delinquency or deep discount",
                "retention",
                None,
                None,
                "nightly",
                "alert",
                45,
                {
                    "any": [
                        {"field": "overdue_invoice_max_days", "op": ">", "value": 30},
                        {"field": "indicator.discount_level.raw", "op": ">=", "value": 30},
                    ]
                },
                t["Retention: collections and discounts"],
            ),
            (
                "Tickets over SLA",
                "retention",
                None,
                None,
                "nightly",
                "playbook",
                45,
                {"field": "indicator.tickets_over_sla.raw", "op": ">=", "value": 3},
                t["Retention: support escalation"],
            ),
            (
                "Low CSAT",
                "retention",
                None,
                None,
                "nightly",
                "alert",
                120,
                {"field": "indicator.csat_avg.raw", "op": "<=", "value": 2.5},
                t["Retention: support escalation"],
            ),
            (
                # an answer stays the latest for up to a year: one follow-up per year
                "NPS detractor",
                "retention",
                None,
                None,
                "nightly",
                "playbook",
                365,
                {"field": "indicator.nps_latest.raw", "op": "<=", "value": 6},
                t["Retention: detractor follow-up"],
            ),
            # the monthly retention run (day 1): every red account, for the month's plan
            (
                "Monthly retention review",
                "retention",
                None,
                None,
                "monthly",
                "alert",
                25,
                {"field": "health_colour", "op": "=", "value": "red"},
                t["Retention: save the account"],
            ),
            # onboarding and renewal, nightly
            (
                "New customer onboarding",
                "onboarding",
                None,
                None,
                "nightly",
                "playbook",
                365,
                {"field": "tenure_days", "op": "between", "value": [0, 7]},
                t["Onboarding: welcome"],
            ),
            (
                "Renewal in 90 days",
                "renewal",
                None,
                None,
                "nightly",
                "playbook",
                180,
                {"field": "days_to_renewal", "op": "between", "value": [80, 90]},
                t["Renewal: 90 days ahead"],
            ),
        ]
        # expansion per add-on product, for the personas that buy them
        for code in ADDON_PRODUCTS:
            product = products.get(code)
            if product is None:
                continue
            template = _expansion_template(org, product)
            growth = (
                {"field": "indicator.volume_trend.raw", "op": ">=", "value": 20}
                if code in ("payments", "marketplace")
                else {"field": "indicator.usage_trend.raw", "op": ">=", "value": 15}
            )
            for persona in (enterprise, mid):
                if persona is None:
                    continue
                rows.append(
                    (
                        w(
                            "%(persona)s: offer %(product)s",
                            persona=persona.name,
                            product=product.name,
                        ),
                        "expansion",
                        persona,
                        product,
                        "nightly",
                        "playbook",
                        90,
                        {"all": [{"field": "health_colour", "op": "=", "value": "green"}, growth]},
                        template,
                    )
                )
        triggers = [
            Trigger(
                organization=org,
                name=w(name),
                kind=kind,
                persona=persona,
                product=product,
                schedule=schedule,
                action=action,
                cooldown_days=cooldown,
                condition=condition,
                template=template,
            )
            for (
                name,
                kind,
                persona,
                product,
                schedule,
                action,
                cooldown,
                condition,
                template,
            ) in rows
        ]
        for trigger in triggers:
            trigger.full_clean()
        Trigger.all_objects.bulk_create(triggers)
        trigger_versions_record_initial(triggers=triggers)
    return {"templates": len(templates) + len(ADDON_PRODUCTS), "triggers": len(triggers)}
