"""One workspace, month after month (SPEC 8), through the real commands: the five failures reported
in "Month after month" (each failed on release 0.1.0), twelve months fed one run a month against
all at once, revisions sent by email, status."""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import time
from datetime import datetime
from email import message_from_bytes, policy

import openpyxl
import pytest
from builders import SMALL_RATES, incident, write_small_workspace, write_workbook
from click.testing import CliRunner
from helpers import HEADER_ROW
from test_mail import free_port, serving

from compensation_report.cli import cli

MONTHS = [f"2026-{m:02d}" for m in range(1, 13)]


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def report_of(ws, period="2026-10"):
    return ws / "reports" / period / f"compensation_report_{period}.xlsx"


def sheet_rows(path, sheet: str) -> list[tuple]:
    return list(openpyxl.load_workbook(path, data_only=True)[sheet].iter_rows(min_row=HEADER_ROW + 1, values_only=True))


def emails(folder) -> list:
    return [message_from_bytes(p.read_bytes(), policy=policy.default) for p in sorted(folder.glob("*.eml"))]


def drop(ws, name: str, sheets: dict, age: float = 600) -> None:
    """A workbook into the inbox, settled `age` seconds ago (later drops: smaller ages)."""
    path = write_workbook(ws / "inbox" / name, sheets)
    os.utime(path, (time.time() - age, time.time() - age))


# -- the five failures ------------------------------------------------------------------------


def test_a_run_prices_only_the_periods_its_arrivals_touch(tmp_path, monkeypatch):
    """Cost follows the work: with months of history, a new month's run prices that month's incidents,
    not the ledger's."""
    ws = write_small_workspace(tmp_path / "ws")
    (ws / "inbox" / "payments.xlsx").unlink()
    for period in MONTHS[:5]:
        drop(ws, f"{period}.xlsx", month_books(period, seed=1)[0][1])
        assert invoke("run", "-w", ws, "--period", period, "--no-email").exit_code == 0
    from compensation_report import periods as periods_module

    priced = []
    real_price = periods_module.price
    monkeypatch.setattr(periods_module, "price", lambda incidents, *rest: priced.append(
        sorted(set(incidents["started_at"].dt.strftime("%Y-%m")))) or real_price(incidents, *rest))
    drop(ws, "2026-06.xlsx", month_books("2026-06", seed=1)[0][1])
    result = invoke("run", "-w", ws, "--period", "2026-06", "--no-email", "--verify")
    assert result.exit_code == 0, result.output
    assert priced == [["2026-06"]]  # the check's pricing of June, used for the stored result too
    assert len(sheet_rows(report_of(ws, "2026-06"), "Trend")) == 6  # the earlier months, from their stored figures


def test_a_copy_of_a_rejected_workbook_is_checked_with_the_batch_and_is_in_that_runs_report(tmp_path):
    ws = write_small_workspace(tmp_path / "ws")
    rates = {**SMALL_RATES, "Rates": [r for r in SMALL_RATES["Rates"] if r["item"] != "review"]}
    write_workbook(ws / "rates" / "rates.xlsx", rates)  # B's review line has no rate now
    result = invoke("run", "-w", ws, "--period", "2026-10", "--no-email")
    assert result.exit_code == 1 and "rejected  payments.xlsx" in result.output
    write_workbook(ws / "rates" / "rates.xlsx", SMALL_RATES)  # the standard fixed
    shutil.copy(ws / "rejected" / "payments.xlsx", ws / "inbox" / "payments.xlsx")
    result = invoke("run", "-w", ws, "--period", "2026-10", "--no-email", "--verify")
    assert result.exit_code == 0, result.output
    assert "accepted  payments.xlsx: 2 incident(s)" in result.output
    assert "Period 2026-10: 2 incidents, gross 125,553.05" in result.output  # in this run's report, not the next
    assert [row[0] for row in sheet_rows(report_of(ws), "Incidents")] == ["A", "B"]


