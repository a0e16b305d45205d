"""Stored period results always equal a full re-price of the ledger, whatever arrives in what order
(Hypothesis): new months, late incidents for old months, revisions that move an incident to another
month or change what it claims on an aggregate limit, and changes of the standard."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from builders import make_standard, make_submission, rate
from compensation_report import results
from compensation_report.codec import encode_revisions
from compensation_report.ledger import Ledger
from compensation_report.periods import limited_policies

IDS = [f"I{n}" for n in range(8)]  # few ids, so that later submissions revise earlier incidents
CUSTOMERS = ["C1", "C2"]
FX = [{"currency": "USD", "valid_from": date(2026, 1, 1), "rate": 7.1234}]
SLA = [{"sla_tier": "Gold", "min_outage_minutes": 0, "credit_percent": 30, "extension_days": 1},
       {"sla_tier": "Gold", "min_outage_minutes": 60, "credit_percent": 70, "extension_days": 7}]


def standard(variant: int):
    """Two standards that price the same items differently; the first policy's aggregate limit binds
    within a few incidents, so one period's claims move what the next ones recover."""
    rates = [rate("DOWNTIME", "halt", "per_unit", 20000 + 5000 * variant, "hour", max_amount=90000),
             rate("LOSS", "revenue", "direct", 1),
             rate("REPAIR", "eng", "per_unit", 150 + 50 * variant, "person_hour", currency="USD"),
             rate("REPAIR", "review", "fixed", 5000)]
    insurance = [{"policy_id": "AGG", "covered": "LOSS,DOWNTIME", "deductible": 5000, "coinsurance_percent": 10,
                  "per_incident_limit": 60000, "aggregate_limit": 150000 + 50000 * variant,
                  "waiting_period_hours": 1, "currency": "USD" if variant else ""},
                 {"policy_id": "OPEN", "covered": "REPAIR,CUSTOMER", "deductible": 1000}]
    return make_standard(rates, sla=SLA, insurance=insurance, fx=FX)


STANDARDS = [standard(0), standard(1)]


@st.composite
def submissions(draw):
    ids = draw(st.lists(st.sampled_from(IDS), min_size=1, max_size=4, unique=True))
    incidents, losses, customers = [], [], []
    for incident_id in ids:
        start = datetime(2026, 1, 1) + timedelta(days=draw(st.integers(0, 150)), minutes=draw(st.integers(0, 1439)))
        incidents.append({"incident_id": incident_id, "title": "t", "business_unit": draw(st.sampled_from(["A", "B"])),
                          "system": "s", "severity": "P2", "started_at": start,
                          "resolved_at": start + timedelta(minutes=draw(st.integers(0, 600)))})
        for kind in draw(st.lists(st.sampled_from(["halt", "revenue", "eng", "review"]), max_size=3)):
            line = {"incident_id": incident_id, "category": {"halt": "DOWNTIME", "revenue": "LOSS"}.get(kind, "REPAIR"),
                    "item": kind}
            if kind == "revenue":
                line["amount"] = str(draw(st.integers(0, 90000)))
            elif kind == "eng":
                line["quantity"] = str(draw(st.integers(0, 40)))
            losses.append(line)
        for customer in draw(st.lists(st.sampled_from(CUSTOMERS), max_size=2, unique=True)):
            customers.append({"incident_id": incident_id, "customer_id": customer, "sla_tier": "Gold",
                              "monthly_fee": str(draw(st.integers(100, 5000)))})
    return make_submission(incidents, losses, customers)


steps = st.lists(st.one_of(submissions(), st.sampled_from([0, 1])), min_size=1, max_size=5)


