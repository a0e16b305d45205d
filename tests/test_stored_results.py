"""Stored period results always equal a full re-price of the ledger, whatever arrives in what order
(Hypothesis): new months, late incidents for old months, revisions that move an incident to another
month or change what it claims on an aggregate limit, and changes of the standard."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal as D

from builders import make_standard, make_submission, rate
from hypothesis import given, settings
from hypothesis import strategies as st

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
            assert results.verify(ledger, STANDARDS[variant]) == []
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
        assert results.refresh(ledger, std, "s", run_id=1)[0] == ["2026-01", "2026-02", "2026-03", "2026-04"]
        recovered = {p: s["recovery"] for p, s in ledger.results().items()}
        # JAN: 200,000 − 5,000 deductible, 90 % = 175,500, capped at 60,000; MAR: the same 60,000
        assert (recovered["2026-01"], recovered["2026-03"]) == (D("60000.00"), D("60000.00"))
        sid = ledger.record_submission("b.xlsx", "b", 1, datetime(2026, 5, 2), "accepted", run_id=2)
        ledger.add_revisions(sid, encode_revisions(revision.incidents, revision.losses, revision.customers))
        assert results.refresh(ledger, std, "s", run_id=2)[0] == ["2026-01", "2026-03"]
        recovered = {p: s["recovery"] for p, s in ledger.results().items()}
        # JAN now: (10,000 − 5,000) × 90 % = 4,500; MAR unchanged here (60,000 fits in what is left either way)
        assert (recovered["2026-01"], recovered["2026-03"]) == (D("4500.00"), D("60000.00"))
        assert results.verify(ledger, std) == []
        assert results.refresh(ledger, std, "s", run_id=3)[0] == []  # nothing new: nothing priced
        assert results.refresh(ledger, STANDARDS[1], "other", run_id=4)[0] == [
            "2026-01", "2026-02", "2026-03", "2026-04"]  # another standard: everything
    finally:
        ledger.close()


def ledger_with(path, *submissions) -> Ledger:
    ledger = Ledger(path)
    for n, submission in enumerate(submissions):
        sid = ledger.record_submission(f"{n}.xlsx", str(n), 1, datetime(2026, 5, 1), "accepted", run_id=1)
        ledger.add_revisions(sid, encode_revisions(submission.incidents, submission.losses, submission.customers))
    return ledger


def three_months():
    """JAN, FEB and MAR each claim on AGG (limit 150,000, 60,000 an incident): MAR gets the last 30,000."""
    def incident(incident_id: str, day: str) -> dict:
        start = datetime.fromisoformat(day)
        return {"incident_id": incident_id, "title": "t", "business_unit": "A", "system": "s", "severity": "P2",
                "started_at": start, "resolved_at": start + timedelta(hours=5)}

    return [make_submission([incident(i, f"2026-{m}-10 08:00")],
                            [{"incident_id": i, "category": "LOSS", "item": "revenue", "amount": amount}])
            for i, m, amount in (("JAN", "01", "200000"), ("FEB", "02", "200000"), ("MAR", "03", "200000"),
                                 ("JAN", "01", "10000"))]


def test_a_run_killed_between_two_periods_leaves_nothing_wrong_for_the_next(tmp_path, monkeypatch):
    """The revision lowers JAN's claim; the run dies after storing January, before February and March
    (whose openings moved). The next run has nothing marked stale, and still prices them again."""
    jan, feb, mar, jan_revised = three_months()
    ledger = ledger_with(tmp_path / "ledger.sqlite", jan, feb, mar)
    try:
        results.refresh(ledger, STANDARDS[0], "s", run_id=1)
        assert ledger.results()["2026-03"]["recovery"] == D("30000.00")
        sid = ledger.record_submission("r.xlsx", "r", 1, datetime(2026, 5, 2), "accepted", run_id=2)
        ledger.add_revisions(sid, encode_revisions(jan_revised.incidents, jan_revised.losses, jan_revised.customers))
        stored = Ledger.store_result

        def killed_after_january(self, period, *args):
            if period != "2026-01":
                raise KeyboardInterrupt("killed")
            stored(self, period, *args)

        monkeypatch.setattr(Ledger, "store_result", killed_after_january)
        try:
            results.refresh(ledger, STANDARDS[0], "s", run_id=2)
        except KeyboardInterrupt:
            pass
        monkeypatch.setattr(Ledger, "store_result", stored)
        assert ledger.stale_periods() == set()
        assert results.refresh(ledger, STANDARDS[0], "s", run_id=3)[0] == ["2026-02", "2026-03"]
        assert ledger.results()["2026-03"]["recovery"] == D("60000.00")  # (150,000 − 4,500 − 60,000) ≥ 60,000
        assert results.verify(ledger, STANDARDS[0]) == []
    finally:
        ledger.close()


def test_a_change_of_the_standard_prices_again_only_the_periods_it_can_reach(tmp_path):
    jan, feb, mar, _ = three_months()
    ledger = ledger_with(tmp_path / "ledger.sqlite", jan, feb, mar)
    base = dict(rates=[rate("DOWNTIME", "halt", "per_unit", 20000, "hour", max_amount=90000),
                       rate("LOSS", "revenue", "direct", 1),
                       rate("REPAIR", "eng", "per_unit", 150, "person_hour", currency="USD"),
                       rate("REPAIR", "review", "fixed", 5000)],
                sla=SLA, insurance=[{"policy_id": "AGG", "covered": "LOSS,DOWNTIME", "deductible": 5000,
                                     "coinsurance_percent": 10, "per_incident_limit": 60000,
                                     "aggregate_limit": 150000, "waiting_period_hours": 1}], fx=FX)
    next_year_fx = {**base, "fx": FX + [{"currency": "USD", "valid_from": date(2027, 1, 1), "rate": 7.3}]}

    def february_rate(value: str) -> dict:  # appended: the rows before it keep their places
        return {**base, "rates": base["rates"] + [rate("LOSS", "revenue", "direct", D(value), severity="P2",
                                                       valid_from=date(2026, 2, 1), valid_to=date(2026, 2, 28))]}
    try:
        assert results.refresh(ledger, make_standard(**base), "a", run_id=1)[0] == ["2026-01", "2026-02", "2026-03"]
        assert results.refresh(ledger, make_standard(**next_year_fx), "b", run_id=2)[0] == []  # reaches none of them
        # FEB at 0.5: 100,000 → (100,000 − 5,000) × 90 % = 85,500, capped at 60,000: AGG's use unchanged, so
        # March opens where it did; at 0.2: 40,000 → 31,500, and March recovers more
        assert results.refresh(ledger, make_standard(**february_rate("0.5")), "c", run_id=3)[0] == ["2026-02"]
        changed = make_standard(**february_rate("0.2"))
        assert results.refresh(ledger, changed, "d", run_id=4)[0] == ["2026-02", "2026-03"]
        assert (ledger.results()["2026-02"]["recovery"], ledger.results()["2026-03"]["recovery"]) == (
            D("31500.00"), D("58500.00"))  # 150,000 − 60,000 − 31,500 left for March
        assert results.verify(ledger, changed) == []
    finally:
        ledger.close()