def test_a_second_run_with_nothing_new_sends_nothing(tmp_path):
    port = free_port()
    ws = write_small_workspace(tmp_path / "ws", mode="smtp", port=port)
    config = ws / "compensation.toml"
    config.write_text(config.read_text() + '\n[[email.burst]]\nbusiness_unit = "Payments"\nto = ["lead@example.com"]\n')
    with serving(port) as inbox:
        assert invoke("run", "-w", ws, "--period", "2026-10").exit_code == 0
        assert len(inbox.messages) == 2  # the report and the Payments report
        again = invoke("run", "-w", ws, "--period", "2026-10")
        assert again.exit_code == 0 and "Email written" not in again.output
        assert invoke("send", "-w", ws).exit_code == 0
    assert len(inbox.messages) == 2


def test_send_delivers_the_periods_current_report_not_the_one_that_waited(tmp_path):
    """A delivery fails; a later `run --no-email` takes one more workbook; `send` delivers the figures
    of the report on disk (3 incidents), not the 2 of the email that waited."""
    port = free_port()
    ws = write_small_workspace(tmp_path / "ws", mode="smtp", port=port)
    assert invoke("run", "-w", ws, "--period", "2026-10").exit_code == 3  # nothing listens yet
    drop(ws, "late.xlsx", {"Incidents": [incident("C", "2026-10-20 10:00", 1)],
                           "Losses": [{"incident_id": "C", "category": "REPAIR", "item": "review"}]})
    result = invoke("run", "-w", ws, "--period", "2026-10", "--no-email")
    assert "Period 2026-10: 3 incidents" in result.output
    with serving(port) as inbox:
        assert invoke("send", "-w", ws).exit_code == 0
    ((_, message),) = inbox.messages
    assert message["Subject"].startswith("Compensation report 2026-10: net 96,299.08 CNY (3 incidents")
    (attachment,) = message.iter_attachments()
    assert attachment.get_content() == report_of(ws).read_bytes()
    assert len(list((ws / "outbox" / "superseded").glob("*.eml"))) == 1  # the email that waited, kept, never sent


def test_send_delivers_another_periods_current_report_after_a_run_without_email(tmp_path):
    """September's email waits (the server was down); October's run without email takes a late
    September incident; `send` delivers September as it now stands."""
    port = free_port()
    ws = write_small_workspace(tmp_path / "ws", mode="smtp", port=port)
    (ws / "inbox" / "payments.xlsx").unlink()
    drop(ws, "sept.xlsx", {"Incidents": [incident("S", "2026-09-10 10:00", 1)],
                           "Losses": [{"incident_id": "S", "category": "REPAIR", "item": "review"}]})
    assert invoke("run", "-w", ws, "--period", "2026-09").exit_code == 3
    drop(ws, "oct.xlsx", {"Incidents": [incident("O", "2026-10-10 10:00", 1), incident("S2", "2026-09-29 10:00", 1)],
                          "Losses": [{"incident_id": "O", "category": "REPAIR", "item": "review"},
                                     {"incident_id": "S2", "category": "REPAIR", "item": "review"}]})
    assert invoke("run", "-w", ws, "--period", "2026-10", "--no-email").exit_code == 0
    with serving(port) as inbox:
        assert invoke("send", "-w", ws).exit_code == 0
    ((_, message),) = inbox.messages
    assert message["Subject"].startswith("Compensation report 2026-09: net 10,000.00 CNY (2 incidents")
    (attachment,) = message.iter_attachments()
    assert attachment.get_content() == report_of(ws, "2026-09").read_bytes()