@settings(max_examples=max(10, settings.default.max_examples // 3))  # each step prices whole periods: slow-ish
@given(steps)
def test_stored_results_equal_a_full_re_price_after_every_kind_of_change(tmp_path_factory, history):
    ledger = Ledger(tmp_path_factory.mktemp("ledger") / "ledger.sqlite")
    variant = 0
    try:
        for n, step in enumerate(history):
            if isinstance(step, int):  # the standard changes: every period is priced with the new one
                variant = step
            else:
                sid = ledger.record_submission(f"{n}.xlsx", str(n), 1, datetime(2026, 7, 1), "accepted", run_id=n)
                ledger.add_revisions(sid, encode_revisions(step.incidents, step.losses, step.customers))
            results.refresh(ledger, STANDARDS[variant], f"standard {variant}", run_id=n)
            assert results.verify(ledger, STANDARDS[variant], f"standard {variant}") == []
    finally:
        ledger.close()


def test_a_revision_in_an_early_month_prices_again_only_the_later_months_its_limit_links(tmp_path):
    """Policy AGG's aggregate limit runs through January to April; OPEN has none. A revision of the
    January incident that claims less on AGG re-prices January and the later months claiming on AGG
    (March), not February (only OPEN) nor April (nothing covered)."""
    std = STANDARDS[0]
    assert limited_policies(std) == {0}

    def incident(incident_id: str, day: str, **extra) -> dict:
        start = datetime.fromisoformat(day)
        return {"incident_id": incident_id, "title": "t", "business_unit": "A", "system": "s", "severity": "P2",
                "started_at": start, "resolved_at": start + timedelta(hours=5), **extra}

    first = make_submission(
        [incident("JAN", "2026-01-10 08:00"), incident("FEB", "2026-02-10 08:00"), incident("MAR", "2026-03-10 08:00"),
         incident("APR", "2026-04-10 08:00")],
        [{"incident_id": "JAN", "category": "LOSS", "item": "revenue", "amount": "200000"},
         {"incident_id": "FEB", "category": "REPAIR", "item": "review"},
         {"incident_id": "MAR", "category": "LOSS", "item": "revenue", "amount": "200000"},
         {"incident_id": "APR", "category": "FINE", "item": "review"}])
    revision = make_submission([incident("JAN", "2026-01-10 08:00")],
                               [{"incident_id": "JAN", "category": "LOSS", "item": "revenue", "amount": "10000"}])
    ledger = Ledger(tmp_path / "ledger.sqlite")
    try:
        sid = ledger.record_submission("a.xlsx", "a", 1, datetime(2026, 5, 1), "accepted", run_id=1)
        ledger.add_revisions(sid, encode_revisions(first.incidents, first.losses, first.customers))
        assert sorted(results.refresh(ledger, std, "s", run_id=1)) == ["2026-01", "2026-02", "2026-03", "2026-04"]
        recovered = {p: s["recovery"] for p, s in ledger.results().items()}
        # JAN: 200,000 − 5,000 deductible, 90 % = 175,500, capped at 60,000; MAR: the same 60,000
        assert (recovered["2026-01"], recovered["2026-03"]) == (D("60000.00"), D("60000.00"))
        sid = ledger.record_submission("b.xlsx", "b", 1, datetime(2026, 5, 2), "accepted", run_id=2)
        ledger.add_revisions(sid, encode_revisions(revision.incidents, revision.losses, revision.customers))
        assert sorted(results.refresh(ledger, std, "s", run_id=2)) == ["2026-01", "2026-03"]
        recovered = {p: s["recovery"] for p, s in ledger.results().items()}
        # JAN now: (10,000 − 5,000) × 90 % = 4,500; MAR unchanged here (60,000 fits in what is left either way)
        assert (recovered["2026-01"], recovered["2026-03"]) == (D("4500.00"), D("60000.00"))
        assert results.verify(ledger, std, "s") == []
        assert sorted(results.refresh(ledger, std, "s", run_id=3)) == []  # nothing new: nothing priced
        assert sorted(results.refresh(ledger, STANDARDS[1], "other", run_id=4)) == [
            "2026-01", "2026-02", "2026-03", "2026-04"]  # another standard: everything
    finally:
        ledger.close()
