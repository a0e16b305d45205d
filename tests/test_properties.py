"""Invariants of the pricing rules over random incidents (Hypothesis)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP
from decimal import Decimal as D

from builders import make_standard, make_submission, rate
from hypothesis import given
from hypothesis import strategies as st

from compensation_report.codec import encode_revisions
from compensation_report.ledger import Ledger
from compensation_report.pricing import CENT, exact, price, round_money

CUSTOMERS = ["C1", "C2", "C3"]
FX = [{"currency": "USD", "valid_from": date(2026, 1, 1), "rate": 7.1234}]
SLA = [{"sla_tier": "Gold", "min_outage_minutes": 0, "credit_percent": 10, "extension_days": 1},
       {"sla_tier": "Gold", "min_outage_minutes": 60, "credit_percent": 60, "extension_days": 7},
       {"sla_tier": "Silver", "min_outage_minutes": 30, "credit_percent": 35, "extension_days": 0}]

money = st.decimals(min_value=0, max_value=200000, places=2, allow_nan=False, allow_infinity=False)
quantity = st.decimals(min_value=0, max_value=500, places=3, allow_nan=False, allow_infinity=False)


@st.composite
def scenarios(draw):
    n = draw(st.integers(1, 6))
    incidents = []
    for i in range(n):
        start = datetime(2026, 9, 1) + timedelta(minutes=draw(st.integers(0, 60 * 24 * 60)))
        incidents.append({
            "incident_id": f"I{i}", "title": "t", "business_unit": draw(st.sampled_from(["Pay", "Ops"])),
            "system": "s", "severity": draw(st.sampled_from(["P1", "P2", "P3"])), "started_at": start,
            "resolved_at": start + timedelta(minutes=draw(st.integers(0, 900))),
            "currency": draw(st.sampled_from(["CNY", "USD", ""])),
        })
    ids = [i["incident_id"] for i in incidents]
    losses = draw(st.lists(st.one_of(
        st.builds(lambda i: {"incident_id": i, "category": "DOWNTIME", "item": "halt"}, st.sampled_from(ids)),
        st.builds(lambda i, q: {"incident_id": i, "category": "REPAIR", "item": "eng", "quantity": str(q)},
                  st.sampled_from(ids), quantity),
        st.builds(lambda i, a: {"incident_id": i, "category": "LOSS", "item": "revenue", "amount": str(a)},
                  st.sampled_from(ids), money),
        st.builds(lambda i: {"incident_id": i, "category": "REPAIR", "item": "review"}, st.sampled_from(ids)),
    ), max_size=15))
    customers = draw(st.lists(st.builds(
        lambda i, c, t, f, o: {"incident_id": i, "customer_id": c, "sla_tier": t, "monthly_fee": str(f),
                               "outage_minutes": "" if o is None else o},
        st.sampled_from(ids), st.sampled_from(CUSTOMERS), st.sampled_from(["Gold", "silver"]), money,
        st.one_of(st.none(), st.integers(0, 600))), max_size=8))
    policy = {"policy_id": "P", "covered": draw(st.sampled_from(["LOSS,DOWNTIME", "DOWNTIME,REPAIR.eng", "CUSTOMER"])),
              "deductible": str(draw(money)), "coinsurance_percent": draw(st.integers(0, 50)),
              "per_incident_limit": str(draw(money)), "aggregate_limit": str(draw(money)),
              "waiting_period_hours": draw(st.integers(0, 8))}
    caps = draw(st.tuples(st.one_of(st.none(), money), st.one_of(st.none(), money)))
    rates = [rate("DOWNTIME", "halt", "per_unit", draw(money), "hour", max_amount=caps[0] or ""),
             rate("REPAIR", "eng", "per_unit", draw(money), "person_hour", currency="USD"),
             rate("LOSS", "revenue", "direct", str(draw(st.decimals(0, 2, places=2))), max_amount=caps[1] or ""),
             rate("REPAIR", "review", "fixed", draw(money))]
    standard = make_standard(rates, sla=SLA, insurance=[policy], fx=FX)
    return standard, make_submission(incidents, losses, customers)


def price_scenario(scenario):
    standard, sub = scenario
    return standard, price(sub.incidents, sub.losses, sub.customers, standard)


@given(scenarios())
def test_every_line_is_rounded_half_up_once_from_its_exact_amount(scenario):
    _, result = price_scenario(scenario)
    assert not result.issues
    for _, line in result.lines.iterrows():
        assert line["amount"] == line["amount"].quantize(CENT)
        if line["basis"] in ("per_unit", "direct", "fixed", "sla", "fine"):
            assert line["amount"] == round_money(exact(line["amount_original"]) * exact(line["fx_rate"]))


@given(scenarios())
def test_totals_are_sums_of_lines_and_net_is_gross_minus_recovery(scenario):
    _, result = price_scenario(scenario)
    for _, inc in result.incidents.iterrows():
        own = result.lines[result.lines["incident_id"] == inc["incident_id"]]
        gross_lines = own[own["category"] != "INSURANCE"]
        assert inc["gross"] == sum(gross_lines["amount"], D(0))
        assert inc["recovery"] == -sum(own[own["category"] == "INSURANCE"]["amount"], D(0))
        assert inc["net"] == inc["gross"] - inc["recovery"]
        for category in ("LOSS", "DOWNTIME", "CUSTOMER", "FINE", "REPAIR"):
            assert inc[category] == sum(own[own["category"] == category]["amount"], D(0))


@given(scenarios())
def test_no_capped_item_is_over_its_cap(scenario):
    standard, result = price_scenario(scenario)
    caps = {(r["category"], r["item"]): r["max_amount"] for _, r in standard.rates.iterrows()
            if r["max_amount"] is not None}
    lines = result.lines
    for (category, item), cap in caps.items():
        mine = (lines["category"] == category) & ((lines["item"] == item) | (lines["capped_item"] == item))
        for _, group in lines[mine].groupby("incident_id"):
            assert sum(group["amount"], D(0)) <= cap


def fee_caps_from_the_inputs(sub) -> dict[tuple[str, str], D]:
    """SPEC 4 rule 3's cap, worked from the workbook alone (not from what pricing reports): per period
    and customer, the fee on the customer's row in its last incident of the period (latest
    started_at, then incident_id, then the later row), in CNY at FX's one rate, rounded half-up."""
    incidents = sub.incidents.set_index("incident_id")
    last: dict[tuple[str, str], tuple] = {}
    for position, row in enumerate(sub.customers.itertuples()):
        started = incidents.at[row.incident_id, "started_at"]
        key, order = (f"{started:%Y-%m}", row.customer_id), (started, row.incident_id, position)
        if key not in last or order > last[key][0]:
            last[key] = (order, row)
    to_cny = {"CNY": D(1), "USD": D(str(FX[0]["rate"]))}
    return {key: (row.monthly_fee * to_cny[incidents.at[row.incident_id, "currency"] or "CNY"])
            .quantize(CENT, ROUND_HALF_UP) for key, (_, row) in last.items()}


