"""The peer: what a finance analyst would write by hand with pandas defaults.

    python bench/peer.py INBOX OUT.xlsx      prints JSON: seconds, lines

Reads every workbook's sheets with `read_excel` (openpyxl), joins the loss lines to their
incidents, and writes one lines sheet with `to_excel` (openpyxl). No pricing rules at all.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pandas as pd


def main(inbox: Path, out: Path) -> dict:
    start = time.perf_counter()
    incidents, losses, customers = [], [], []
    for path in sorted(inbox.glob("*.xlsx")):
        sheets = pd.read_excel(path, sheet_name=None)
        incidents.append(sheets["Incidents"])
        losses.append(sheets["Losses"])
        customers.append(sheets["Customers"])
    lines = pd.concat(losses).merge(pd.concat(incidents), on="incident_id", how="left",
                                    suffixes=("", "_incident"))
    lines.to_excel(out, sheet_name="Lines", index=False, engine="openpyxl")
    return {"seconds": time.perf_counter() - start, "lines": len(lines)}


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), Path(sys.argv[2]))))
