"""The demo portfolio: a deterministic, realistic organization (products, personas, accounts,
subscriptions and their MRR ledger, contacts, a year of churn history and daily signals), built
as numpy/pandas frames and written in bulk, for `manage.py seed_demo`.

The first half is pure: given a DemoSpec it builds frames with no database. Each account gets a
hidden *fate* (steady, seasonal, expanding, at risk, churned) that shapes all of its signals, so a
health model has something true to find: for churners (and the at-risk accounts that will churn
soon) usage falls, tickets breach their SLA, invoices go unpaid and NPS drops over the 50-120
days before the churn date; usage grows over the 2-4 months before an expansion.

The second half writes the frames: raw `executemany` on SQLite and `COPY` on PostgreSQL, all in
one transaction, never a row at a time.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

DEMO_PASSWORD = "demo-pass-2026"
DEFAULT_SLUG = "demo"
MAX_MONTHS = 36
USAGE_METRICS = ("logins", "active_users", "transactions", "transacted_volume")
# Accounts x days per chunk of signal generation: bounds memory at any portfolio size.
_CELLS_PER_CHUNK = 500_000

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


@dataclass(frozen=True)
class DemoSpec:
    slug: str = DEFAULT_SLUG
    accounts: int = 3000
    months: int = 12
    seed: int = 42
    today: dt.date = dt.date(2026, 1, 1)

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


# -- pure generation -------------------------------------------------------------------------


def _pick_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of `probs` (rows need not be normalized)."""
    cum = np.cumsum(probs, axis=1)
    cum = cum / cum[:, -1:]
    return (rng.random(len(probs))[:, None] > cum).sum(axis=1)


