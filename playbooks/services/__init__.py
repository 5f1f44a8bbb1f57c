"""Playbook writes, one module per part of a playbook's life:

- creation: playbooks created in bulk from templates (whoever creates them passes origin and
  evidence) and one started by hand;
- work: steps completed, noted and snoozed, contacts logged, interactions linked, the outcome
  recorded at close, reassignment;
- notifications: who is told a playbook or step is theirs, the morning digest, read marks;
- portfolio: what a handover or a churn does to open playbooks;
- templates: a template and its ordered steps saved together (future playbooks only);
- errors: what the services refuse with, and the checks of who may work a step or playbook.

Callers import from here."""

from .creation import (
    PlaybooksCreated,
    PlaybookSpec,
    org_manager_id,
    playbook_start,
    playbooks_create_bulk,
)
from .errors import NotAllowed, PlaybookError, StepConflict, churned_text
from .notifications import (
    DIGEST_CLAIM_TTL,
    notification_phrase,
    notifications_create_assigned,
    notifications_mark_read,
    notifications_mark_read_for,
    notifications_notify_admins,
    notifications_send_digest,
)
from .portfolio import (
    MemberHandedOver,
    playbooks_cancel_for_churn,
    playbooks_handover,
    playbooks_handover_member,
)
from .templates import (
    MAX_TEMPLATE_STEPS,
    StepSpec,
    TemplateStepsError,
    playbook_template_save,
)
from .work import (
    playbook_close,
    playbook_link_interaction,
    playbook_log_contact,
    playbook_outcome_due,
    playbook_reassign,
    step_add_note,
    step_complete,
    step_snooze,
)

__all__ = [
    "notification_phrase",
    "DIGEST_CLAIM_TTL",
    "MAX_TEMPLATE_STEPS",
    "MemberHandedOver",
    "NotAllowed",
    "PlaybookError",
    "PlaybookSpec",
    "PlaybooksCreated",
    "StepSpec",
    "StepConflict",
    "TemplateStepsError",
    "churned_text",
    "notifications_create_assigned",
    "notifications_mark_read",
    "notifications_mark_read_for",
    "notifications_notify_admins",
    "notifications_send_digest",
    "org_manager_id",
    "playbook_close",
    "playbook_link_interaction",
    "playbook_log_contact",
    "playbook_outcome_due",
    "playbook_reassign",
    "playbook_start",
    "playbook_template_save",
    "playbooks_cancel_for_churn",
    "playbooks_create_bulk",
    "playbooks_handover",
    "playbooks_handover_member",
    "step_add_note",
    "step_complete",
    "step_snooze",
]
