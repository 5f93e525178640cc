"""The report's robustness part: how often each published conclusion holds over the placeholder ranges.

The table comes from ``chemohost validate --robustness`` (:func:`chemohost.sensitivity.robustness`),
read back from its CSV, so a report run stays as fast as without it.
"""

from __future__ import annotations

import math

import pandas as pd

from ..sensitivity import FRAGILE_BELOW

__all__ = ["robustness_rows"]


def robustness_rows(table: pd.DataFrame | None) -> dict[str, dict]:
    """Conclusion id → formatted cells: share of draws, draws, fragile, parameters that matter most, study."""
    if table is None or table.empty:
        return {}
    rows = {}
    for cid, r in table.iterrows():
        draws = int(r["draws"])
        share = float(r["holds"])
        rows[str(cid)] = {
            "id": str(cid), "fact": r["fact"], "study": r["study"], "draws": f"{draws:,}",
            "share": "–" if not draws or math.isnan(share) else f"{100 * share:.0f}%",
            "fragile": bool(draws) and share < FRAGILE_BELOW,
            "nominal": bool(r["holds at study values"]), "parameters": int(r["parameters"]),
            "assumed": int(r.get("assumed ranges", 0) or 0), "failures": int(r["solver failures"]),
            "top": str(r["matters most"]),
        }
    return rows
