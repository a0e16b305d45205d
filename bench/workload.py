"""Deterministic benchmark workspaces: the sample standard (every pricing rule) and generated inboxes.

    python bench/workload.py typical OUT_DIR

The same name and seed give the same files, byte for byte. Every workbook is valid, so the run
prices everything; the lines use every basis, cap, FX currency, SLA tier, fine and policy of the
standard in sample_inputs/rates/rates.xlsx.
"""

from __future__ import annotations

import calendar
import os
import random
import shutil
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import xlsxwriter

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_inputs"


@dataclass(frozen=True)
class Workload:
    name: str
    workbooks: int
    incidents: int
    lines: int
    customers: int

    @property
    def cells(self) -> int:
        """Input cells written (header rows included): what the floor reads."""
        return (self.incidents + self.workbooks) * 12 + (self.lines + self.workbooks) * 7 + \
            (self.customers + self.workbooks) * 7


WORKLOADS = {
    "typical": Workload("typical", 20, 300, 6_000, 600),
    "large": Workload("large", 200, 10_000, 200_000, 20_000),
    "xl": Workload("xl", 800, 40_000, 800_000, 80_000),
    "smallest": Workload("smallest", 1, 1, 1, 1),  # the fixed cost: what every run pays, whatever its size
}

# (category, item, what the line carries): quantity, amount, or nothing (fixed, or hours from the duration)
LOSS_ITEMS = [
    ("LOSS", "lost_revenue", "amount"), ("LOSS", "data_recovery", "quantity"), ("LOSS", "customer_churn", "amount"),
    ("DOWNTIME", "production_halt", "duration"), ("DOWNTIME", "production_halt", "quantity"),
    ("DOWNTIME", "idle_staff", "quantity"), ("DOWNTIME", "supply_chain", "amount"),
    ("CUSTOMER", "goodwill", "amount"), ("CUSTOMER", "free_support", "quantity"),
    ("FINE", "contract_penalty", "amount"),
    ("REPAIR", "engineering", "quantity"), ("REPAIR", "vendor_support", "quantity"),
    ("REPAIR", "system_upgrade", "amount"), ("REPAIR", "incident_review", "none"),
]
INCIDENT_HEADER = ["incident_id", "title", "business_unit", "system", "severity", "started_at", "resolved_at",
                   "responsible_party", "jurisdiction", "records_affected", "currency", "root_cause"]
LOSS_HEADER = ["incident_id", "category", "item", "quantity", "amount", "currency", "note"]
CUSTOMER_HEADER = ["incident_id", "customer_id", "customer_name", "sla_tier", "monthly_fee", "currency",
                   "outage_minutes"]
UNITS = ["Payments", "Logistics", "Cloud Platform", "Retail", "Data", "HR Systems", "Trading", "Support"]
SYSTEMS = ["gateway", "ledger", "warehouse", "cdn", "crm", "erp", "search", "billing"]
CAUSES = ["configuration change", "expired certificate", "disk full", "bad deploy", "vendor outage", ""]


def _split(total: int, parts: int, index: int) -> int:
    """The index-th of `parts` near-equal shares of `total`."""
    return total // parts + (1 if index < total % parts else 0)


def _incident(rng: random.Random, book: int, n: int, period: str = "2026-10") -> list[object]:
    first = datetime.fromisoformat(f"{period}-01")
    days = calendar.monthrange(first.year, first.month)[1] - 1  # October: 30, as the workloads always had
    start = first + timedelta(minutes=rng.randrange(0, days * 24 * 60))
    end = start + timedelta(minutes=rng.choice([5, 20, 45, 90, 180, 400, 900, 1500]))
    fined = rng.random() < 0.1
    return [_id(book, n, period), f"Incident {n} of unit {book}", UNITS[book % len(UNITS)],
            rng.choice(SYSTEMS), rng.choice(["P1", "P2", "P2", "P3", "P3", "P4"]), start, end,
            rng.choice(["internal", "internal", "vendor", "third_party"]), rng.choice(["CN", "EU"]) if fined else "",
            rng.randrange(1, 50_000) if fined else "", rng.choice(["CNY"] * 8 + ["USD", "EUR"]), rng.choice(CAUSES)]


