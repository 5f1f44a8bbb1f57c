"""One row of every tenant model for an organization, every relation filled, so tests can
point one organization's forms at another's rows (tests/orgs/test_cross_org_relations.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.apps import apps
from django.utils import timezone

from accounts import models as am
from health.models import (
    CsmJudgement,
    DisagreementResolution,
    FitnessSnapshot,
    HealthModel,
    HealthModelVersion,
    HealthRun,
    HealthRunChunk,
    HealthScore,
    Indicator,
    ScoreLayout,
)
from lifecycle.models import LifecycleSettings, PurchaseGoal
from orgs.models import Membership, Role
from orgs.tenancy import TenantModel
from playbooks.models import (
    Notification,
    NotificationKind,
    Playbook,
    PlaybookContact,
    PlaybookStep,
    PlaybookTemplate,
    TemplateStep,
)
from reports.models import (
    AccountStart,
    AccountStartState,
    ChurnProductMonth,
    CoverageGoal,
    EffectMonth,
    EffectMonthState,
    FactRefresh,
    HealthBaseline,
    LedgerAccount,
    LedgerCell,
    LedgerCubeState,
    LedgerTotal,
    MrrMonth,
    MrrMonthState,
    PlaybookEffect,
    PortfolioDay,
    ReportSettings,
    RetentionAlarmMonth,
    RetentionNetMonth,
    RiskDay,
    TriggerDay,
    TriggerOutcomeDay,
    TriggerSpan,
)
from surveys.models import SurveyCampaign, SurveyInvitation
from tests import factories as f
from triggers.models import (
    Alert,
    Firing,
    RetentionForecast,
    Trigger,
    TriggerRun,
    TriggerRunChunk,
    TriggerSwitch,
    TriggerVersion,
    WeeklyCap,
)

APPS = ("accounts", "health", "playbooks", "triggers", "reports", "surveys")


def tenant_models() -> list[type[TenantModel]]:
    return [
        m
        for label in APPS
        for m in apps.get_app_config(label).get_models()
        if issubclass(m, TenantModel)
    ]


def build(org, prefix: str) -> dict:
    """Every tenant model once for `org`, plus an admin and a CSM who are its members only.
    Returns {model: row} with the users under "admin" and "csm"."""
    admin = f.UserFactory(username=f"{prefix}-admin")
    csm = f.UserFactory(username=f"{prefix}-csm", first_name=f"{prefix.title()} CSM")
    Membership.objects.create(user=admin, organization=org, role=Role.ADMIN)
    membership = Membership.objects.create(user=csm, organization=org, role=Role.CSM)
    product = f.ProductFactory(organization=org, name=f"{prefix} product", code=f"{prefix}-p")
    reason = f.ChurnReasonFactory(organization=org, name=f"{prefix} reason")
    persona = f.PersonaFactory(organization=org, name=f"{prefix} persona", slug=f"{prefix}-p")
    account = f.AccountFactory(organization=org, name=f"{prefix} account", owner=csm)
    persona.hand_picked.add(account)
    contact = f.ContactFactory(account=account, name=f"{prefix} contact")
    subscription = f.SubscriptionFactory(account=account, product=product)
    interaction = f.InteractionFactory(account=account, contact=contact, author=csm)
    model = HealthModel.all_objects.create(organization=org, name=f"{prefix} model")
    template = PlaybookTemplate.all_objects.create(
        organization=org, name=f"{prefix} template", kind="retention", persona=persona
    )
    trigger = Trigger.all_objects.create(
        organization=org,
        name=f"{prefix} trigger",
        kind="retention",
        persona=persona,
        product=product,
        condition={"field": "health_colour", "op": "=", "value": "red"},
        template=template,
    )
    firing = Firing.all_objects.create(
        organization=org,
        trigger=trigger,
        account=account,
        period=dt.date(2024, 6, 1),
        fired_on=dt.date(2024, 6, 1),
    )
    playbook = Playbook.all_objects.create(
        organization=org,
        account=account,
        template=template,
        kind="retention",
        title=f"{prefix} playbook",
        owner=csm,
        opened_on=dt.date(2024, 6, 1),
        closed_by=csm,
        opportunity_product=product,
        churn_reason=reason,
    )
    run = HealthRun.all_objects.create(organization=org, date=dt.date(2024, 6, 1))
    layout = ScoreLayout.all_objects.create(
        organization=org, keys=["tenure"], weights=[1.0], digest=f"{prefix}-tenure"
    )
    trigger_run = TriggerRun.all_objects.create(organization=org, date=dt.date(2024, 6, 1))
    judgement = CsmJudgement.all_objects.create(
        organization=org,
        account=account,
        colour="green",
        reason="Sponsor is happy",
        set_on=dt.date(2024, 6, 1),
        expires_on=dt.date(2024, 8, 30),
        set_by=csm,
    )
    rows = {
        "admin": admin,
        "csm": csm,
        Membership: membership,
        am.Product: product,
        am.ChurnReason: reason,
        am.Persona: persona,
        am.Account: account,
        am.Contact: contact,
        am.Subscription: subscription,
        am.MrrMovement: f.MrrMovementFactory(account=account, subscription=subscription),
        am.UsageMetric: f.UsageMetricFactory(account=account),
        am.UsageMonth: am.UsageMonth.all_objects.create(
            organization=org,
            account=account,
            metric="logins",
            month=dt.date(2026, 1, 1),
            total=3,
            days=2,
            active_days=1,
            peak=3,
        ),
        am.Ticket: f.TicketFactory(account=account),
        am.Invoice: f.InvoiceFactory(account=account),
        am.SurveyResponse: f.SurveyResponseFactory(account=account, contact=contact),
        am.Interaction: interaction,
        am.LifecycleChange: am.LifecycleChange.all_objects.create(
            organization=org,
            account=account,
            from_stage="onboarding",
            to_stage="adoption",
            changed_on=dt.date(2026, 1, 31),
        ),
        HealthModel: model,
        Indicator: Indicator.all_objects.create(
            organization=org,
            model=model,
            measure="tenure",
            direction="higher",
            bad_value=0,
            good_value=365,
        ),
        ScoreLayout: layout,
        HealthScore: HealthScore.all_objects.create(
            organization=org,
            account=account,
            date=dt.date(2024, 6, 1),
            model=model,
            score=40,
            colour="red",
            layout=layout,
            raws=[100.0],
            scores=[27.4],
        ),
        HealthRun: run,
        HealthRunChunk: HealthRunChunk.all_objects.create(
            organization=org, run=run, index=0, first_account_id=1, last_account_id=2
        ),
        CsmJudgement: judgement,
        DisagreementResolution: DisagreementResolution.all_objects.create(
            organization=org,
            judgement=judgement,
            account=account,
            model=model,
            decision="agree_csm",
            csm_colour="green",
            model_colour="red",
            days=15,
            resolved_by=admin,
        ),
        FitnessSnapshot: FitnessSnapshot.all_objects.create(
            organization=org,
            model=model,
            model_version=1,
            day=dt.date(2024, 6, 1),
            kind="fitness",
        ),
        HealthModelVersion: HealthModelVersion.all_objects.create(
            organization=org, model=model, version=1, snapshot={"name": f"{prefix} model"}
        ),
        PlaybookTemplate: template,
        TemplateStep: TemplateStep.all_objects.create(
            organization=org, template=template, order=1, title="Call"
        ),
        Playbook: playbook,
        PlaybookStep: PlaybookStep.all_objects.create(
            organization=org,
            playbook=playbook,
            order=1,
            title="Call",
            due_on=dt.date(2024, 6, 3),
            assignee=csm,
            completed_by=csm,
        ),
        PlaybookContact: PlaybookContact.all_objects.create(
            organization=org, playbook=playbook, interaction=interaction
        ),
        Notification: Notification.all_objects.create(
            organization=org,
            user=csm,
            kind=NotificationKind.PLAYBOOK_ASSIGNED,
            playbook=playbook,
            ref=playbook.pk,
            text=f"{prefix} notification",
        ),
        Trigger: trigger,
        Firing: firing,
        Alert: Alert.all_objects.create(
            organization=org,
            firing=firing,
            account=account,
            owner=csm,
            decided_by=csm,
            playbook=playbook,
            decided_at=timezone.now(),
        ),
        RetentionForecast: RetentionForecast.all_objects.create(
            organization=org,
            month=dt.date(2024, 6, 1),
            persona=persona,
            product=product,
            mrr_at_risk=Decimal("10"),
        ),
        TriggerRun: trigger_run,
        TriggerRunChunk: TriggerRunChunk.all_objects.create(
            organization=org, run=trigger_run, index=0, first_account_id=1, last_account_id=2
        ),
        WeeklyCap: WeeklyCap.all_objects.create(
            organization=org, persona=persona, per_csm=5, updated_by=csm
        ),
        TriggerVersion: TriggerVersion.all_objects.create(
            organization=org, trigger=trigger, version=1, fields={"name": trigger.name}
        ),
        TriggerSwitch: TriggerSwitch.all_objects.create(
            organization=org, trigger=trigger, is_active=False, created_by=admin
        ),
    }
    rows[LifecycleSettings] = LifecycleSettings.all_objects.create(organization=org)
    rows[PurchaseGoal] = PurchaseGoal.all_objects.create(
        organization=org,
        account=account,
        text=f"{prefix} goal",
        recorded_by=csm,
        recorded_on=dt.date(2024, 6, 1),
    )
    settings = ReportSettings.all_objects.create(organization=org)
    day = dt.date(2024, 6, 1)
    rows.update(
        {
            ReportSettings: settings,
            CoverageGoal: CoverageGoal.all_objects.create(
                organization=org, settings=settings, persona=persona, goal_pct=75
            ),
            PortfolioDay: PortfolioDay.all_objects.create(organization=org, date=day),
            HealthBaseline: HealthBaseline.all_objects.create(
                organization=org, week=day, horizon=30, colour="red"
            ),
            PlaybookEffect: PlaybookEffect.all_objects.create(
                organization=org, playbook=playbook, account=account, closed_on=day, week=day
            ),
            FactRefresh: FactRefresh.all_objects.create(
                organization=org, date=day, finished_at=timezone.now()
            ),
            RiskDay: RiskDay.all_objects.create(organization=org, date=day),
            TriggerDay: TriggerDay.all_objects.create(
                organization=org, date=day, trigger_id=trigger.pk, trigger_version=1, firings=1
            ),
            TriggerOutcomeDay: TriggerOutcomeDay.all_objects.create(
                organization=org, date=day, trigger_id=trigger.pk, trigger_version=1, days=3
            ),
            TriggerSpan: TriggerSpan.all_objects.create(organization=org, playbook_id=playbook.pk),
            LedgerTotal: LedgerTotal.all_objects.create(
                organization=org, date_from=day, date_to=day, movements=0, last_movement=0
            ),
            MrrMonth: MrrMonth.all_objects.create(
                organization=org, account_id=account.pk, month=day, first_date=day
            ),
            MrrMonthState: MrrMonthState.all_objects.create(
                organization=org, refreshed_at=timezone.now()
            ),
            EffectMonth: EffectMonth.all_objects.create(
                organization=org, month=day, kind="retention", days=3
            ),
            EffectMonthState: EffectMonthState.all_objects.create(
                organization=org, cut=timezone.now(), refreshed_at=timezone.now()
            ),
            RetentionAlarmMonth: RetentionAlarmMonth.all_objects.create(
                organization=org, month=day
            ),
            RetentionNetMonth: RetentionNetMonth.all_objects.create(organization=org, month=day),
            ChurnProductMonth: ChurnProductMonth.all_objects.create(
                organization=org, account_id=account.pk, month=day
            ),
            LedgerCell: LedgerCell.all_objects.create(
                organization=org, date_from=day, date_to=day, members=1
            ),
            LedgerAccount: LedgerAccount.all_objects.create(
                organization=org, account_id=account.pk
            ),
            LedgerCubeState: LedgerCubeState.all_objects.create(
                organization=org, refreshed_at=timezone.now()
            ),
            AccountStart: AccountStart.all_objects.create(
                organization=org, account_id=account.pk, first_start=day
            ),
            AccountStartState: AccountStartState.all_objects.create(
                organization=org, refreshed_at=timezone.now()
            ),
        }
    )
    campaign = SurveyCampaign.all_objects.create(
        organization=org,
        name=f"{prefix} survey",
        persona=persona,
        followup_template=template,
    )
    rows[SurveyCampaign] = campaign
    rows[SurveyInvitation] = SurveyInvitation.all_objects.create(
        organization=org,
        campaign=campaign,
        contact=contact,
        account=account,
        period="2024-06-01",
        sent_at=timezone.now(),
        expires_at=timezone.now() + dt.timedelta(days=30),
        response=rows[am.SurveyResponse],
    )
    missing = [m.__name__ for m in tenant_models() if m not in rows]
    assert not missing, f"tenant_graph.build lacks a row of {missing}"
    return rows
