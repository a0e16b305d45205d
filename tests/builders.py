"""Build standards and incident workbooks in memory, as python-calamine would read them."""

from __future__ import annotations

from datetime import date, datetime

from compensation_report.standard import Standard, read_standard
from compensation_report.validate import Submission, read_submission
from compensation_report.workbooks import RawSheet, RawWorkbook


def sheet(name: str, records: list[dict]) -> RawSheet:
    header: list[str] = []
    for record in records:
        header += [k for k in record if k not in header]
    return RawSheet(name, [header] + [[r.get(k, "") for k in header] for r in records])


def make_standard(rates: list[dict], sla: list[dict] = (), fines: list[dict] = (), insurance: list[dict] = (),
                  fx: list[dict] = (), currency: str = "CNY") -> Standard:
    settings = [{"key": "reporting_currency", "value": currency}, {"key": "version", "value": "test"}]
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
    when = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    for name, records in sheets.items():
        ws = book.add_worksheet(name)
        raw = sheet(name, records)
        for r, row in enumerate(raw.rows):
            for c, value in enumerate(row):
                if isinstance(value, (datetime, date)):
                    ws.write_datetime(r, c, value, when)
                elif value != "":
                    ws.write(r, c, value)
    book.close()
    return path