def _loss(rng: random.Random, incident_id: str) -> list[object]:
    category, item, carries = rng.choice(LOSS_ITEMS)
    quantity = round(rng.uniform(0.5, 120), 2) if carries == "quantity" else ""
    amount = round(rng.uniform(100, 250_000), 2) if carries == "amount" else ""
    return [incident_id, category, item, quantity, amount, "", rng.choice(["", "estimate", "invoice attached"])]


def _customer(rng: random.Random, incident_id: str, n: int) -> list[object]:
    return [incident_id, f"C{n:06d}", f"Customer {n}", rng.choice(["Gold", "Silver", "Bronze"]),
            rng.choice([800, 2_000, 5_000, 12_000, 40_000]), "", rng.choice(["", "", 30, 120, 600])]


def write_workbook(path: Path, incidents: list[list], losses: list[list], customers: list[list]) -> None:
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    book.set_properties({"created": datetime(2026, 11, 1)})
    when = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    for name, header, rows in (("Incidents", INCIDENT_HEADER, incidents), ("Losses", LOSS_HEADER, losses),
                               ("Customers", CUSTOMER_HEADER, customers)):
        sheet = book.add_worksheet(name)
        sheet.write_row(0, 0, header)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row):
                write_value(sheet, r, c, value, when)
    book.close()


def write_value(sheet, r: int, c: int, value: object, when) -> None:
    """A date-time as a real Excel date, text as text (never a formula), "" as an empty cell."""
    if isinstance(value, datetime):
        sheet.write_datetime(r, c, value, when)
    elif isinstance(value, str):
        if value:
            sheet.write_string(r, c, value)
    else:
        sheet.write_number(r, c, value)


def _id(book: int, n: int, period: str) -> str:
    """Incident ids of the October workloads as they always were; another month's carry it."""
    return f"B{book:03d}-{n:05d}" if period == "2026-10" else f"{period}/B{book:03d}-{n:05d}"


def make_workspace(workload: Workload, target: Path, seed: int = 2026, period: str = "2026-10") -> Path:
    """A ready workspace: the sample config and standard, and the workload's workbooks of `period`
    in inbox/."""
    rng = random.Random(f"{workload.name}-{seed}" + ("" if period == "2026-10" else f"-{period}"))
    if target.exists():
        shutil.rmtree(target)
    (target / "rates").mkdir(parents=True)
    (target / "inbox").mkdir()
    shutil.copy2(SAMPLES / "compensation.toml", target / "compensation.toml")
    shutil.copy2(SAMPLES / "rates" / "rates.xlsx", target / "rates" / "rates.xlsx")
    long_ago = datetime(2026, 11, 1).timestamp()
    customer_number = 0
    for book in range(workload.workbooks):
        ids = [_id(book, n, period) for n in range(_split(workload.incidents, workload.workbooks, book))]
        incidents = [_incident(rng, book, n, period) for n in range(len(ids))]
        losses = [_loss(rng, ids[i % len(ids)]) for i in range(_split(workload.lines, workload.workbooks, book))]
        customers = []
        for _ in range(_split(workload.customers, workload.workbooks, book)):
            customer_number += 1
            customers.append(_customer(rng, rng.choice(ids), customer_number))
        path = target / "inbox" / f"unit{book:03d}_{period}.xlsx"
        write_workbook(path, incidents, losses, customers)
        os.utime(path, (long_ago + book, long_ago + book))  # settled, and read in a fixed order
    return target


if __name__ == "__main__":
    make_workspace(WORKLOADS[sys.argv[1]], Path(sys.argv[2]))
    print(f"{sys.argv[2]}: {WORKLOADS[sys.argv[1]]}")