@given(scenarios())
def test_sla_credits_per_customer_and_period_never_exceed_the_fee_nor_go_below_zero(scenario):
    _, result = price_scenario(scenario)
    lines = result.lines.merge(result.incidents[["incident_id", "period"]], on="incident_id")
    credit = lines[(lines["category"] == "CUSTOMER") & lines["item"].isin(["sla_credit", "cap_adjustment"])]
    if credit.empty:
        return
    fee_cap = fee_caps_from_the_inputs(scenario[1])
    for (period, customer_id), group in credit.groupby(["period", "customer_id"]):
        assert sum(group["amount"], D(0)) <= fee_cap[(period, customer_id)]
        for _, per_incident in group.groupby("incident_id"):
            assert sum(per_incident["amount"], D(0)) >= 0


@given(scenarios())
def test_recovery_never_exceeds_the_per_incident_or_aggregate_limit(scenario):
    standard, result = price_scenario(scenario)
    policy = standard.insurance.iloc[0]
    claims = result.insurance
    for _, claim in claims.iterrows():
        assert claim["recovery"] <= round_money(policy["per_incident_limit"])
        assert 0 <= claim["recovery"] <= round_money(claim["eligible"])
    assert sum(claims["recovery"], D(0)) <= policy["aggregate_limit"]


@given(scenarios(), st.data())
def test_a_revision_replaces_the_incident_and_never_adds(tmp_path_factory, scenario, data):
    standard, first = scenario
    ids = list(first.incidents["incident_id"])
    revised_ids = data.draw(st.lists(st.sampled_from(ids), min_size=1, unique=True))
    second = make_submission(
        [dict(incident_id=i, title="revised", business_unit="Pay", system="s", severity="P4",
              started_at=datetime(2026, 10, 15), resolved_at=datetime(2026, 10, 15, 2)) for i in revised_ids],
        [{"incident_id": i, "category": "REPAIR", "item": "review"} for i in revised_ids], file="second.xlsx")
    ledger = Ledger(tmp_path_factory.mktemp("ledger") / "ledger.sqlite")
    try:
        for sub in (first, second):
            sid = ledger.record_submission(sub.file, sub.file, 1, datetime(2026, 11, 2), "accepted", run_id=1)
            ledger.add_revisions(sid, encode_revisions(sub.incidents, sub.losses, sub.customers))
        incidents, losses, customers = ledger.current_incidents()
    finally:
        ledger.close()
    assert sorted(incidents["incident_id"]) == sorted(ids)
    for incident_id in revised_ids:
        row = incidents[incidents["incident_id"] == incident_id].iloc[0]
        assert (row["title"], row["revision"]) == ("revised", 2)
        assert list(losses[losses["incident_id"] == incident_id]["item"]) == ["review"]
        assert customers[customers["incident_id"] == incident_id].empty
    result = price(incidents, losses, customers, standard)
    for incident_id in revised_ids:
        review_rate = standard.rates.set_index("item").loc["review", "rate"]
        assert result.incidents.set_index("incident_id").loc[incident_id, "REPAIR"] == round_money(review_rate)