def test_a_rejected_workbook_stays_on_the_periods_report_until_it_is_replaced(tmp_path):
    ws = write_small_workspace(tmp_path / "ws")
    bad = {"Incidents": [incident("X", "2026-10-07 09:00", 1)],
           "Losses": [{"incident_id": "X", "category": "REPAIR", "item": "review", "quantity": "abc"}]}
    drop(ws, "ops.xlsx", bad)
    assert invoke("run", "-w", ws, "--period", "2026-10").exit_code == 1
    again = invoke("run", "-w", ws, "--period", "2026-10")
    assert again.exit_code == 1, again.output  # still not replaced
    assert "still rejected ops.xlsx" in again.output
    warnings = [row[1] for row in sheet_rows(report_of(ws), "Warnings") if row[0] == "rejected_earlier"]
    assert len(warnings) == 1 and warnings[0].startswith("ops.xlsx: rejected on ")
    drop(ws, "ops.xlsx", {**bad, "Losses": [{"incident_id": "X", "category": "REPAIR", "item": "review"}]})
    fixed = invoke("run", "-w", ws, "--period", "2026-10")
    assert fixed.exit_code == 0, fixed.output
    assert not [row for row in sheet_rows(report_of(ws), "Warnings") if row[0].startswith("rejected")]
    (revision,) = [m for m in emails(ws / "outbox") if m["Subject"].startswith("Revised:")]
    assert "Incidents added: X" in revision.get_body(("plain",)).get_content()


# -- twelve months ------------------------------------------------------------------------------


def month_books(period: str, seed: int = 0) -> list[tuple[str, dict]]:
    """Two workbooks of a month: incidents with downtime, revenue, vendor hours (USD) and reviews,
    customers whose credits reach the SLA fee cap, a jurisdiction with a fine; policy P1's aggregate
    limit (60,000) runs out over the first months, P2's (250,000) over the year."""
    rng = random.Random(f"{period}/{seed}")
    books = []
    for unit in ("Payments", "Logistics"):
        incidents, losses, customers = [], [], []
        for n in range(rng.randint(1, 3)):
            incident_id = f"{unit[:3].upper()}-{period}-{n}"
            start = f"{period}-{rng.randint(1, 28):02d} {rng.randint(0, 23):02d}:{rng.choice(['00', '05', '40'])}"
            extra = {"jurisdiction": "CN", "records_affected": rng.randint(0, 500)} if rng.random() < 0.2 else {}
            incidents.append(incident(incident_id, start, rng.choice([0.5, 1, 2.5, 4]), business_unit=unit, **extra))
            losses += [{"incident_id": incident_id, "category": "DOWNTIME", "item": "production_halt"},
                       {"incident_id": incident_id, "category": "LOSS", "item": "lost_revenue",
                        "amount": str(rng.randint(1000, 40000))},
                       {"incident_id": incident_id, "category": "REPAIR", "item": "vendor",
                        "quantity": rng.choice(["3", "7.5", "12"])}][:rng.randint(1, 3)]
            customers += [{"incident_id": incident_id, "customer_id": customer, "sla_tier": "Gold",
                           "monthly_fee": rng.choice([800, 1000, 3000])}
                          for customer in rng.sample(["C1", "C2"], rng.randint(0, 2))]
        books.append((f"{unit.lower()}_{period}.xlsx",
                      {"Incidents": incidents, "Losses": losses, **({"Customers": customers} if customers else {})}))
    return books


YEAR_RATES = {**SMALL_RATES, "Insurance": SMALL_RATES["Insurance"] + [
    {"policy_id": "P2", "insurer": "Y", "covered": "REPAIR,CUSTOMER", "deductible": 500, "coinsurance_percent": 0,
     "per_incident_limit": 20000, "aggregate_limit": 250000}]}


def year_of_drops() -> list[tuple[str, str, dict]]:
    """(run period, file name, sheets), in the order they arrive: each month's two workbooks, and late
    ones: in July a revision of February's first Payments incident (it moves what P1 and P2 have left
    for every later month), in September a late May incident, in November one of March's incidents
    revised into April."""
    drops = [(period, name, sheets) for period in MONTHS for name, sheets in month_books(period)]
    february = month_books("2026-02")[0][1]["Incidents"][0]
    march = month_books("2026-03")[1][1]["Incidents"][0]
    late = [("2026-07", "february_fix.xlsx", {"Incidents": [{**february, "title": "revised in July"}],
                                              "Losses": [{"incident_id": february["incident_id"], "category": "LOSS",
                                                          "item": "lost_revenue", "amount": "90000"}]}),
            ("2026-09", "may_late.xlsx", {"Incidents": [incident("LATE-05", "2026-05-30 23:59", 3)],
                                          "Losses": [{"incident_id": "LATE-05", "category": "REPAIR",
                                                      "item": "vendor", "quantity": "20"}]}),
            ("2026-11", "march_moved.xlsx", {"Incidents": [{**march, "started_at": datetime(2026, 4, 2, 8),
                                                            "resolved_at": datetime(2026, 4, 2, 9)}],
                                             "Losses": [{"incident_id": march["incident_id"], "category": "REPAIR",
                                                         "item": "review"}]})]
    for run_period, name, sheets in late:
        at = max(k for k, d in enumerate(drops) if d[0] == run_period)
        drops.insert(at + 1, (run_period, name, sheets))
    return drops


