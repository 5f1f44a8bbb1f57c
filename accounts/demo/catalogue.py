"""The demo's catalogue: every name, list and probability its portfolio is drawn from (products,
churn reasons, personas, users, tiers, industries, regions, words for company and people's
names, ticket subjects...) and the DemoSpec that sizes a portfolio. Pure data, no database.

About 400 lines, most of them word lists and probability tables: kept together so the
portfolio's shape reads in one place."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

DEMO_PASSWORD = "demo-pass-2026"
DEFAULT_SLUG = "demo"
MAX_MONTHS = 36
USAGE_METRICS = ("logins", "active_users", "transactions", "transacted_volume")

# -- the catalogue ----------------------------------------------------------------------------

# (code, name, description, weight as an add-on)
PRODUCTS = [
    ("core", "Core platform", "Customer records, workflows and reporting.", 0.0),
    ("analytics", "Analytics", "Dashboards, cohorts and scheduled reports.", 0.35),
    ("payments", "Payments", "Card, Pix and boleto processing.", 0.30),
    ("marketplace", "Marketplace", "Sell through partner marketplaces.", 0.15),
    ("mobile", "Mobile app", "White-label mobile app for end customers.", 0.20),
]
TX_PRODUCTS = ("payments", "marketplace")  # holders of these transact

CHURN_REASONS = [
    ("Price", 0.20),
    ("Product fit", 0.14),
    ("Support quality", 0.12),
    ("Went out of business", 0.10),
    ("Competitor", 0.18),
    ("Low adoption", 0.16),
    ("Budget cuts", 0.10),
]

# Personas: condition trees in the language of conditions/ (see accounts/personas.py). The
# first, by priority, that holds an account is its persona; "strategic" is picked by hand.
PERSONAS = [
    {
        "slug": "strategic",
        "name": "Strategic logos",
        "priority": 5,
        "description": "Reference customers picked by hand by the CS leadership.",
        "rules": {},
    },
    {
        "slug": "enterprise-high-touch",
        "name": "Enterprise high-touch",
        "priority": 10,
        "description": "Diamond and platinum accounts with a dedicated CSM.",
        "rules": {"all": [{"field": "tier", "op": "in", "value": ["diamond", "platinum"]}]},
    },
    {
        "slug": "healthcare",
        "name": "Healthcare",
        "priority": 20,
        "description": "Clinics, hospitals and labs: regulated, with their own playbooks.",
        "rules": {"all": [{"field": "industry", "op": "=", "value": "Healthcare"}]},
    },
    {
        "slug": "mid-market",
        "name": "Mid-market",
        "priority": 30,
        "description": "Gold accounts worked in pooled mid-touch.",
        "rules": {
            "all": [
                {"field": "tier", "op": "=", "value": "gold"},
                {"field": "touch_model", "op": "in", "value": ["high", "mid"]},
            ]
        },
    },
    {
        "slug": "payments-merchants",
        "name": "Payments merchants",
        "priority": 40,
        "description": "Mid-touch merchants that process payments with us.",
        "rules": {
            "all": [
                {"field": "touch_model", "op": "=", "value": "mid"},
                {"field": "products", "op": "contains", "value": "payments"},
            ]
        },
    },
    {
        "slug": "smb-tech-touch",
        "name": "SMB tech-touch",
        "priority": 50,
        "description": "Small accounts served by low-touch and digital programmes.",
        "rules": {"all": [{"field": "touch_model", "op": "in", "value": ["low", "tech"]}]},
    },
]


@dataclass(frozen=True)
class DemoUser:
    login: str
    role: str
    first_name: str
    last_name: str
    segment: str = ""  # for CSMs: the touch models whose accounts they own


DEMO_USERS = [
    DemoUser("admin", "admin", "Beatriz", "Alves"),
    DemoUser("manager", "manager", "Marcos", "Pereira"),
    DemoUser("analyst", "analyst", "Ana", "Ribeiro"),
    # High-touch CSMs own few, big accounts; scaled CSMs own many small ones.
    DemoUser("csm", "csm", "Carla", "Souza", "high"),
    DemoUser("csm2", "csm", "Rafael", "Lima", "high"),
    DemoUser("csm3", "csm", "Juliana", "Rocha", "mid"),
    DemoUser("csm4", "csm", "Pedro", "Martins", "mid"),
    DemoUser("csm5", "csm", "Fernanda", "Dias", "scale"),
    DemoUser("csm6", "csm", "Lucas", "Carvalho", "scale"),
]


def demo_username(slug: str, login: str) -> str:
    """Logins are plain for the `demo` organization and prefixed by the slug for any other,
    so several demo organizations can live in one database."""
    return login if slug == DEFAULT_SLUG else f"{slug}-{login}"


TIERS = np.array(["diamond", "platinum", "gold", "silver", "bronze"])
TIER_P = [0.03, 0.07, 0.20, 0.35, 0.35]
TOUCHES = np.array(["high", "mid", "low", "tech"])
TOUCH_BY_TIER = np.array(
    [
        [0.90, 0.10, 0.00, 0.00],
        [0.70, 0.30, 0.00, 0.00],
        [0.10, 0.75, 0.15, 0.00],
        [0.00, 0.30, 0.50, 0.20],
        [0.00, 0.05, 0.40, 0.55],
    ]
)
SIZES = np.array(["1-10", "11-50", "51-200", "201-1000", "1000+"])
SIZE_BY_TIER = np.array(
    [
        [0.00, 0.00, 0.10, 0.40, 0.50],
        [0.00, 0.05, 0.25, 0.50, 0.20],
        [0.00, 0.15, 0.50, 0.30, 0.05],
        [0.10, 0.45, 0.35, 0.10, 0.00],
        [0.45, 0.45, 0.10, 0.00, 0.00],
    ]
)
SEATS_BY_SIZE = np.array([3.0, 9.0, 25.0, 70.0, 200.0])
# Share of working days with any use: small customers do not log in every day, which is what
# makes usage frequency an informative health indicator.
ACTIVE_DAY_P_BY_SIZE = np.array([0.45, 0.6, 0.8, 0.92, 0.97])
TICKETS_PER_MONTH_BY_SIZE = np.array([0.25, 0.45, 0.8, 1.4, 2.6])
MRR_MEDIAN_BY_TIER = np.array([38000.0, 14000.0, 4500.0, 1400.0, 450.0])
CHURN_P_BY_TIER = np.array([0.05, 0.08, 0.12, 0.17, 0.22])
INTERACTIONS_PER_MONTH_BY_TOUCH = np.array([4.0, 1.6, 0.6, 0.15])
PRODUCTS_COUNT_BY_TIER = np.array(  # P(1..4 products)
    [
        [0.10, 0.30, 0.35, 0.25],
        [0.10, 0.30, 0.35, 0.25],
        [0.25, 0.40, 0.25, 0.10],
        [0.50, 0.35, 0.12, 0.03],
        [0.55, 0.33, 0.10, 0.02],
    ]
)

# (industry, probability, peak day of year of its yearly season, words for company names)
INDUSTRIES = [
    ("Retail", 0.16, 340, ["Varejo", "Magazine", "Comércio", "Atacadista", "Lojas", "Empório"]),
    ("Healthcare", 0.12, 120, ["Saúde", "Clínica", "Hospital", "Diagnósticos", "Farma", "Odonto"]),
    (
        "Financial services",
        0.10,
        15,
        ["Finanças", "Crédito", "Investimentos", "Seguros", "Capital", "Fomento"],
    ),
    ("Education", 0.10, 60, ["Educação", "Ensino", "Escola", "Colégio", "Cursos", "Faculdade"]),
    (
        "Manufacturing",
        0.12,
        250,
        ["Indústria", "Metalúrgica", "Têxtil", "Plásticos", "Alimentos", "Embalagens"],
    ),
    (
        "Logistics",
        0.09,
        320,
        ["Logística", "Transportes", "Cargas", "Express", "Armazéns", "Frota"],
    ),
    ("Technology", 0.13, 200, ["Tecnologia", "Sistemas", "Software", "Digital", "Dados", "Labs"]),
    (
        "Agribusiness",
        0.07,
        100,
        ["Agro", "Agrícola", "Grãos", "Sementes", "Pecuária", "Cooperativa"],
    ),
    (
        "Hospitality",
        0.05,
        10,
        ["Hotéis", "Turismo", "Viagens", "Restaurantes", "Eventos", "Resorts"],
    ),
    (
        "Professional services",
        0.06,
        280,
        ["Consultoria", "Advocacia", "Contabilidade", "Engenharia", "Serviços", "Associados"],
    ),
]
WEEKEND_INDUSTRIES = {"Retail", "Hospitality"}
# (region, probability, area codes)
REGIONS = [
    ("Sudeste", 0.48, [11, 21, 31, 19, 27, 13]),
    ("Sul", 0.20, [41, 51, 48, 47, 54]),
    ("Nordeste", 0.16, [71, 81, 85, 84, 98]),
    ("Centro-Oeste", 0.10, [61, 62, 65, 67]),
    ("Norte", 0.06, [91, 92, 95, 96]),
]
ACQUISITION_CHANNELS = (
    ["Inbound", "Outbound", "Partner", "Referral", "Events"],
    [35, 25, 20, 12, 8],
)
RELATIONSHIP_CHANNELS = np.array(["Direct", "Partner", "Self-service"])
RELATIONSHIP_BY_TOUCH = np.array(
    [[0.9, 0.1, 0.0], [0.7, 0.25, 0.05], [0.45, 0.3, 0.25], [0.15, 0.25, 0.6]]
)

SURNAMES = [
    "Almeida", "Andrade", "Azevedo", "Barbosa", "Barros", "Batista", "Borges", "Braga",
    "Campos", "Cardoso", "Carvalho", "Castro", "Correia", "Costa", "Cunha", "Dias", "Duarte",
    "Farias", "Fernandes", "Ferreira", "Fonseca", "Freitas", "Gomes", "Gonçalves", "Lima",
    "Lopes", "Macedo", "Machado", "Marques", "Martins", "Medeiros", "Melo", "Mendes", "Miranda",
    "Monteiro", "Moraes", "Moreira", "Nascimento", "Neves", "Nogueira", "Nunes", "Oliveira",
    "Pacheco", "Peixoto", "Pereira", "Pinheiro", "Pinto", "Prado", "Queiroz", "Ramos", "Reis",
    "Ribeiro", "Rocha", "Rodrigues", "Santana", "Santos", "Siqueira", "Silva", "Soares",
    "Souza", "Teixeira", "Tavares", "Vasconcelos", "Vieira", "Xavier",
]  # fmt: skip
BRANDS = [
    "Aurora", "Horizonte", "Atlântico", "Serra Azul", "Pampa", "Cerrado", "Litoral", "Ipê",
    "Jatobá", "Araucária", "Paraná", "Tietê", "Itapuã", "Guanabara", "Planalto", "Sertão",
    "Bandeirantes", "Tupi", "Iguaçu", "Mantiqueira", "Capibaribe", "Pantanal", "Amazônia",
    "Boa Vista", "Vale Verde", "Nova Era", "Cruzeiro", "Estrela", "Sol Nascente", "Rio Claro",
    "Maré Alta", "Jacarandá", "Caravela", "Bem-te-vi", "Sabiá", "Alvorada",
]  # fmt: skip
# Legal forms by size band: micro-enterprises are "ME", big companies are mostly "S.A.".
LEGAL_SUFFIXES = [
    ["ME", "Ltda", "ME", ""],
    ["Ltda", "ME", "Ltda", ""],
    ["Ltda", "Ltda", "S.A.", ""],
    ["S.A.", "Ltda", "S.A.", ""],
    ["S.A.", "S.A.", "Ltda", ""],
]
FIRST_NAMES = [
    "Ana", "Beatriz", "Bruno", "Camila", "Carlos", "Daniela", "Diego", "Eduardo", "Fernanda",
    "Gabriel", "Gustavo", "Helena", "Igor", "Isabela", "João", "Juliana", "Larissa", "Leonardo",
    "Letícia", "Lucas", "Luiza", "Marcelo", "Mariana", "Mateus", "Natália", "Paulo", "Patrícia",
    "Rafael", "Renata", "Rodrigo", "Sofia", "Thiago", "Vanessa", "Vinícius", "Aline", "André",
    "Bianca", "Caio", "Débora", "Felipe", "Gabriela", "Henrique", "Jéssica", "Luana", "Márcio",
    "Otávio", "Priscila", "Roberta", "Sérgio", "Tatiane",
]  # fmt: skip
CONTACT_ROLES_BY_TOUCH = {
    "high": ["executive_sponsor", "decision_maker", "champion", "billing", "user"],
    "other": ["decision_maker", "champion", "billing", "user", "user"],
}
TITLES = {
    "executive_sponsor": ["CEO", "Diretor(a) Executivo(a)", "COO", "CFO", "Sócio(a)-diretor(a)"],
    "decision_maker": ["Diretor(a) de Operações", "Gerente de TI", "Head de Vendas", "CTO"],
    "champion": ["Coordenador(a) de Operações", "Analista Sênior", "Gerente de Projetos"],
    "user": ["Analista", "Assistente Administrativo", "Supervisor(a)", "Vendedor(a)"],
    "billing": ["Analista Financeiro(a)", "Contas a Pagar", "Controller"],
}
CONSENT_SOURCES = ["signup form", "contract", "event", "email opt-in"]
NOTES = [
    "Quarterly business review every March; the sponsor prefers in-person meetings.",
    "Migrated from a competitor in their first year; watch data import questions.",
    "Uses Pix heavily; billing contact asks for boletos by email.",
    "Multi-site customer: each branch has its own admin user.",
    "Asked for SSO on the roadmap call; revisit at renewal.",
    "Champion changed jobs last year; rebuild the relationship with the new coordinator.",
]
TICKET_SUBJECTS = [
    "Cannot log in after password reset",
    "Report export to CSV is slow",
    "Payment gateway timeout at checkout",
    "Invoice amount does not match the contract",
    "ERP integration failing since update",
    "Mobile app crashes on Android",
    "Dashboard shows wrong totals",
    "New user permissions request",
    "API rate limit exceeded",
    "Data import failed with an encoding error",
    "Marketplace orders not syncing",
    "Question about the billing cycle",
    "Feature request: custom fields on customers",
    "Webhook not delivered",
    "Pages load slowly in the afternoon",
    "Pix payments not reconciled",
]
TICKET_PRIORITIES = np.array(["low", "normal", "high", "urgent"])
SLA_HOURS = np.array([72.0, 24.0, 8.0, 4.0])
INTERACTION_KINDS = np.array(["call", "meeting", "email", "visit"])
INTERACTION_KIND_BY_TOUCH = np.array(
    [[0.30, 0.35, 0.20, 0.15], [0.40, 0.20, 0.35, 0.05], [0.35, 0.05, 0.60, 0.0], [0.1, 0, 0.9, 0]]
)
INTERACTION_SUMMARIES = {
    "call": [
        "Check-in call",
        "Call about open support tickets",
        "Renewal conversation",
        "Adoption review call",
        "Call about an overdue invoice",
    ],
    "meeting": [
        "Quarterly business review",
        "Onboarding session",
        "Roadmap presentation",
        "Executive alignment meeting",
        "Training session for new users",
    ],
    "email": [
        "Sent monthly usage report",
        "Follow-up on a support ticket",
        "Shared release notes",
        "Renewal reminder",
        "Invited to the customer webinar",
    ],
    "visit": ["On-site visit", "Visit with the executive sponsor", "On-site training"],
}
NPS_COMMENTS = {
    "promoter": [
        "Great product, the team answers fast.",
        "Ótimo atendimento, recomendo!",
        "It saves our team hours every week.",
    ],
    "passive": [
        "Good overall, reports could be faster.",
        "Does the job; the mobile app needs work.",
        "Fine, but onboarding new users takes long.",
    ],
    "detractor": [
        "Too expensive for what we use.",
        "Support takes days to answer.",
        "We are evaluating other tools.",
        "The product no longer fits our process.",
    ],
}


# The demo organization's locale -> its currency and time zone.
DEMO_LOCALES = {"pt-br": ("BRL", "America/Sao_Paulo"), "en": ("USD", "America/New_York")}


@dataclass(frozen=True)
class DemoSpec:
    slug: str = DEFAULT_SLUG
    accounts: int = 3000
    months: int = 12
    seed: int = 42
    today: dt.date = dt.date(2026, 1, 1)
    # The demo is Brazilian (its users' language, reais, São Paulo's days); `make demo` also
    # seeds a small English-language one in dollars to show the language follow the organization.
    locale: str = "pt-br"

    @property
    def currency(self) -> str:
        return DEMO_LOCALES[self.locale][0]

    @property
    def timezone(self) -> str:
        return DEMO_LOCALES[self.locale][1]

    @property
    def today_day(self) -> int:
        """Today as days since 1970-01-01; signals run until yesterday."""
        return int(np.datetime64(self.today, "D").astype(np.int64))

    @property
    def window_days(self) -> int:
        return int(round(self.months * 365.25 / 12))

    @property
    def window_start(self) -> int:
        return self.today_day - self.window_days

    @property
    def org_name(self) -> str:
        return "Demo CS" if self.slug == DEFAULT_SLUG else f"Demo CS ({self.slug})"
