"""factory-boy factories for every model, in one module."""

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from accounts import models as am
from orgs import models as om
from surveys import models as sm


class TenantFactory(DjangoModelFactory):
    """Creates rows through `all_objects`, so factories work with no organization in context."""

    class Meta:
        abstract = True

    @classmethod
    def _get_manager(cls, model_class):
        return model_class.all_objects


class OrganizationFactory(DjangoModelFactory):
    class Meta:
        model = om.Organization
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Org {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")
    # The tests read the pages in English; tests/i18n reads them in Portuguese.
    locale = "en"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = om.User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "pass12345")

    @factory.post_generation
    def _save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = om.Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = om.Role.CSM


class ProductFactory(TenantFactory):
    class Meta:
        model = am.Product

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Product {n}")
    code = factory.Sequence(lambda n: f"product-{n}")


class ChurnReasonFactory(TenantFactory):
    class Meta:
        model = am.ChurnReason

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Reason {n}")


class PersonaFactory(TenantFactory):
    class Meta:
        model = am.Persona

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Persona {n}")
    slug = factory.Sequence(lambda n: f"persona-{n}")
    rules = factory.LazyFunction(dict)


class AccountFactory(TenantFactory):
    class Meta:
        model = am.Account

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Account {n:05d}")
    external_id = factory.Sequence(lambda n: f"ACC-{n:06d}")
    industry = "Healthcare"
    region = "Southeast"
    size_band = am.SizeBand.MEDIUM
    tier = am.Tier.GOLD
    touch_model = am.TouchModel.MID
    lifecycle_stage = am.LifecycleStage.ONGOING
    customer_since = dt.date(2023, 1, 15)


class ContactFactory(TenantFactory):
    class Meta:
        model = am.Contact

    account = factory.SubFactory(AccountFactory)
    organization = factory.SelfAttribute("account.organization")
    name = factory.Faker("name")
    email = factory.Faker("email")
    role = am.ContactRole.CHAMPION
    consent_given_at = factory.LazyFunction(timezone.now)
    consent_source = "signup form"


class SubscriptionFactory(TenantFactory):
    class Meta:
        model = am.Subscription

    account = factory.SubFactory(AccountFactory)
    organization = factory.SelfAttribute("account.organization")
    product = factory.SubFactory(
        ProductFactory, organization=factory.SelfAttribute("..organization")
    )
    mrr = Decimal("1000.00")
    start_date = dt.date(2023, 1, 15)
    renewal_date = dt.date(2027, 1, 15)
    status = am.SubscriptionStatus.ACTIVE


class MrrMovementFactory(TenantFactory):
    class Meta:
        model = am.MrrMovement

    account = factory.SubFactory(AccountFactory)
    organization = factory.SelfAttribute("account.organization")
    date = dt.date(2024, 1, 1)
    kind = am.MrrMovementKind.NEW
    delta_mrr = Decimal("1000.00")


class UsageMetricFactory(TenantFactory):
    class Meta:
        model = am.UsageMetric

    account = factory.SubFactory(AccountFactory)
    organization = factory.SelfAttribute("account.organization")
    metric = "logins"
    date = dt.date(2024, 1, 1)
    value = 10.0


class TicketFactory(TenantFactory):
    class Meta:
        model = am.Ticket

    account = factory.SubFactory(AccountFactory)
    organization = factory.SelfAttribute("account.organization")
    subject = factory.Sequence(lambda n: f"Ticket {n}")
    opened_at = factory.LazyFunction(timezone.now)
    sla_due_at = factory.LazyAttribute(lambda t: t.opened_at + dt.timedelta(days=1))


class InvoiceFactory(TenantFactory):
    class Meta:
        model = am.Invoice

    account = factory.SubFactory(AccountFactory)
    organization = factory.SelfAttribute("account.organization")
    number = factory.Sequence(lambda n: f"INV-{n:06d}")
    issued_on = dt.date(2024, 1, 1)
    due_on = dt.date(2024, 1, 31)
    amount = Decimal("1000.00")


class SurveyResponseFactory(TenantFactory):
    class Meta:
        model = am.SurveyResponse

    account = factory.SubFactory(AccountFactory)
    organization = factory.SelfAttribute("account.organization")
    kind = am.SurveyKind.NPS
    score = 9
    answered_at = factory.LazyFunction(timezone.now)


class InteractionFactory(TenantFactory):
    class Meta:
        model = am.Interaction

    account = factory.SubFactory(AccountFactory)
    organization = factory.SelfAttribute("account.organization")
    kind = am.InteractionKind.CALL
    occurred_at = factory.LazyFunction(timezone.now)
    summary = "Quarterly check-in"


class SurveyCampaignFactory(TenantFactory):
    class Meta:
        model = sm.SurveyCampaign

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Campaign {n}")
    kind = am.SurveyKind.NPS
    cadence = sm.Cadence.EVERY
    days = 30
    messages = factory.LazyFunction(
        lambda: {"en": {"subject": "Quick question, {name}", "body": "Hi {name} of {account}."}}
    )


class SurveyInvitationFactory(TenantFactory):
    class Meta:
        model = sm.SurveyInvitation

    campaign = factory.SubFactory(SurveyCampaignFactory)
    organization = factory.SelfAttribute("campaign.organization")
    contact = factory.SubFactory(
        ContactFactory,
        organization=factory.SelfAttribute("..organization"),
        account__organization=factory.SelfAttribute("...organization"),
    )
    account = factory.SelfAttribute("contact.account")
    period = factory.Sequence(lambda n: f"test:{n}")
    language = "en"
    sent_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=30))