def year_workspace(root):
    ws = write_small_workspace(root)
    (ws / "inbox" / "payments.xlsx").unlink()
    write_workbook(ws / "rates" / "rates.xlsx", YEAR_RATES)
    return ws


def test_twelve_months_one_run_a_month_give_the_reports_of_one_run_over_all_of_them(tmp_path, monkeypatch):
    drops = year_of_drops()
    monthly, at_once = year_workspace(tmp_path / "monthly"), year_workspace(tmp_path / "at_once")
    for k, (_, name, sheets) in enumerate(drops):
        drop(at_once, name, sheets, age=10_000 - k)  # the same order of arrival
    for period in MONTHS:
        for k, (run_period, name, sheets) in enumerate(drops):
            if run_period == period:
                drop(monthly, name, sheets, age=10_000 - k)
        result = invoke("run", "-w", monthly, "--period", period, "--no-email", "--verify")
        assert result.exit_code == 0, result.output
    result = invoke("run", "-w", at_once, "--period", "2026-12", "--no-email", "--verify")
    assert result.exit_code == 0, result.output
    assert f"Files: {len(drops)} ({len(drops)} accepted" in result.output

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1790000000")
    for period in MONTHS:
        for ws in (monthly, at_once):
            assert invoke("run", "-w", ws, "--period", period, "--no-email").exit_code == 0
        assert report_of(monthly, period).read_bytes() == report_of(at_once, period).read_bytes(), period
    trend = sheet_rows(report_of(monthly, "2026-12"), "Trend")
    assert [row[0] for row in trend] == MONTHS and all(row[1] for row in trend)
    used = {row[0]: row[9] for row in sheet_rows(report_of(monthly, "2026-12"), "Insurance")}
    assert used["P1"] == 60000  # used up over the months: P1's aggregate links every month to the ones before


def test_a_changed_standard_prices_every_period_again_and_the_next_run_nothing(tmp_path):
    ws = year_workspace(tmp_path / "ws")
    for k, (_, name, sheets) in enumerate(year_of_drops()[:8]):
        drop(ws, name, sheets, age=10_000 - k)
    assert invoke("run", "-w", ws, "--period", "2026-04", "--no-email", "--verify").exit_code == 0
    rates = {**YEAR_RATES, "FX": [{**YEAR_RATES["FX"][0], "rate": 7.2}]}
    write_workbook(ws / "rates" / "rates.xlsx", rates)
    result = invoke("run", "-w", ws, "--period", "2026-04", "--no-email", "--verify")
    assert "Periods priced: 2026-01, 2026-02, 2026-03, 2026-04" in result.output
    result = invoke("run", "-w", ws, "--period", "2026-04", "--no-email", "--verify")
    assert result.exit_code == 0 and "Periods priced" not in result.output


# -- revisions by email -------------------------------------------------------------------------


@pytest.mark.parametrize("locale, prefix, revised", [
    ("en", "Revised: Compensation report 2026-10", "Incidents revised: A"),
    ("zh-CN", "更正：2026-10 赔偿报告", "修订事故：A")])