def _pick(rng: np.random.Generator, n: int, weights) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return rng.choice(len(w), size=n, p=w / w.sum())


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _day_strings(days: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(np.asarray(days, dtype="int64").astype("datetime64[D]"))


def _company_names(
    rng: np.random.Generator, industry: np.ndarray, size: np.ndarray
) -> tuple[list[str], list[str]]:
    """Brazilian-sounding company names and their e-mail domains."""
    n = len(industry)
    pattern = _pick(rng, n, [3, 3, 2, 1, 1])
    s1 = rng.integers(0, len(SURNAMES), n)
    s2 = rng.integers(0, len(SURNAMES), n)
    brand = rng.integers(0, len(BRANDS), n)
    word = rng.integers(0, 6, n)
    suffix = rng.integers(0, 4, n)
    names, stems = [], []
    for i in range(n):
        w = INDUSTRIES[industry[i]][3][word[i]]
        a, b, br = SURNAMES[s1[i]], SURNAMES[s2[i]], BRANDS[brand[i]]
        stem = {0: f"{a} {w}", 1: f"{br} {w}", 2: f"{w} {br}", 3: f"Grupo {a}", 4: f"{a} & {b}"}[
            pattern[i]
        ]
        legal = LEGAL_SUFFIXES[size[i]][suffix[i]]
        names.append(f"{stem} {legal}".strip())
        stems.append(stem)
    counts = pd.Series(names).groupby(names, sort=False).cumcount().to_numpy()
    names = [
        nm if k == 0 else f"{nm} - Filial {k + 1}" for nm, k in zip(names, counts, strict=True)
    ]
    domains = []
    for stem, k in zip(stems, counts, strict=True):
        base = "".join(ch for ch in _ascii(stem) if ch.isalnum())[:24]
        domains.append(f"{base}{k + 1 if k else ''}.com.br")
    return names, domains


def accounts_frame(spec: DemoSpec, rng: np.random.Generator) -> pd.DataFrame:
    """One row per account: its stored fields and the hidden fate that shapes its signals.
    Days are integers (days since 1970-01-01); -1 means none."""
    n = spec.accounts
    today, w0 = spec.today_day, spec.window_start
    tier = _pick(rng, n, TIER_P)
    touch = _pick_rows(rng, TOUCH_BY_TIER[tier])
    size = _pick_rows(rng, SIZE_BY_TIER[tier])
    industry = _pick(rng, n, [i[1] for i in INDUSTRIES])
    region = _pick(rng, n, [r[1] for r in REGIONS])
    acquisition = _pick(rng, n, ACQUISITION_CHANNELS[1])
    relationship = _pick_rows(rng, RELATIONSHIP_BY_TOUCH[touch])
    mrr = np.maximum(49.0, np.round(MRR_MEDIAN_BY_TIER[tier] * rng.lognormal(0, 0.55, n), -1))
    since = today - (20 + np.minimum(rng.exponential(650, n), 9 * 365)).astype(np.int64)

    # Fates. Churners: about 16% a year, more among small tiers, dated over the last year.
    u = rng.random(n)
    churned = u < CHURN_P_BY_TIER[tier]
    churn_day = np.where(churned, today - rng.integers(1, 366, n), -1)
    # A churner was a customer for a while before; nearly half leave at a contract anniversary.
    at_anniversary = churned & (rng.random(n) < 0.45)
    since = np.where(at_anniversary, churn_day - 365 * (1 + rng.poisson(1.2, n)), since)
    too_late = churned & (since > churn_day - 75)
    since = np.where(too_late, churn_day - 75 - rng.exponential(500, n).astype(np.int64), since)
    tenure = today - since

    rest = ~churned
    at_risk = rest & (tenure > 150) & (rng.random(n) < 0.08)
    expanding = rest & ~at_risk & (tenure > 120) & (rng.random(n) < 0.14)
    seasonal = rest & ~at_risk & ~expanding & (rng.random(n) < 0.30)
    fate = np.select(
        [churned, at_risk, expanding, seasonal],
        ["churned", "at_risk", "expanding", "seasonal"],
        default="steady",
    )

    # Deterioration runs from risk_start to risk_end (the churn date, real or coming).
    decline = rng.integers(50, 121, n)
    risk_end = np.where(churned, churn_day, -1)
    risk_start = np.where(churned, np.maximum(churn_day - decline, since + 15), -1)
    # At-risk accounts started deteriorating lately and will churn soon (not stored).
    at_risk_start = today - rng.integers(10, 91, n)
    at_risk_end = np.maximum(at_risk_start + decline, today + rng.integers(5, 60, n))
    risk_start = np.where(at_risk, at_risk_start, risk_start)
    risk_end = np.where(at_risk, at_risk_end, risk_end)
    neglected = (churned | at_risk) & (rng.random(n) < 0.5)

    lo = w0 + min(30, spec.window_days // 3)
    hi = max(lo + 1, today - 3)
    expansion_day = np.where(expanding, np.maximum(rng.integers(lo, hi, n), since + 60), -1)
    grow_start = np.where(expanding, expansion_day - rng.integers(60, 121, n), -1)

    reason_idx = np.where(churned, _pick(rng, n, [r[1] for r in CHURN_REASONS]), -1)
    has_note = rng.random(n) < 0.1
    note_idx = rng.integers(0, len(NOTES), n)
    names, domains = _company_names(rng, industry, size)

    # Usage character of each account.
    seats = SEATS_BY_SIZE[size] * rng.lognormal(0, 0.35, n)
    engagement = rng.beta(6, 3, n)
    weekend = np.array([INDUSTRIES[i][0] in WEEKEND_INDUSTRIES for i in industry])
    season_amp = np.where(seasonal, rng.uniform(0.25, 0.45, n), rng.uniform(0.0, 0.08, n))
    season_peak = np.array([INDUSTRIES[i][2] for i in industry]) + rng.integers(-20, 21, n)

    frame = pd.DataFrame(
        {
            "external_id": [f"ACC-{i + 1:06d}" for i in range(n)],
            "name": names,
            "domain": domains,
            "industry": np.array([i[0] for i in INDUSTRIES])[industry],
            "region": np.array([r[0] for r in REGIONS])[region],
            "region_idx": region,
            "size_band": SIZES[size],
            "size_idx": size,
            "tier": TIERS[tier],
            "tier_idx": tier,
            "touch_model": TOUCHES[touch],
            "touch_idx": touch,
            "acquisition_channel": np.array(ACQUISITION_CHANNELS[0])[acquisition],
            "relationship_channel": RELATIONSHIP_CHANNELS[relationship],
            "target_mrr": mrr,
            "since": since,
            "churn_day": churn_day,
            "churn_reason": np.where(
                churned, np.array([r[0] for r in CHURN_REASONS])[reason_idx], None
            ),
            "notes": np.where(has_note, np.array(NOTES)[note_idx], ""),
            "fate": fate,
            "risk_start": risk_start,
            "risk_end": risk_end,
            "neglected": neglected,
            "expansion_day": expansion_day,
            "grow_start": grow_start,
            "growth": np.where(expanding, rng.uniform(0.4, 0.9, n), 0.0),
            "seats": seats,
            "engagement": engagement,
            "active_p": np.clip(ACTIVE_DAY_P_BY_SIZE[size] + rng.normal(0, 0.08, n), 0.15, 0.99),
            "weekend": weekend,
            "season_amp": season_amp,
            "season_peak": season_peak,
            "trend": rng.normal(0.0, 0.12, n),
            "logins_per_user": rng.uniform(1.3, 3.0, n),
            "tx_per_user": rng.lognormal(np.log(6), 0.6, n),
            "ticket_value": rng.lognormal(np.log(120), 0.8, n),
            "ticket_rate": TICKETS_PER_MONTH_BY_SIZE[size] * rng.lognormal(0, 0.4, n) / 30.0,
            "late_payer": rng.random(n) < 0.08,
            "nps_bias": rng.normal(0.0, 0.9, n),
        }
    )
    frame["owner"] = _owners(frame, rng)
    return frame


def _owners(accounts: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Logins of the owning CSMs: high-touch accounts to the high-touch CSMs, mid to mid, the
    rest pooled between the scaled CSMs."""
    segment = np.select(
        [accounts["touch_model"].eq("high"), accounts["touch_model"].eq("mid")],
        ["high", "mid"],
        default="scale",
    )
    owner = np.empty(len(accounts), dtype=object)
    for seg in ("high", "mid", "scale"):
        logins = [u.login for u in DEMO_USERS if u.segment == seg]
        mask = segment == seg
        owner[mask] = np.array(logins)[rng.integers(0, len(logins), mask.sum())]
    return owner


def subscriptions_frames(
    accounts: pd.DataFrame, spec: DemoSpec, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Subscriptions (account x product) and the MRR ledger that explains them: for every
    subscription, the deltas of its movements sum to its MRR when active and to 0 when
    cancelled."""
    n = len(accounts)
    today = spec.today_day
    tier = accounts["tier_idx"].to_numpy()
    fate = accounts["fate"].to_numpy()
    since = accounts["since"].to_numpy()
    churn_day = accounts["churn_day"].to_numpy()
    expansion_day = accounts["expansion_day"].to_numpy()
    end_ref = np.where(churn_day >= 0, churn_day, today)

    k = 1 + _pick_rows(rng, PRODUCTS_COUNT_BY_TIER[tier])  # products held at the start
    weights = np.array([p[3] for p in PRODUCTS[1:]])
    race = rng.exponential(1.0, (n, len(weights))) / weights  # weighted order of add-ons
    order = np.argsort(race, axis=1) + 1  # product index of each add-on, preferred first
    expanding = fate == "expanding"
    new_product = expanding & (k < len(PRODUCTS)) & (rng.random(n) < 0.6)
    upsell = expanding & ~new_product

    rows_acc, rows_prod, rows_kind = [], [], []  # kind: 0 core, 1 add-on, 2 expansion product
    rows_acc.append(np.arange(n))
    rows_prod.append(np.zeros(n, dtype=np.int64))
    rows_kind.append(np.zeros(n, dtype=np.int64))
    for j in range(len(PRODUCTS) - 1):
        held = k > j + 1
        extra = new_product & (k == j + 1)
        take = held | extra
        rows_acc.append(np.flatnonzero(take))
        rows_prod.append(order[take, j])
        rows_kind.append(np.where(extra[take], 2, 1))
    acc = np.concatenate(rows_acc)
    prod = np.concatenate(rows_prod)
    kind = np.concatenate(rows_kind)
    sort = np.lexsort((prod, acc))
    acc, prod, kind = acc[sort], prod[sort], kind[sort]
    m = len(acc)

    # Split each account's MRR between its products: the core carries most of it.
    share = np.where(prod == 0, 1.0, rng.uniform(0.15, 0.45, m))
    share = share / np.bincount(acc, weights=share, minlength=n)[acc]
    mrr = np.maximum(29.0, np.round(accounts["target_mrr"].to_numpy()[acc] * share, 0))
    discount = np.where(
        rng.random(m) < 0.15 + 0.05 * (4 - tier[acc]),
        rng.choice([5.0, 10.0, 15.0, 20.0, 25.0, 30.0], m, p=[0.25, 0.3, 0.2, 0.12, 0.08, 0.05]),
        0.0,
    )

    same_day = rng.random(m) < 0.55
    later = since[acc] + (rng.random(m) * np.maximum(1, end_ref[acc] - since[acc] - 1)).astype(
        np.int64
    )
    start = np.where(kind == 0, since[acc], np.where(same_day, since[acc], later))
    start = np.where(kind == 2, expansion_day[acc], start)
    start = np.minimum(start, end_ref[acc] - 1)

    # Movements, built column by column: (subscription row, day, kind, delta, note).
    mv_sub, mv_day, mv_kind, mv_delta, mv_note = [], [], [], [], []

    def move(rows, days, kinds, deltas, notes):
        mv_sub.append(rows)
        mv_day.append(days)
        mv_kind.append(kinds)
        mv_delta.append(deltas)
        mv_note.append(notes)

    rows = np.arange(m)
    product_names = np.array([p[1] for p in PRODUCTS])
    is_new = start == since[acc]
    initial = mrr.copy()

    # Upsell: the core subscription grew at the expansion date.
    up = upsell[acc] & (prod == 0)
    up_initial = np.round(mrr / rng.uniform(1.2, 1.6, m), 0)
    initial = np.where(up, up_initial, initial)
    # Downgrades: some stable accounts shrank their core subscription.
    stable = np.isin(fate, ["steady", "seasonal"])
    window_lo = max(spec.window_start, 0)
    down_acc = stable & (rng.random(n) < 0.04) & (today - since > 60)
    down = down_acc[acc] & (prod == 0)
    down_day = np.maximum(
        since[acc] + 30, window_lo + rng.integers(0, max(1, today - window_lo), m)
    )
    down_day = np.minimum(down_day, today - 1)
    initial = np.where(down, np.round(mrr * rng.uniform(1.15, 1.5, m), 0), initial)

    move(
        rows,
        start,
        np.where(is_new, "new", "expansion"),
        initial,
        np.where(is_new, "New contract: " + product_names[prod], "Add-on: " + product_names[prod]),
    )
    move(
        rows[up],
        expansion_day[acc][up],
        np.full(up.sum(), "expansion"),
        (mrr - initial)[up],
        np.full(up.sum(), "Upsell: more seats"),
    )
    move(
        rows[down],
        down_day[down],
        np.full(down.sum(), "contraction"),
        (mrr - initial)[down],
        np.full(down.sum(), "Downgrade: fewer seats"),
    )

    # Some stable multi-product accounts cancelled one add-on (contraction, not churn).
    cancel_acc = stable & ~down_acc & (rng.random(n) < 0.05)
    last_addon = np.zeros(m, dtype=bool)
    last_addon[np.flatnonzero(np.r_[acc[1:] != acc[:-1], True])] = True
    partial = cancel_acc[acc] & last_addon & (prod != 0) & (start < today - 30)
    partial_day = start + (rng.uniform(0.3, 1.0, m) * (today - 1 - start)).astype(np.int64)
    partial_day = np.clip(partial_day, start + 1, today - 1)
    move(
        rows[partial],
        partial_day[partial],
        np.full(partial.sum(), "contraction"),
        -mrr[partial],
        "Cancelled " + product_names[prod[partial]],
    )

    # Churn: every subscription of a churned account ends on the churn date.
    churn = churn_day[acc] >= 0
    reasons = accounts["churn_reason"].to_numpy()[acc]
    move(
        rows[churn],
        churn_day[acc][churn],
        np.full(churn.sum(), "churn"),
        -mrr[churn],
        np.array([f"Churn: {r}" for r in reasons[churn]], dtype=object),
    )

    end = np.where(churn, churn_day[acc], np.where(partial, partial_day, -1))
    cancelled = end >= 0
    until = np.where(cancelled, end, today)
    renewals = np.maximum(0, (until - start) // 365)
    renewal = np.where(cancelled, -1, start + 365 * (renewals + 1))
    ext = accounts["external_id"].to_numpy()[acc]
    codes = np.array([p[0] for p in PRODUCTS])[prod]
    subs = pd.DataFrame(
        {
            "account": acc,
            "product": prod,
            "product_code": codes,
            "external_id": ext + "-" + codes,
            "mrr": mrr,
            "start_date": start,
            "end_date": end,
            "renewal_date": renewal,
            "status": np.where(cancelled, "cancelled", "active"),
            "renewals_count": renewals,
            "discount_pct": discount,
        }
    )
    sub_rows = np.concatenate(mv_sub)
    movements = pd.DataFrame(
        {
            "subscription": sub_rows,
            "account": acc[sub_rows],
            "date": np.concatenate(mv_day),
            "kind": np.concatenate(mv_kind),
            "delta_mrr": np.concatenate(mv_delta),
            "note": np.concatenate(mv_note).astype(object),
        }
    ).sort_values(["account", "date", "subscription"], kind="stable", ignore_index=True)
    return subs, movements


def lifecycle_stages(accounts: pd.DataFrame, subs: pd.DataFrame, spec: DemoSpec) -> np.ndarray:
    today = spec.today_day
    active = subs[subs["status"] == "active"]
    next_renewal = (
        active.groupby("account")["renewal_date"].min().reindex(range(len(accounts))).to_numpy()
    )
    tenure = today - accounts["since"].to_numpy()
    return np.select(
        [
            accounts["churn_day"].to_numpy() >= 0,
            tenure < 90,
            np.nan_to_num(next_renewal, nan=1e12) - today <= 60,
            tenure < 270,
        ],
        ["churned", "onboarding", "renewal", "adoption"],
        default="ongoing",
    )


def contacts_frame(
    accounts: pd.DataFrame, spec: DemoSpec, rng: np.random.Generator
) -> pd.DataFrame:
    n = len(accounts)
    today = spec.today_day
    touch = accounts["touch_idx"].to_numpy()
    low = np.array([3, 2, 1, 1])[touch]
    high = np.array([5, 4, 3, 2])[touch]
    count = rng.integers(low, high + 1)
    acc = np.repeat(np.arange(n), count)
    total = len(acc)
    pos = np.arange(total) - np.repeat(np.cumsum(count) - count, count)
    first = rng.integers(0, len(FIRST_NAMES), total)
    last = rng.integers(0, len(SURNAMES), total)
    is_high = touch[acc] == 0
    roles = np.where(
        is_high,
        np.array(CONTACT_ROLES_BY_TOUCH["high"])[pos],
        np.array(CONTACT_ROLES_BY_TOUCH["other"])[pos],
    )
    title_pick = rng.integers(0, 10, total)
    domains = accounts["domain"].to_numpy()
    area = [REGIONS[r][2] for r in accounts["region_idx"].to_numpy()]
    area_pick = rng.integers(0, 10, total)
    digits = rng.integers(0, 10**8, total)
    names, emails, phones, titles = [], [], [], []
    for i in range(total):
        f, s, a = FIRST_NAMES[first[i]], SURNAMES[last[i]], acc[i]
        names.append(f"{f} {s}")
        emails.append(f"{_ascii(f)}.{_ascii(s)}@{domains[a]}")
        codes = area[a]
        d = digits[i]
        phones.append(f"+55 {codes[area_pick[i] % len(codes)]} 9{d // 10**4:04d}-{d % 10**4:04d}")
        options = TITLES[roles[i]]
        titles.append(options[title_pick[i] % len(options)])

    since = accounts["since"].to_numpy()[acc]
    u = rng.random(total)
    given = u < 0.88
    given_day = since + (rng.random(total) * np.maximum(1, today - since)).astype(np.int64)
    given_at = _timestamps(given_day, rng.uniform(11, 22, total))
    withdrawn = given & (rng.random(total) < 0.06)
    withdrawn_day = given_day + (rng.random(total) * np.maximum(1, today - given_day)).astype(
        np.int64
    )
    withdrawn_at = _timestamps(withdrawn_day, rng.uniform(11, 22, total))
    nat = np.datetime64("NaT", "s")
    return pd.DataFrame(
        {
            "account": acc,
            "external_id": accounts["external_id"].to_numpy()[acc] + "-C" + (pos + 1).astype(str),
            "name": names,
            "title": titles,
            "role": roles,
            "email": emails,
            "phone": phones,
            "consent_given_at": np.where(given, given_at, nat),
            "consent_source": np.where(
                given, np.array(CONSENT_SOURCES)[rng.integers(0, 4, total)], ""
            ),
            "consent_withdrawn_at": np.where(withdrawn, withdrawn_at, nat),
        }
    )


def _timestamps(days: np.ndarray, hours: np.ndarray) -> np.ndarray:
    """UTC datetime64[s] from day numbers and fractional hours of the day."""
    seconds = np.asarray(days, dtype=np.int64) * 86400 + (np.asarray(hours) * 3600).astype(np.int64)
    return seconds.astype("datetime64[s]")


def _risk(days: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """How far each account is into its deterioration, 0 (none) to 1 (the churn date)."""
    start = np.asarray(start, dtype=float)
    end = np.asarray(end, dtype=float)
    span = np.where(start >= 0, np.maximum(end - start, 1.0), 1.0)
    r = (days - start) / span
    return np.where(start >= 0, np.clip(r, 0.0, 1.0), 0.0)


@dataclass
class SignalChunk:
    """Signals of one range of accounts. Account columns are positions in the accounts frame;
    contact columns are positions in the contacts frame (-1: none)."""

    usage: dict[str, np.ndarray]
    tickets: pd.DataFrame
    invoices: pd.DataFrame
    surveys: pd.DataFrame
    interactions: pd.DataFrame


def signal_chunks(
    accounts: pd.DataFrame,
    movements: pd.DataFrame,
    subs: pd.DataFrame,
    contacts: pd.DataFrame,
    spec: DemoSpec,
) -> Iterator[SignalChunk]:
    """Daily usage, tickets, invoices, survey answers and interactions over the window, for
    chunks of accounts in order; each chunk draws from its own stream so memory stays bounded
    whatever the portfolio size."""
    n = len(accounts)
    days_n = spec.window_days
    per_chunk = max(1, _CELLS_PER_CHUNK // days_n)
    cols = {c: accounts[c].to_numpy() for c in accounts.columns}
    tx = np.zeros(n, dtype=bool)
    tx[subs.loc[subs["product_code"].isin(TX_PRODUCTS), "account"].to_numpy()] = True
    gross = subs["mrr"] / (1 - subs["discount_pct"] / 100.0)
    disc_ratio = (
        (gross - subs["mrr"]).groupby(subs["account"]).sum() / subs.groupby("account")["mrr"].sum()
    ).reindex(range(n), fill_value=0.0)
    cols["discount_ratio"] = disc_ratio.to_numpy()
    cols["tx"] = tx
    codes = [p[0] for p in PRODUCTS]
    held = np.zeros((n, len(codes)), dtype=bool)
    held[subs["account"].to_numpy(), subs["product_code"].map(codes.index).to_numpy()] = True
    cols["held"] = held
    contact_count = np.bincount(contacts["account"].to_numpy(), minlength=n)
    cols["contact_first"] = np.cumsum(contact_count) - contact_count
    cols["contact_count"] = contact_count
    mv_acc = movements["account"].to_numpy()
    mv_day = movements["date"].to_numpy()
    mv_delta = movements["delta_mrr"].to_numpy()
    ticket_seq = 0
    for number, lo in enumerate(range(0, n, per_chunk)):
        hi = min(n, lo + per_chunk)
        rng = np.random.default_rng([spec.seed, 1 + number])
        chunk = {c: v[lo:hi] for c, v in cols.items()}
        sel = (mv_acc >= lo) & (mv_acc < hi)
        ledger = (mv_acc[sel] - lo, mv_day[sel], mv_delta[sel])
        usage = _usage(chunk, spec, rng)
        usage["account"] += lo
        tickets = _tickets(chunk, spec, rng, ticket_seq)
        ticket_seq += len(tickets)
        invoices = _invoices(chunk, ledger, spec, rng)
        surveys = _surveys(chunk, tickets, spec, rng)
        interactions = _interactions(chunk, spec, rng)
        for frame in (tickets, invoices, surveys, interactions):
            frame["account"] += lo
        yield SignalChunk(usage, tickets, invoices, surveys, interactions)


def _grid(chunk: dict, spec: DemoSpec):
    """Days of the window as a row, and per-account columns, for (accounts x days) maths."""
    days = np.arange(spec.window_start, spec.today_day)[None, :]
    since = chunk["since"][:, None]
    churn = chunk["churn_day"][:, None]
    alive = (days >= since) & ((churn < 0) | (days < churn))
    risk = _risk(days, chunk["risk_start"][:, None], chunk["risk_end"][:, None])
    return days, alive, risk


def _usage(chunk: dict, spec: DemoSpec, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Rows only for days with use: how often an account uses the product (frequency) and how
    much (volume) both fall as it deteriorates and rise before an expansion."""
    days, alive, risk = _grid(chunk, spec)
    dow = (days + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
    doy = (days - days.astype("datetime64[D]").astype("datetime64[Y]").astype("datetime64[D]")
           .astype(np.int64))  # fmt: skip
    weekend = chunk["weekend"][:, None]
    weekly = np.where(
        dow == 5,
        np.where(weekend, 0.85, 0.25),
        np.where(dow == 6, np.where(weekend, 0.6, 0.1), 1.0),
    )
    used_p = chunk["active_p"][:, None] * np.where(dow < 5, 1.0, np.sqrt(weekly))
    yearly = 1 + chunk["season_amp"][:, None] * np.cos(
        2 * np.pi * (doy - chunk["season_peak"][:, None]) / 365.25
    )
    trend = np.exp(chunk["trend"][:, None] * (days - spec.today_day) / 365.0)
    ramp = np.clip(0.3 + 0.7 * (days - chunk["since"][:, None]) / 60.0, 0.3, 1.0)
    grow_start = chunk["grow_start"][:, None].astype(float)
    span = np.maximum(chunk["expansion_day"][:, None] - grow_start, 1.0)
    growth = 1 + chunk["growth"][:, None] * np.clip((days - grow_start) / span, 0.0, 1.0)
    mean = (
        (chunk["seats"] * chunk["engagement"])[:, None]
        * weekly
        * yearly
        * trend
        * ramp
        * growth
        * (1 - 0.85 * risk)
        * rng.lognormal(0, 0.15, alive.shape)
    )
    used_p = used_p * (0.5 + 0.5 * ramp) * np.minimum(growth, 1.3) * (1 - 0.7 * risk)
    used = alive & (rng.random(alive.shape) < used_p)
    users = np.where(used, np.maximum(1, rng.poisson(mean)), 0)
    logins = users + rng.poisson(users * (chunk["logins_per_user"][:, None] - 1))
    txn = np.where(chunk["tx"][:, None], rng.poisson(users * chunk["tx_per_user"][:, None]), 0)
    volume = np.round(txn * chunk["ticket_value"][:, None] * rng.lognormal(0, 0.3, alive.shape), 2)
    values = np.stack([logins, users, txn, volume]).astype(float)  # metric, account, day
    present = np.stack([users > 0, users > 0, txn > 0, txn > 0])
    metric, acc, day = np.nonzero(present)  # ordered by metric, account, day
    names = np.array(USAGE_METRICS, dtype=object)[metric]
    vals = values[metric, acc, day]
    # Per held product, "product:<code>" on some days of use: the raw material of product
    # adoption. Many accounts never adopt their add-ons, more so as they deteriorate (most
    # churners never adopted the product, says the source case).
    held = chunk["held"]
    adopt_p = np.where(np.arange(held.shape[1]) == 0, 0.95, 0.7)[None, :]
    doomed = (chunk["risk_start"] >= 0)[:, None]
    adopted = held & (rng.random(held.shape) < adopt_p * np.where(doomed, 0.4, 1.0))
    extra_names, extra_acc, extra_day, extra_val = [names], [acc], [day], [vals]
    for p, (code, *_rest) in enumerate(PRODUCTS):
        if not adopted[:, p].any():
            continue
        on = used & adopted[:, p][:, None] & (rng.random(alive.shape) < 0.35 * (1 - 0.9 * risk))
        a, d = np.nonzero(on)
        extra_names.append(np.full(len(a), f"product:{code}", dtype=object))
        extra_acc.append(a)
        extra_day.append(d)
        extra_val.append(np.maximum(1, users[a, d]).astype(float))
    return {
        "metric": np.concatenate(extra_names),
        "account": np.concatenate(extra_acc),
        "date": days[0, np.concatenate(extra_day)],
        "value": np.concatenate(extra_val),
    }


def _tickets(chunk: dict, spec: DemoSpec, rng: np.random.Generator, seq: int) -> pd.DataFrame:
    days, alive, risk = _grid(chunk, spec)
    rate = chunk["ticket_rate"][:, None] * (1 + 2.5 * risk) * alive
    count = rng.poisson(rate)
    acc, day = np.nonzero(count)
    reps = count[acc, day]
    acc, day = np.repeat(acc, reps), np.repeat(day, reps)
    r = risk[acc, day]
    m = len(acc)
    d = days[0, day]
    priority = _pick_rows(
        rng, np.array([0.3, 0.45, 0.18, 0.07])[None, :] + np.outer(r, [-0.15, -0.05, 0.12, 0.08])
    )
    opened = _timestamps(d, rng.uniform(11.5, 21.5, m))
    sla = SLA_HOURS[priority]
    resolution = sla * rng.lognormal(np.log(0.45) + 1.4 * r, 0.8)
    sla_due = opened + (sla * 3600).astype(np.int64).astype("timedelta64[s]")
    closed = opened + (resolution * 3600).astype(np.int64).astype("timedelta64[s]")
    now = np.datetime64(spec.today, "s")
    still_open = closed > now
    breached = np.where(still_open, now > sla_due, closed > sla_due)
    return pd.DataFrame(
        {
            "account": acc,
            "external_id": [f"TCK-{seq + i + 1:07d}" for i in range(m)],
            "subject": np.array(TICKET_SUBJECTS)[rng.integers(0, len(TICKET_SUBJECTS), m)],
            "priority": TICKET_PRIORITIES[priority],
            "opened_at": opened,
            "closed_at": np.where(still_open, np.datetime64("NaT", "s"), closed),
            "sla_due_at": sla_due,
            "sla_breached": breached,
            "risk": r,
        }
    )


def _invoices(chunk: dict, ledger, spec: DemoSpec, rng: np.random.Generator) -> pd.DataFrame:
    today = spec.today_day
    months = np.arange(
        np.datetime64(spec.window_start, "D").astype("datetime64[M]"),
        np.datetime64(today - 1, "D").astype("datetime64[M]") + 1,
    )
    issue = months.astype("datetime64[D]").astype(np.int64)
    issue = issue[(issue >= spec.window_start) & (issue < today)]
    a = len(chunk["since"])
    mv_acc, mv_day, mv_delta = ledger
    mrr = np.stack(
        [np.bincount(mv_acc, weights=mv_delta * (mv_day <= d), minlength=a) for d in issue],
        axis=1,
    ) if len(issue) else np.zeros((a, 0))  # fmt: skip
    since, churn = chunk["since"][:, None], chunk["churn_day"][:, None]
    exists = (mrr > 0.5) & (issue[None, :] >= since) & ((churn < 0) | (issue[None, :] < churn))
    acc, k = np.nonzero(exists)
    m = len(acc)
    issued = issue[k]
    due = issued + 10
    r = _risk(due, chunk["risk_start"][acc], chunk["risk_end"][acc])
    amount = np.round(mrr[acc, k], 2)
    p_unpaid = 0.01 + 0.45 * r
    p_late = 0.07 + 0.4 * r + 0.3 * chunk["late_payer"][acc]
    u = rng.random(m)
    late_days = 1 + rng.exponential(8 + 25 * r).astype(np.int64)
    paid = np.where(
        u < p_unpaid,
        -1,
        np.where(u < p_unpaid + p_late, due + late_days, due - rng.integers(0, 9, m)),
    )
    paid = np.where((paid >= 0) & (paid < issued), issued, paid)
    paid = np.where(paid >= today, -1, paid)  # not paid yet
    ext = chunk["external_id"][acc]
    months_str = np.datetime_as_string(issued.astype("datetime64[D]").astype("datetime64[M]"))
    number = np.char.add(np.char.add("NF-", np.char.replace(months_str, "-", "")), "-")
    number = np.char.add(number, np.char.replace(ext.astype(str), "ACC-", ""))
    return pd.DataFrame(
        {
            "account": acc,
            "external_id": number,
            "number": number,
            "issued_on": issued,
            "due_on": due,
            "paid_on": paid,
            "amount": amount,
            "discount_amount": np.round(amount * chunk["discount_ratio"][acc], 2),
        }
    )


def _pick_contacts(chunk: dict, acc: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    count = chunk["contact_count"][acc]
    return chunk["contact_first"][acc] + (rng.random(len(acc)) * count).astype(np.int64)


def _surveys(
    chunk: dict, tickets: pd.DataFrame, spec: DemoSpec, rng: np.random.Generator
) -> pd.DataFrame:
    today = spec.today_day
    a = len(chunk["since"])
    now = np.datetime64(spec.today, "s")
    # NPS: quarterly waves; each account answers some of them, sooner or later in the wave.
    waves = np.arange(spec.window_start + 20, today, 91)
    respond_p = np.array([0.55, 0.40, 0.30, 0.22])[chunk["touch_idx"]]
    answers = rng.random((a, len(waves))) < respond_p[:, None]
    acc, w = np.nonzero(answers)
    day = waves[w] + rng.integers(0, 15, len(acc))
    alive = (
        (day < today)
        & (day >= chunk["since"][acc])
        & ((chunk["churn_day"][acc] < 0) | (day < chunk["churn_day"][acc]))
    )
    acc, day = acc[alive], day[alive]
    r = _risk(day, chunk["risk_start"][acc], chunk["risk_end"][acc])
    nps = np.clip(np.round(rng.normal(8.5 + chunk["nps_bias"][acc] - 6.5 * r, 1.4)), 0, 10)
    category = np.where(nps >= 9, "promoter", np.where(nps >= 7, "passive", "detractor"))
    nps_at = _timestamps(day, rng.uniform(11, 23, len(acc)))

    # CSAT: some closed tickets get an answer within two days of closing.
    closed = tickets[tickets["closed_at"].notna()]
    ask = rng.random(len(closed)) < 0.45
    closed = closed[ask]
    csat_at = closed["closed_at"].to_numpy() + rng.integers(600, 48 * 3600, len(closed)).astype(
        "timedelta64[s]"
    )
    keep = csat_at < now
    closed, csat_at = closed[keep], csat_at[keep]
    csat_mean = 4.4 - 2.2 * closed["risk"].to_numpy() - 0.8 * closed["sla_breached"].to_numpy()
    csat = np.clip(np.round(rng.normal(csat_mean, 0.8)), 1, 5)
    csat_acc = closed["account"].to_numpy()

    comment_pick = rng.integers(0, 12, len(acc))
    comments = [
        NPS_COMMENTS[c][p % len(NPS_COMMENTS[c])] if p < 5 else ""
        for c, p in zip(category, comment_pick, strict=True)
    ]
    frame = pd.DataFrame(
        {
            "account": np.concatenate([acc, csat_acc]),
            "kind": ["nps"] * len(acc) + ["csat"] * len(csat_acc),
            "score": np.concatenate([nps, csat]).astype(np.int64),
            "comment": comments + [""] * len(csat_acc),
            "answered_at": np.concatenate([nps_at, csat_at]).astype("datetime64[s]"),
        }
    )
    frame["contact"] = _pick_contacts(chunk, frame["account"].to_numpy(), rng)
    return frame


def _interactions(chunk: dict, spec: DemoSpec, rng: np.random.Generator) -> pd.DataFrame:
    days, alive, risk = _grid(chunk, spec)
    weekday = ((days + 3) % 7) < 5
    touch = chunk["touch_idx"]
    rate = INTERACTIONS_PER_MONTH_BY_TOUCH[touch][:, None] / 21.0 * weekday * alive
    onboarding = (days - chunk["since"][:, None]) < 60
    rate = rate * np.where(onboarding, 2.0, 1.0)
    # A neglected account loses its CSM's attention as it deteriorates; the others get more.
    rate = rate * np.where(chunk["neglected"][:, None], 1 - 0.9 * (risk > 0), 1 + 1.5 * risk)
    count = rng.poisson(rate)
    acc, day = np.nonzero(count)
    reps = count[acc, day]
    acc, day = np.repeat(acc, reps), np.repeat(day, reps)
    m = len(acc)
    kind = _pick_rows(rng, INTERACTION_KIND_BY_TOUCH[touch[acc]])
    kinds = INTERACTION_KINDS[kind]
    pick = rng.integers(0, 5, m)
    summaries = [
        INTERACTION_SUMMARIES[k][p % len(INTERACTION_SUMMARIES[k])]
        for k, p in zip(kinds, pick, strict=True)
    ]
    return pd.DataFrame(
        {
            "account": acc,
            "kind": kinds,
            "occurred_at": _timestamps(days[0, day], rng.uniform(11.5, 21.5, m)),
            "summary": summaries,
            "contact": _pick_contacts(chunk, acc, rng),
            "owner": chunk["owner"][acc],
        }
    )


# -- writing ---------------------------------------------------------------------------------


class DemoSeedError(ValueError):
    """The seed was refused; the message says why in one line."""


@dataclass
class SeedResult:
    organization: object
    counts: dict[str, int]
    seconds: float


def demo_logins(org) -> list[tuple[str, str, str]]:
    """(login, role, full name) of the organization's members, admins first."""
    from orgs.models import Membership

    order = {u.role: i for i, u in reversed(list(enumerate(DEMO_USERS)))}
    rows = [
        (m.user.username, m.role, m.user.get_full_name())
        for m in Membership.objects.filter(organization=org).select_related("user")
    ]
    return sorted(rows, key=lambda r: (order.get(r[1], 99), len(r[0]), r[0]))


def demo_logins_lines(org, url: str | None = None) -> list[str]:
    """The logins block `make demo` ends with: where the site is, then one line per member
    ("  <login>  <password>  <role>  <name>"); seed_demo and demo_backfill print it."""
    rows = demo_logins(org)
    width = max([len("login"), *(len(r[0]) for r in rows)])
    pw = max(len("password"), len(DEMO_PASSWORD))
    lines = [""]
    if url:
        lines.append(f"The demo is served at {url}")
    lines.append(f"Logins for {org.name} (password for all: {DEMO_PASSWORD}):")
    lines.append(f"  {'login':<{width}}  {'password':<{pw}}  {'role':<8}  name")
    lines += [
        f"  {login:<{width}}  {DEMO_PASSWORD:<{pw}}  {role:<8}  {name}"
        for login, role, name in rows
    ]
    return lines


def demo_org_delete(*, org) -> None:
    """Delete an organization and every row that belongs to it, one DELETE per table (a
    cascade through the ORM would load every row), then the users left with no organization."""
    from django.apps import apps
    from django.db import connection

    from orgs.models import Membership, Organization, User

    member_ids = list(Membership.objects.filter(organization=org).values_list("user_id", flat=True))
    tables = [
        m
        for m in apps.get_models(include_auto_created=True)
        if m._meta.managed and not m._meta.proxy
    ]
    owned = []  # (model, organization column)
    for model in tables:
        for f in model._meta.concrete_fields:
            if f.many_to_one and f.related_model is Organization:
                owned.append((model, f))
    owned_models = {m for m, _ in owned}
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        # Rows outside the tenant tables that point into them (many-to-many links).
        for model in tables:
            if model in owned_models:
                continue
            for f in model._meta.concrete_fields:
                if not (f.many_to_one and f.related_model in owned_models):
                    continue
                target = f.related_model
                org_col = next(c for m, c in owned if m is target).column
                inner = (
                    f"SELECT {qn(target._meta.pk.column)} FROM {qn(target._meta.db_table)} "
                    f"WHERE {qn(org_col)} = %s"
                )
                table, col = qn(model._meta.db_table), qn(f.column)
                if f.null:
                    cursor.execute(
                        f"UPDATE {table} SET {col} = NULL WHERE {col} IN ({inner})", [org.pk]
                    )
                else:
                    cursor.execute(f"DELETE FROM {table} WHERE {col} IN ({inner})", [org.pk])
        for model, f in owned:
            cursor.execute(
                f"DELETE FROM {qn(model._meta.db_table)} WHERE {qn(f.column)} = %s", [org.pk]
            )
    Organization.objects.filter(pk=org.pk).delete()
    User.objects.filter(pk__in=member_ids, memberships__isnull=True, is_superuser=False).delete()


class _Writer:
    """Inserts column arrays into a model's table: executemany on SQLite, COPY on PostgreSQL.
    Columns the caller leaves out get the field's default, so fields added later with a
    default keep working."""

    def __init__(self, org_id: int):
        from django.db import connection

        self.connection = connection
        self.vendor = connection.vendor
        self.org_id = org_id
        self.now = np.datetime64(dt.datetime.now(dt.UTC).replace(tzinfo=None), "s")
        self.models: list = []  # tables written, in order

    def insert_frame(self, model, frame: pd.DataFrame, refs: dict, *, plain: bool = False) -> int:
        """Insert the frame's columns that are the model's fields; `refs` turns a column of
        positions or keys into a foreign key: {"account": ("account_id", ids by position)}."""
        fields = {f.attname for f in model._meta.concrete_fields}
        columns = {}
        for name in frame:
            values = frame[name]
            if name in refs:
                attname, ids = refs[name]
                if isinstance(ids, dict):
                    columns[attname] = values.map(ids).to_numpy(dtype=float)
                else:
                    columns[attname] = ids[np.asarray(values)]
            elif name in fields:
                columns[name] = np.asarray(values)
        return self.insert(model, len(frame[next(iter(frame))]), columns, plain=plain)

    def insert(self, model, n: int, columns: dict, *, plain: bool = False) -> int:
        """`plain`: no nulls and no text that CSV would quote, so COPY data can be formatted
        directly (the usage table, where it matters)."""
        from django.db import models

        if model not in self.models:
            self.models.append(model)
        if n == 0:
            return 0
        fields = {f.attname: f for f in model._meta.concrete_fields if not f.primary_key}
        columns = {"organization_id": self.org_id, **columns}
        for name, f in fields.items():
            if name in columns:
                continue
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                columns[name] = self.now
            elif f.has_default() or not f.null:
                default = f.get_default()  # "" for text fields without an explicit default
                if default is None and f.null:
                    continue
                if default is None:
                    raise ValueError(f"{model.__name__}.{name}: no value and no default")
                columns[name] = json.dumps(default) if isinstance(default, dict | list) else default
        prepared = {}
        for name, values in columns.items():
            f = fields[name]
            if np.ndim(values) == 0:
                values = np.full(n, values, dtype=object if isinstance(values, str) else None)
            values = np.asarray(values)
            if isinstance(f, models.DateTimeField):
                values = self._datetimes(values)
            elif isinstance(f, models.DateField):
                values = self._dates(values)
            elif isinstance(f, models.DecimalField):
                values = np.round(values.astype(float), f.decimal_places)
            elif f.many_to_one and values.dtype.kind in "iuf":
                values = self._nullable_ids(values)
            prepared[f.column] = values
        table = model._meta.db_table
        if self.vendor == "postgresql":
            self._copy(table, prepared, plain)
        else:
            self._executemany(table, prepared)
        return n

    def _dates(self, values: np.ndarray) -> np.ndarray:
        if values.dtype.kind in "iu":  # day numbers, -1 for none: format each distinct day once
            missing = values < 0
            if missing.all():
                return np.full(len(values), None, dtype=object)
            low = values[~missing].min()
            table = _day_strings(np.arange(low, values.max() + 1)).astype(object)
            text = table[np.where(missing, low, values) - low]
        else:
            values = values.astype("datetime64[D]")
            missing = np.isnat(values)
            text = np.datetime_as_string(values).astype(object)
        text[missing] = None
        return text

    def _datetimes(self, values: np.ndarray) -> np.ndarray:
        values = values.astype("datetime64[s]")
        missing = np.isnat(values)
        text = np.datetime_as_string(values)
        if self.vendor == "postgresql":
            text = np.char.add(text, "+00:00")
        else:  # Django stores SQLite datetimes as 'YYYY-MM-DD HH:MM:SS' in UTC
            text = np.char.replace(text, "T", " ")
        text = text.astype(object)
        text[missing] = None
        return text

    @staticmethod
    def _nullable_ids(values: np.ndarray) -> np.ndarray:
        if values.dtype.kind == "f":
            missing = np.isnan(values)
            values = np.where(missing, -1, values).astype(np.int64)
        else:
            missing = values < 0
        if not missing.any():
            return values
        out = values.astype(object)
        out[missing] = None
        return out

    def _executemany(self, table: str, prepared: dict) -> None:
        qn = self.connection.ops.quote_name
        names = ", ".join(qn(c) for c in prepared)
        marks = ", ".join("?" for _ in prepared)
        sql = f"INSERT INTO {qn(table)} ({names}) VALUES ({marks})"
        lists = [v.tolist() for v in prepared.values()]
        self.connection.ensure_connection()
        self.connection.connection.executemany(sql, zip(*lists, strict=True))

    def _copy(self, table: str, prepared: dict, plain: bool) -> None:
        qn = self.connection.ops.quote_name
        if plain:
            line = ",".join(["{}"] * len(prepared)) + "\n"
            buf = io.StringIO("".join(map(line.format, *(v.tolist() for v in prepared.values()))))
        else:
            buf = io.StringIO()
            pd.DataFrame(prepared).to_csv(buf, header=False, index=False, na_rep="\\N")
            buf.seek(0)
        names = ", ".join(qn(c) for c in prepared)
        sql = f"COPY {qn(table)} ({names}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
        self.connection.ensure_connection()
        with self.connection.connection.cursor() as cursor:
            if hasattr(cursor, "copy_expert"):  # psycopg2
                cursor.copy_expert(sql, buf)
            else:  # psycopg 3
                with cursor.copy(sql) as copy:
                    copy.write(buf.getvalue())


def _ids(model, org) -> dict[str, int]:
    """External id -> primary key of the rows just written, to point foreign keys at them."""
    return dict(model.all_objects.filter(organization=org).values_list("external_id", "pk"))


def demo_seed(
    *, spec: DemoSpec, replace: bool = False, log: Callable[[str], None] = print
) -> SeedResult:
    """Create the demo organization `spec.slug` with its users and whole portfolio, in one
    transaction. With `replace`, an existing organization of that slug is deleted first."""
    from django.db import connection, transaction

    from accounts import models as am
    from accounts import services
    from orgs.models import Organization

    started = time.perf_counter()
    counts: dict[str, int] = {}
    spent: dict[str, float] = {}

    def report(label: str, began: float, rows: int | None = None) -> None:
        took = time.perf_counter() - began
        detail = f"{rows:>11,} rows" if rows is not None else " " * 16
        log(f"  {label:<18}{detail}  {took:6.1f} s")

    def write(label: str, model, frame: pd.DataFrame, refs: dict, plain: bool = False) -> None:
        began = time.perf_counter()
        rows = w.insert_frame(model, frame, refs, plain=plain)
        counts[label] = counts.get(label, 0) + rows
        spent[label] = spent.get(label, 0.0) + time.perf_counter() - began

    # Foreign keys are checked once, set-based, after the load rather than row by row (per-row
    # checks cost more than the inserts themselves): on SQLite as loaddata does, on PostgreSQL
    # when the role may skip triggers; otherwise PostgreSQL checks each COPY as it ends, so
    # deferred checks do not pile up in memory for millions of rows.
    with connection.constraint_checks_disabled(), transaction.atomic():
        _session_set(
            connection, sqlite="PRAGMA cache_size = -262144", pg="SET CONSTRAINTS ALL DEFERRED"
        )
        existing = Organization.objects.filter(slug=spec.slug).first()
        if existing is not None:
            if not replace:
                raise DemoSeedError(
                    f"organization {spec.slug!r} already exists; pass --replace to delete and "
                    "re-seed it, or --if-missing to keep it"
                )
            t = time.perf_counter()
            demo_org_delete(org=existing)
            report("old org deleted", t)
        _session_set(connection, pg="SET CONSTRAINTS ALL IMMEDIATE")
        deferred_fk_check = connection.vendor == "sqlite" or _pg_skip_triggers(connection)

        t = time.perf_counter()
        rng = np.random.default_rng([spec.seed, 0])
        accounts = accounts_frame(spec, rng)
        subs, movements = subscriptions_frames(accounts, spec, rng)
        accounts["lifecycle_stage"] = lifecycle_stages(accounts, subs, spec)
        contacts = contacts_frame(accounts, spec, rng)
        report("portfolio built", t)

        t = time.perf_counter()
        org, user_ids, catalogue = _organization_create(spec)
        report("org and users", t, len(user_ids))
        w = _Writer(org.pk)
        users = ("author_id", user_ids)

        write(
            "accounts",
            am.Account,
            accounts.rename(columns={"since": "customer_since", "churn_day": "churned_at"}),
            {
                "owner": ("owner_id", user_ids),
                "churn_reason": ("churn_reason_id", catalogue["reasons"]),
            },
        )
        account_ids = accounts["external_id"].map(_ids(am.Account, org)).to_numpy()
        to_account = ("account_id", account_ids)
        write(
            "subscriptions",
            am.Subscription,
            subs,
            {"account": to_account, "product": ("product_id", catalogue["products"])},
        )
        sub_ids = subs["external_id"].map(_ids(am.Subscription, org)).to_numpy()
        write(
            "mrr movements",
            am.MrrMovement,
            movements,
            {"account": to_account, "subscription": ("subscription_id", sub_ids)},
        )
        write("contacts", am.Contact, contacts, {"account": to_account})
        contact_ids = contacts["external_id"].map(_ids(am.Contact, org)).to_numpy()
        to_contact = ("contact_id", contact_ids)
        for label in ("accounts", "subscriptions", "mrr movements", "contacts"):
            log(f"  {label:<18}{counts[label]:>11,} rows  {spent[label]:6.1f} s")

        t = progress = time.perf_counter()
        generating = 0.0
        for chunk in signal_chunks(accounts, movements, subs, contacts, spec):
            generating += time.perf_counter() - t
            write("usage metrics", am.UsageMetric, chunk.usage, {"account": to_account}, True)
            write("tickets", am.Ticket, chunk.tickets, {"account": to_account})
            write("invoices", am.Invoice, chunk.invoices, {"account": to_account})
            write(
                "survey responses",
                am.SurveyResponse,
                chunk.surveys,
                {"account": to_account, "contact": to_contact},
            )
            write(
                "interactions",
                am.Interaction,
                chunk.interactions,
                {"account": to_account, "contact": to_contact, "owner": users},
            )
            if time.perf_counter() - progress > 20:
                progress = time.perf_counter()
                done = int(chunk.usage["account"].max()) + 1 if len(chunk.usage["account"]) else 0
                log(
                    f"  ... signals for {done:,} of {len(accounts):,} accounts, "
                    f"{counts['usage metrics']:,} usage rows, {progress - started:.0f} s"
                )
            t = time.perf_counter()
        log(f"  {'signals generated':<34}{generating:6.1f} s")
        for label in ("usage metrics", "tickets", "invoices", "survey responses", "interactions"):
            log(f"  {label:<18}{counts.get(label, 0):>11,} rows  {spent.get(label, 0.0):6.1f} s")

        t = time.perf_counter()
        _strategic_pick(accounts, account_ids, catalogue["strategic"])
        if connection.vendor == "postgresql" and deferred_fk_check:
            _session_set(connection, pg="SET LOCAL session_replication_role = origin")
        _session_set(connection, pg="SET CONSTRAINTS ALL DEFERRED")
        if connection.vendor == "postgresql":
            t = time.perf_counter()
            with connection.cursor() as cursor:  # the planner's statistics, before any query
                for model in w.models:
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
            report("analyze", t)
        if deferred_fk_check:
            t = time.perf_counter()
            _foreign_keys_check(connection, w.models, org.pk)
            report("foreign keys", t)
        t = time.perf_counter()
        services.account_rollups_refresh(org=org)
        services.persona_assign_all(org=org)
        report("rollups, personas", t)

    return SeedResult(organization=org, counts=counts, seconds=time.perf_counter() - started)


def _pg_skip_triggers(connection) -> bool:
    """Load without PostgreSQL's per-row foreign-key triggers, as pg_restore
    --disable-triggers does, when this role may (superusers, or those granted the setting);
    False, changing nothing, when it may not."""
    from django.db import DatabaseError, transaction

    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
    except DatabaseError:
        return False
    return True


def _foreign_keys_check(connection, models: list, org_id: int) -> None:
    """Every foreign key of the rows just written points at an existing row: one anti-join
    per key, not one lookup per row. Raises IntegrityError (the transaction rolls back)."""
    from django.db import IntegrityError

    from orgs.models import Organization

    if connection.vendor == "sqlite":
        connection.check_constraints(table_names=[m._meta.db_table for m in models])
        return
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model in models:
            table = qn(model._meta.db_table)
            for f in model._meta.concrete_fields:
                if not f.many_to_one or f.related_model is Organization:
                    continue  # the organization is the one just created
                parent = f.related_model._meta
                col = qn(f.column)
                cursor.execute(
                    f"SELECT c.{col} FROM {table} c WHERE c.organization_id = %s "
                    f"AND c.{col} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "
                    f"{qn(parent.db_table)} p WHERE p.{qn(f.target_field.column)} = c.{col}) "
                    "LIMIT 1",
                    [org_id],
                )
                row = cursor.fetchone()
                if row is not None:
                    raise IntegrityError(f"{model._meta.label}.{f.name} = {row[0]} points nowhere")


def _session_set(connection, *, sqlite: str = "", pg: str = "") -> None:
    sql = {"sqlite": sqlite, "postgresql": pg}.get(connection.vendor, "")
    if sql:
        with connection.cursor() as cursor:
            cursor.execute(sql)


def _organization_create(spec: DemoSpec):
    """The organization, its users and memberships, products, churn reasons and personas.
    Returns the organization, {login: user id} and {name: ids} of the catalogue rows."""
    from django.contrib.auth.hashers import make_password

    from accounts import models as am
    from orgs.models import Membership, Organization, User

    org = Organization.objects.create(
        name=spec.org_name,
        slug=spec.slug,
        currency="BRL",
        timezone="America/Sao_Paulo",
        locale="pt-br",
    )
    usernames = [demo_username(spec.slug, u.login) for u in DEMO_USERS]
    taken = list(User.objects.filter(username__in=usernames).values_list("username", flat=True))
    if taken:
        raise DemoSeedError(
            f"user {taken[0]!r} already exists outside this organization; remove it or seed "
            "another --org"
        )
    password = make_password(DEMO_PASSWORD)  # hashed once: the slow part of creating users
    users = User.objects.bulk_create(
        [
            User(
                username=name,
                password=password,
                first_name=u.first_name,
                last_name=u.last_name,
                email=f"{name}@demo.csplatform.example",
                is_staff=u.role == "admin",
            )
            for name, u in zip(usernames, DEMO_USERS, strict=True)
        ]
    )
    Membership.objects.bulk_create(
        [
            Membership(user=user, organization=org, role=u.role)
            for user, u in zip(users, DEMO_USERS, strict=True)
        ]
    )
    products = am.Product.all_objects.bulk_create(
        [
            am.Product(organization=org, code=code, name=name, description=description)
            for code, name, description, _ in PRODUCTS
        ]
    )
    reasons = am.ChurnReason.all_objects.bulk_create(
        [am.ChurnReason(organization=org, name=name) for name, _ in CHURN_REASONS]
    )
    personas = am.Persona.all_objects.bulk_create(
        [
            am.Persona(
                organization=org,
                slug=p["slug"],
                name=p["name"],
                priority=p["priority"],
                description=p["description"],
                rules=p["rules"],
            )
            for p in PERSONAS
        ]
    )
    catalogue = {
        "products": np.array([p.pk for p in products]),
        "reasons": {r.name: r.pk for r in reasons},
        "strategic": next(p for p in personas if not p.rules),
    }
    user_ids = {u.login: user.pk for u, user in zip(DEMO_USERS, users, strict=True)}
    return org, user_ids, catalogue


def _strategic_pick(accounts: pd.DataFrame, account_ids: np.ndarray, persona) -> None:
    """Hand-pick the biggest live accounts into the persona without rules."""
    from accounts.models import Persona

    live = accounts.index[accounts["churn_day"] < 0]
    top = accounts.loc[live, "target_mrr"].nlargest(min(12, max(1, len(accounts) // 250)))
    link = Persona.hand_picked.through
    link.objects.bulk_create(
        [link(persona_id=persona.pk, account_id=int(account_ids[i])) for i in top.index]
    )
