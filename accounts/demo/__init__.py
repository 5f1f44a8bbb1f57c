"""The demo portfolio: a deterministic, realistic organization (products, personas, accounts,
subscriptions and their MRR ledger, contacts, a year of churn history and daily signals), built
as numpy/pandas frames and written in bulk, for `manage.py seed_demo`.

Read it in this order: `catalogue` (the names, lists and probabilities it draws from, and the
DemoSpec that sizes it), `frames` (accounts with the hidden fate that shapes their signals,
subscriptions and the MRR ledger, contacts), `signals` (usage, tickets, invoices, surveys and
interactions, chunk by chunk), then the writing half: `organization` (the organization's own
rows, and deleting one), `writers` (frames into tables through csplatform/db/bulk.py) and
`seed` (all of it in one transaction). `logins` is the table of demo logins `make demo` ends
with. The first three are pure: given a DemoSpec they build frames with no database.
"""

from .catalogue import (
    DEFAULT_SLUG,
    DEMO_PASSWORD,
    DEMO_USERS,
    MAX_MONTHS,
    PRODUCTS,
    USAGE_METRICS,
    DemoSpec,
    DemoUser,
    demo_username,
)
from .frames import accounts_frame, contacts_frame, lifecycle_stages, subscriptions_frames
from .logins import demo_logins, demo_logins_lines
from .organization import DemoSeedError, SeedResult, demo_org_delete
from .seed import demo_seed
from .signals import SignalChunk, signal_chunks

__all__ = [
    "DEFAULT_SLUG",
    "DEMO_PASSWORD",
    "DEMO_USERS",
    "MAX_MONTHS",
    "PRODUCTS",
    "USAGE_METRICS",
    "DemoSeedError",
    "DemoSpec",
    "DemoUser",
    "SeedResult",
    "SignalChunk",
    "accounts_frame",
    "contacts_frame",
    "demo_logins",
    "demo_logins_lines",
    "demo_org_delete",
    "demo_seed",
    "demo_username",
    "lifecycle_stages",
    "signal_chunks",
    "subscriptions_frames",
]