def test_a_period_changed_after_delivery_is_sent_once_more_as_a_revision(tmp_path, locale, prefix, revised):
    ws = write_small_workspace(tmp_path / "ws")
    assert invoke("run", "-w", ws, "--period", "2026-10", "--locale", locale).exit_code == 0
    drop(ws, "fix.xlsx", {"Incidents": [incident("A", "2026-10-03 14:05", 1)],
                          "Losses": [{"incident_id": "A", "category": "REPAIR", "item": "review"}]})
    assert invoke("run", "-w", ws, "--period", "2026-10", "--locale", locale).exit_code == 0
    assert invoke("run", "-w", ws, "--period", "2026-10", "--locale", locale).exit_code == 0  # nothing new
    first, revision = emails(ws / "outbox")
    assert not first["Subject"].startswith(prefix) and revision["Subject"].startswith(prefix)
    for body in (revision.get_body(("plain",)).get_content(), revision.get_body(("html",)).get_content()):
        assert revised in body
        assert "91,299.08" in body and "11,450.00" in body  # net before → after


def test_a_late_workbook_for_a_delivered_month_sends_that_months_report_as_a_revision(tmp_path):
    ws = write_small_workspace(tmp_path / "ws")
    (ws / "inbox" / "payments.xlsx").unlink()
    drop(ws, "sept.xlsx", {"Incidents": [incident("S", "2026-09-10 10:00", 1)],
                           "Losses": [{"incident_id": "S", "category": "REPAIR", "item": "review"}]})
    assert invoke("run", "-w", ws, "--period", "2026-09").exit_code == 0
    drop(ws, "oct.xlsx", {"Incidents": [incident("O", "2026-10-10 10:00", 1), incident("S2", "2026-09-29 10:00", 1)],
                          "Losses": [{"incident_id": "O", "category": "REPAIR", "item": "review"},
                                     {"incident_id": "S2", "category": "REPAIR", "item": "review"}]})
    result = invoke("run", "-w", ws, "--period", "2026-10")
    assert result.exit_code == 0 and "Periods priced: 2026-09, 2026-10" in result.output
    subjects = sorted(m["Subject"] for m in emails(ws / "outbox"))
    assert subjects == ["Compensation report 2026-09: net 5,000.00 CNY (1 incidents; largest S Incident S)",
                        "Compensation report 2026-10: net 5,000.00 CNY (1 incidents; largest O Incident O)",
                        "Revised: Compensation report 2026-09: net 10,000.00 CNY (2 incidents; largest S Incident S)"]
    assert len(sheet_rows(report_of(ws, "2026-09"), "Incidents")) == 2  # September's report, written again


def test_as_of_a_past_day_reads_the_results_stored_then(tmp_path, monkeypatch):
    """The first run is made to have been on 3 November; a revision arrives later. As of 3 November
    the report holds what that run's report held, read from the results it stored (the period's own
    result was superseded since, so that one period is priced again, alone), not a pricing of the
    whole ledger."""
    from compensation_report import pipeline

    ws = write_small_workspace(tmp_path / "ws")
    assert invoke("run", "-w", ws, "--period", "2026-10", "--no-email").exit_code == 0
    then = {sheet: sheet_rows(report_of(ws), sheet) for sheet in ("Incidents", "Lines", "Customers", "Insurance")}
    with sqlite3.connect(ws / "ledger.sqlite") as db:
        db.execute("UPDATE submissions SET received_at = '2026-11-03T09:00:00'")
        db.execute("UPDATE runs SET started_at = '2026-11-03T09:00:00'")
    drop(ws, "fix.xlsx", {"Incidents": [incident("A", "2026-10-03 14:05", 1)],
                          "Losses": [{"incident_id": "A", "category": "REPAIR", "item": "review"}]})
    assert invoke("run", "-w", ws, "--period", "2026-10", "--no-email").exit_code == 0
    monkeypatch.setattr(pipeline, "price", lambda *args: pytest.fail("the whole ledger priced"))
    assert invoke("run", "-w", ws, "--period", "2026-10", "--as-of", "2026-11-03").exit_code == 0
    as_of = ws / "reports" / "2026-10" / "compensation_report_2026-10_as_of_2026-11-03.xlsx"
    assert {sheet: sheet_rows(as_of, sheet) for sheet in then} == then


# -- the ledger's versions ----------------------------------------------------------------------


FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "ledger-0.1.0.sqlite")


def sample_workspace_with(tmp_path, ledger_file):
    ws = tmp_path / "ws"
    assert invoke("init", ws).exit_code == 0
    for path in (ws / "inbox").iterdir():
        path.unlink()
    shutil.copy(ledger_file, ws / "ledger.sqlite")
    return ws


def test_a_ledger_of_release_0_1_0_is_upgraded_in_place_after_a_copy_is_kept(tmp_path):
    ws = sample_workspace_with(tmp_path, FIXTURE)
    result = invoke("run", "-w", ws, "--period", "2026-10", "--verify")
    assert result.exit_code == 1, result.output  # broken.xlsx, rejected under 0.1.0, was never replaced
    assert "Period 2026-10: 15 incidents, gross 4,938,646.80, recovery 590,746.92, net 4,347,899.88" in result.output
    assert (ws / "ledger.sqlite.bak-0.1.0").read_bytes() == open(FIXTURE, "rb").read()
    with sqlite3.connect(ws / "ledger.sqlite") as db:
        assert db.execute("PRAGMA user_version").fetchone() == (3,)
        assert db.execute("SELECT COUNT(*) FROM submissions").fetchone() == (7,)  # nothing lost
    # October was delivered with these figures under 0.1.0: not sent again. September changed after
    # its delivery (the October workbooks revised one incident and added another): sent as a revision.
    (revision,) = emails(ws / "outbox")
    assert revision["Subject"].startswith("Revised: Compensation report 2026-09: net 1,219,246.76 CNY")
    assert "Incidents added: LOG-2609-07" in revision.get_body(("plain",)).get_content()


def test_a_workspace_of_0_1_0_in_outbox_mode_keeps_what_its_emails_said(tmp_path):
    """Release 0.1.0 recorded nothing of the emails it wrote in outbox mode; the upgrade takes them
    from outbox/: October is not written again, September (changed since) is, as a revision."""
    fixture = os.path.join(os.path.dirname(__file__), "fixtures", "outbox-0.1.0")
    ws = sample_workspace_with(tmp_path, os.path.join(fixture, "ledger.sqlite"))
    for name in os.listdir(os.path.join(fixture, "outbox")):
        shutil.copy(os.path.join(fixture, "outbox", name), ws / "outbox" / name)
    result = invoke("run", "-w", ws, "--period", "2026-10", "--verify")
    assert result.exit_code == 0, result.output
    assert [line for line in result.output.splitlines() if line.startswith("Email written")] == [
        f"Email written: {next((ws / 'outbox').glob('compensation_report_2026-09_revised_*.eml'))}"]
    assert invoke("run", "-w", ws, "--period", "2026-10").output.count("Email written") == 0


def test_an_email_of_0_1_0_that_waited_is_never_sent_with_its_old_figures(tmp_path):
    """0.1.0 could not deliver October (2 incidents); a later `run --no-email` of 0.1.0 took a third
    incident. After the upgrade, `send` holds the old email back; the next run sends October as it
    stands."""
    fixture = os.path.join(os.path.dirname(__file__), "fixtures", "waiting-0.1.0")
    port = free_port()
    ws = write_small_workspace(tmp_path / "ws", mode="smtp", port=port)
    (ws / "inbox" / "payments.xlsx").unlink()
    shutil.copy(os.path.join(fixture, "ledger.sqlite"), ws / "ledger.sqlite")
    (ws / "outbox").mkdir()
    shutil.copy(os.path.join(fixture, "outbox", "compensation_report_2026-10.eml"), ws / "outbox")
    with serving(port) as inbox:
        sent = invoke("send", "-w", ws)
        assert sent.exit_code == 0 and "Not sent: compensation_report_2026-10.eml" in sent.output
        assert inbox.messages == []
        assert invoke("run", "-w", ws, "--period", "2026-11").exit_code == 0
    subjects = sorted(message["Subject"] for _, message in inbox.messages)
    assert subjects[0].startswith("Compensation report 2026-10: net 96,299.08 CNY (3 incidents")


