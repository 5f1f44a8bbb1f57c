"""The monthly retention forecast's maths, pure: from the month's alerts, the open retention
playbooks due in it and each account's main product, the expected retention actions per
persona and product. No database; triggers/services/monthly.py loads the frames and stores
the cells."""

from __future__ import annotations

import numpy as np
import pandas as pd

NONE = -1  # stands for "no persona" / "no product" while grouping (pandas drops NaN keys)

CELL_COLUMNS = [
    "persona_id",
    "product_id",
    "alerts_raised",
    "expected_actions",
    "accounts_at_risk",
    "mrr_at_risk",
]


def confirm_rate(*, confirmed: int, decided: int) -> float:
    """The share of decided alerts that were confirmed; with none decided yet, every alert is
    expected to need action (1.0), so a new organization does not plan for zero."""
    return confirmed / decided if decided else 1.0


def main_products(subscriptions: pd.DataFrame) -> pd.Series:
    """Each account's main product: the product of its largest subscription (account_id,
    product_id, mrr in; a Series product_id by account_id out). Ties go to the lower
    product id, so the result does not depend on row order."""
    if subscriptions.empty:
        return pd.Series(dtype="int64", name="product_id")
    ordered = subscriptions.assign(mrr=subscriptions["mrr"].astype("float64")).sort_values(
        ["account_id", "mrr", "product_id"], ascending=[True, False, True]
    )
    return ordered.drop_duplicates("account_id").set_index("account_id")["product_id"]


def forecast_cells(
    *,
    alerts: pd.DataFrame,
    open_playbooks: pd.DataFrame,
    main_product: pd.Series,
    confirm_rate: float,
) -> pd.DataFrame:
    """One row per persona and main product (columns CELL_COLUMNS, None where an account has
    no persona or no active product):

    - alerts_raised: the month's retention alerts;
    - expected_actions: ceil(alerts x confirm_rate) + the open playbooks due in the month;
    - accounts_at_risk: the distinct accounts behind both;
    - mrr_at_risk: their MRR, each account counted once, to the cent.

    `alerts` and `open_playbooks` have account_id, persona_id, mrr."""
    alerts = alerts.assign(kind="alert")
    playbooks = open_playbooks.assign(kind="playbook")
    both = pd.concat([alerts, playbooks], ignore_index=True)
    if both.empty:
        return pd.DataFrame(columns=CELL_COLUMNS, dtype=object)
    both["product_id"] = both["account_id"].map(main_product)
    both["mrr"] = both["mrr"].astype("float64")
    both = both.fillna({"persona_id": NONE, "product_id": NONE})
    cells = []
    for (persona_id, product_id), group in both.groupby(["persona_id", "product_id"]):
        n_alerts = int((group["kind"] == "alert").sum())
        n_playbooks = int((group["kind"] == "playbook").sum())
        accounts = group.drop_duplicates("account_id")
        cells.append(
            {
                "persona_id": None if persona_id == NONE else int(persona_id),
                "product_id": None if product_id == NONE else int(product_id),
                "alerts_raised": n_alerts,
                # rounded first: 77 x 9/11 must plan 63 actions, not 64 from 63.00000000000001
                "expected_actions": int(np.ceil(round(n_alerts * confirm_rate, 9))) + n_playbooks,
                "accounts_at_risk": len(accounts),
                "mrr_at_risk": round(float(accounts["mrr"].sum()), 2),
            }
        )
    # object columns: the ids stay Python ints or None (pandas would make NaN floats of them)
    return pd.DataFrame(cells, columns=CELL_COLUMNS, dtype=object)
