"""What each kind of record that comes in is made of, and how one value is read: the one
definition the REST API's serializers, its bulk endpoints and the CSV import share, so a
value is accepted or refused, with the same message, whichever way it arrives.

Values come typed from JSON (numbers, ISO dates) or as text from a spreadsheet, in the
spreadsheet's dialect: Brazilian files write `1.234,56`, `R$ 1.234,56` and `31/12/2024`; ISO
dates are always understood. Pure: no database (relations are resolved by api.resolve).

One package, four rooms, in the order they build on each other (callers import from the
package: `from api import records as rec`):
- `values`: the dialects and one reader per type (text, number, date, choice, key...);
- `columns`: the machinery a kind is built of (Column, Kind, the record-rule helpers);
- `kinds`: the nine kinds, accounts to interactions, with their columns, keys and rules;
- `parsing`: reading whole records, one or a batch a column at a time.
"""

from .columns import (  # noqa: F401
    ChoiceSet,
    Column,
    Kind,
    Ref,
    key,
    text,
)
from .kinds import (  # noqa: F401
    ACCOUNT_REF,
    ACCOUNTS,
    CONTACTS,
    EXTERNAL_ID,
    INTERACTION_KINDS,
    INTERACTIONS,
    INVOICES,
    KINDS,
    PRIORITIES,
    PRODUCTS,
    ROLES,
    SIZES,
    STAGES,
    SUB_STATUS,
    SUBSCRIPTIONS,
    SURVEY_KINDS,
    SURVEYS,
    TICKETS,
    TIERS,
    TOUCH,
    USAGE,
)
from .parsing import (  # noqa: F401
    Parsed,
    collector_paused,
    natural_key,
    parse_record,
    parse_records,
    read_columns,
)
from .values import (  # noqa: F401
    BRAZIL,
    EARLIEST,
    JSON,
    LATEST,
    Dialect,
    Invalid,
    fold,
    read_bool,
    read_choice,
    read_date,
    read_datetime,
    read_decimal,
    read_email,
    read_float,
    read_int,
    read_key,
    read_slug,
    read_text,
)