def test_an_upgrade_on_a_machine_east_of_utc_reads_0_1_0s_times_right(tmp_path, monkeypatch):
    """0.1.0 wrote its runs' times in local time and delivery times in UTC. On a machine at UTC+8 the
    ledger's runs read eight hours ahead of its deliveries: October's email is still known as
    delivered (not sent again), September's as changed since (sent as a revision)."""
    monkeypatch.setenv("TZ", "CST-8")  # POSIX: eight hours east of UTC, no time-zone database needed
    time.tzset()
    try:
        shifted = tmp_path / "east.sqlite"
        shutil.copy(FIXTURE, shifted)
        with sqlite3.connect(shifted) as db:  # what a machine at UTC+8 would have written
            for table, column in (("runs", "started_at"), ("runs", "finished_at"), ("submissions", "received_at")):
                db.execute(f"UPDATE {table} SET {column} = strftime('%Y-%m-%dT%H:%M:%f', {column}, '+8 hours')")
        ws = sample_workspace_with(tmp_path, shifted)
        assert invoke("run", "-w", ws, "--period", "2026-10").exit_code == 1  # broken.xlsx is still rejected
        (revision,) = emails(ws / "outbox")
        assert revision["Subject"].startswith("Revised: Compensation report 2026-09")
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_a_ledger_of_a_newer_release_is_refused_and_left_as_it_is(tmp_path):
    newer = tmp_path / "newer.sqlite"
    shutil.copy(FIXTURE, newer)
    with sqlite3.connect(newer) as db:
        db.execute("PRAGMA user_version = 99")
    ws = sample_workspace_with(tmp_path, newer)
    before = (ws / "ledger.sqlite").read_bytes()
    result = invoke("run", "-w", ws, "--period", "2026-10")
    assert result.exit_code == 2
    assert "written by a newer release of compensation-report (ledger schema 99)" in result.output
    assert (ws / "ledger.sqlite").read_bytes() == before and not list(ws.glob("ledger.sqlite.*"))
    assert not list((ws / "reports").iterdir()) and not list((ws / "logs").iterdir())  # nothing written
    assert not (ws / ".run.lock").exists()
    assert invoke("send", "-w", ws).exit_code == 2


# -- status -----------------------------------------------------------------------------------


def test_status_lists_the_inbox_rejections_periods_and_outbox_and_changes_nothing(tmp_path):
    ws = write_small_workspace(tmp_path / "ws")
    drop(ws, "bad.xlsx", {"Incidents": [incident("X", "2026-10-07 09:00", 1, severity="P9")],
                          "Losses": [{"incident_id": "X", "category": "REPAIR", "item": "review"}]})
    assert invoke("run", "-w", ws, "--period", "2026-10").exit_code == 1
    drop(ws, "next.xlsx", {"Incidents": [incident("N", "2026-11-02 09:00", 1)], "Losses": []})
    config = ws / "compensation.toml"
    config.write_text(config.read_text().replace("settle_seconds = 0", "settle_seconds = 60"))
    write_workbook(ws / "inbox" / "fresh.xlsx", {"Incidents": [incident("F", "2026-11-03 09:00", 1)], "Losses": []})
    state = {p: p.read_bytes() for p in ws.rglob("*") if p.is_file()}
    result = invoke("status", "-w", ws)
    assert result.exit_code == 0, result.output
    assert {p: p.read_bytes() for p in ws.rglob("*") if p.is_file()} == state  # nothing changed
    lines = result.output.splitlines()
    assert "Inbox: 1 waiting for the next run, 1 still settling" in lines
    assert "  waiting   next.xlsx" in lines and any(line.startswith("  settling  fresh.xlsx") for line in lines)
    assert "Rejected, not replaced yet: 1" in lines
    assert any(line.startswith("  bad.xlsx (received ") and 'severity "P9" is not a severity' in line for line in lines)
    assert any(line.startswith("  2026-10       2 incidents  net          91,299.08  last run ") and
               line.endswith("open") for line in lines)
    assert "Outbox: 1 email(s) written for your mail system to pick up ([email] mode = \"outbox\")" in lines
