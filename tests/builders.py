"""Build standards and incident workbooks in memory, as python-calamine would read them."""

from __future__ import annotations

import json
from datetime import date, datetime

from compensation_report.model import RawSheet, RawWorkbook
from compensation_report.standard import Standard, read_standard
from compensation_report.validate import Submission, read_submission


def sheet(name: str, records: list[dict]) -> RawSheet:
    header: list[str] = []
    for record in records:
        header += [k for k in record if k not in header]
    return RawSheet(name, [header] + [[r.get(k, "") for k in header] for r in records])


def make_standard(rates: list[dict], sla: list[dict] = (), fines: list[dict] = (), insurance: list[dict] = (),
                  fx: list[dict] = (), currency: str = "CNY", settings: list[dict] = ()) -> Standard:
    settings = [{"key": "reporting_currency", "value": currency}, {"key": "version", "value": "test"}, *settings]
    sheets = [sheet("Settings", settings), sheet("Rates", list(rates))]
    for name, records in (("SLA", sla), ("Fines", fines), ("Insurance", insurance), ("FX", fx)):
        if records:
            sheets.append(sheet(name, list(records)))
    return read_standard(RawWorkbook("rates.xlsx", sheets))


def make_submission(incidents: list[dict], losses: list[dict] = (), customers: list[dict] = (),
                    file: str = "book.xlsx") -> Submission:
    sheets = [sheet("Incidents", list(incidents)),
              sheet("Losses", list(losses) or [{"incident_id": "", "category": "", "item": ""}])]
    if customers:
        sheets.append(sheet("Customers", list(customers)))
    submission, problems = read_submission(RawWorkbook(file, sheets))
    assert not problems, [str(p) for p in problems]
    return submission


def incident(incident_id: str, started: str, hours: float = 1, **extra) -> dict:
    start = datetime.fromisoformat(started)
    minutes = int(hours * 60)
    from datetime import timedelta

    return {"incident_id": incident_id, "title": f"Incident {incident_id}", "business_unit": "Payments",
            "system": "gateway", "severity": "P2", "started_at": start,
            "resolved_at": start + timedelta(minutes=minutes), **extra}


def rate(category: str, item: str, basis: str, value, unit: str = "", **extra) -> dict:
    return {"category": category, "item": item, "basis": basis, "rate": value, "unit": unit,
            "valid_from": date(2026, 1, 1), **extra}


def write_workbook(path, sheets: dict[str, list[dict]]):
    """A real .xlsx on disk, one sheet per entry, header in row 1 (dates as real Excel dates)."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    book.set_properties({"created": datetime(2026, 11, 1)})  # same bytes every time
    when = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    for name, records in sheets.items():
        ws = book.add_worksheet(name)
        raw = sheet(name, records)
        for r, row in enumerate(raw.rows):
            for c, value in enumerate(row):
                if isinstance(value, (datetime, date)):
                    ws.write_datetime(r, c, value, when)
                elif isinstance(value, str) and value:
                    ws.write_string(r, c, value)  # text stays text, even "=1+1"
                elif value != "":
                    ws.write(r, c, value)
    book.close()
    return path


SMALL_RATES = {
    "Settings": [{"key": "reporting_currency", "value": "CNY"}, {"key": "standard_name", "value": "Test standard"},
                 {"key": "version", "value": "1"}],
    "Rates": [rate("DOWNTIME", "production_halt", "per_unit", 20000, "hour", max_amount=50000),
              rate("LOSS", "lost_revenue", "direct", 1), rate("REPAIR", "review", "fixed", 5000),
              rate("REPAIR", "vendor", "per_unit", 200, "hour", currency="USD")],
    "SLA": [{"sla_tier": "Gold", "min_outage_minutes": 0, "credit_percent": 0, "extension_days": 0},
            {"sla_tier": "Gold", "min_outage_minutes": 60, "credit_percent": 25, "extension_days": 7}],
    "Fines": [{"jurisdiction": "CN", "fixed_amount": 50000, "per_record": 2, "max_amount": 1000000}],
    "Insurance": [{"policy_id": "P1", "insurer": "X", "covered": "LOSS,DOWNTIME", "deductible": 10000,
                   "coinsurance_percent": 10, "per_incident_limit": 40000, "aggregate_limit": 60000,
                   "waiting_period_hours": 1}],
    "FX": [{"currency": "USD", "valid_from": date(2026, 1, 1), "rate": 7.1234}],
}

# Incident A, worked by hand (the same numbers as test_pricing's insurance test, plus the rest):
#   LOSS 12,345.675 → 12,345.68; DOWNTIME 3.5 h × 20,000 = 70,000 capped to 50,000;
#   CUSTOMER C1 gold 120+ min: 1,000 × 25% = 250.00 + 1,000 × 7/30 = 233.33; FINE CN 50,000 + 2 × 1,000 = 52,000;
#   REPAIR 3 h × 200 USD × 7.1234 = 4,274.04 → gross 119,103.05; recovery 34,253.97; net 84,849.08
SMALL_INCIDENTS = {
    "Incidents": [incident("A", "2026-10-03 14:05", 3.5, jurisdiction="cn", records_affected=1000),
                  incident("B", "2026-10-05 10:00", 2)],
    "Losses": [{"incident_id": "A", "category": "DOWNTIME", "item": "production_halt"},
               {"incident_id": "A", "category": "loss", "item": "lost_revenue", "amount": "12345.675"},
               {"incident_id": "A", "category": "修复费用", "item": "vendor", "quantity": 3},
               {"incident_id": "B", "category": "REPAIR", "item": "review"}],
    "Customers": [{"incident_id": "A", "customer_id": "C1", "sla_tier": "gold", "monthly_fee": 1000},
                  {"incident_id": "B", "customer_id": "C1", "sla_tier": "Gold", "monthly_fee": 3000}],
}

CONFIG = """[report]
rates = "rates/rates.xlsx"

[inbox]
settle_seconds = 0

[email]
mode = "{mode}"
to = {to}

[email.smtp]
host = "127.0.0.1"
port = {port}
retry_seconds = 0
{smtp}"""


def write_small_workspace(root, mode: str = "outbox", port: int = 25, to: tuple[str, ...] = ("finance@example.com",),
                          smtp: str = ""):
    """The small workspace; `smtp` adds lines to [email.smtp] (security, username, ca_file …)."""
    (root / "rates").mkdir(parents=True, exist_ok=True)
    (root / "inbox").mkdir(exist_ok=True)
    (root / "compensation.toml").write_text(CONFIG.format(mode=mode, port=port, to=json.dumps(list(to)), smtp=smtp))
    write_workbook(root / "rates" / "rates.xlsx", SMALL_RATES)
    write_workbook(root / "inbox" / "payments.xlsx", SMALL_INCIDENTS)
    return root
