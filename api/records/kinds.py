"""The nine kinds of record that come in (accounts, contacts, products, subscriptions, usage,
tickets, invoices, survey answers, interactions): their columns, keys, the spellings a
spreadsheet may use for their choices, and their record-level rules."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import models as am

from .columns import Column, Kind, _after, _choices, key, text
from .values import (
    read_bool,
    read_choice,
    read_date,
    read_datetime,
    read_decimal,
    read_email,
    read_float,
    read_int,
    read_slug,
)


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
