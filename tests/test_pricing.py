"""One test per pricing rule of SPEC 4, each with its arithmetic worked by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from builders import incident, make_standard, make_submission, rate

from compensation_report.pricing import price, round_money

FX = [{"currency": "USD", "valid_from": date(2026, 1, 1), "rate": 7.1},
      {"currency": "USD", "valid_from": date(2026, 10, 1), "rate": 7.2}]


def priced(rates, incidents, losses=(), customers=(), **standard):
    rates = rates or [rate("REPAIR", "unused", "fixed", 1)]  # the Rates sheet needs a row
    std = make_standard(rates, fx=standard.pop("fx", FX), **standard)
    sub = make_submission(incidents, losses, customers)
    return price(sub.incidents, sub.losses, sub.customers, std)


def amounts(result, **where) -> list[D]:
    lines = result.lines
    for column, value in where.items():
        lines = lines[lines[column] == value]
    return list(lines["amount"])


def total(result, incident_id: str, column: str) -> D:
    row = result.incidents.set_index("incident_id").loc[incident_id]
    return row[column]


def loss(incident_id="A", category="REPAIR", item="engineering", **extra):
    return {"incident_id": incident_id, "category": category, "item": item, **extra}


# -- rounding ------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("2.345", "2.35"), ("2.344999", "2.34"), ("-2.345", "-2.35"), ("0.005", "0.01"), ("1.0049", "1.00"),
])
def test_round_money_is_half_away_from_zero(value, expected):
    assert round_money(D(value)) == D(expected)


# -- rule 1: loss lines ------------------------------------------------------------------------

def test_per_unit_is_quantity_times_rate():
    # 12.5 person-hours × 400 = 5,000.00
    result = priced([rate("REPAIR", "engineering", "per_unit", 400, "person_hour")],
                    [incident("A", "2026-10-03 14:05")], [loss(quantity=12.5)])
    assert amounts(result, item="engineering") == [D("5000.00")]


def test_blank_hour_quantity_is_the_incident_duration_in_whole_minutes():
    # 14:05:00 → 16:45:59 is 160 whole minutes (the 59 s are dropped) = 2.6666… h;
    # 2.6666… × 1,000 = 2,666.666… → 2,666.67 (the quantity is never rounded first)
    inc = incident("A", "2026-10-03 14:05")
    inc["resolved_at"] = inc["started_at"].replace(hour=16, minute=45, second=59)
    result = priced([rate("DOWNTIME", "halt", "per_unit", 1000, "hour")], [inc],
                    [loss(category="DOWNTIME", item="halt")])
    assert amounts(result, item="halt") == [D("2666.67")]


def test_an_hour_quantity_is_an_exact_fraction_so_ties_round_up():
    # 1 minute × 3.30 per hour = 3.3 / 60 = 0.055 exactly → 0.06; a rounded 1/60 (0.016666…7 or …6)
    # would give 0.0549… → 0.05 or 0.0550…1 → 0.06 by luck
    result = priced([rate("DOWNTIME", "halt", "per_unit", 3.3, "hour")], [incident("A", "2026-10-03 14:05", 1 / 60)],
                    [loss(category="DOWNTIME", item="halt")])
    assert amounts(result) == [D("0.06")]


def test_blank_quantity_for_a_non_hour_unit_is_an_issue():
    result = priced([rate("REPAIR", "engineering", "per_unit", 400, "person_hour")],
                    [incident("A", "2026-10-03 14:05")], [loss()])
    assert [(i.sheet, i.column, i.source_row) for i in result.issues] == [("Losses", "quantity", 2)]
    assert result.lines.empty


def test_direct_is_the_reported_amount_times_the_factor_in_the_line_currency():
    # 1,000 USD × factor 0.5 = 500 USD; × 7.2 (USD rate from 2026-10-01) = 3,600.00 CNY
    result = priced([rate("LOSS", "churn", "direct", 0.5)], [incident("A", "2026-10-03 14:05")],
                    [loss(category="LOSS", item="churn", amount=1000, currency="usd")])
    line = result.lines.iloc[0]
    assert (line["currency"], line["fx_rate"], line["amount"]) == ("USD", D("7.2"), D("3600.00"))


def test_direct_defaults_to_the_incident_currency():
    # 100 USD (the incident's currency) × 1 × 7.1 (September rate) = 710.00
    result = priced([rate("LOSS", "revenue", "direct", 1)], [incident("A", "2026-09-30 23:00", currency="USD")],
                    [loss(category="LOSS", item="revenue", amount=100)])
    assert amounts(result) == [D("710.00")]


def test_fixed_is_the_rate_once_per_losses_row():
    # two rows of a fixed 5,000 item: 5,000 + 5,000 = 10,000 on the incident
    result = priced([rate("REPAIR", "review", "fixed", 5000)], [incident("A", "2026-10-03 14:05")],
                    [loss(item="review"), loss(item="review", quantity=7)])
    assert amounts(result) == [D("5000.00"), D("5000.00")]
    assert total(result, "A", "REPAIR") == D("10000.00")


def test_rate_for_the_incident_severity_beats_a_blank_one_and_others_never_apply():
    rates = [rate("DOWNTIME", "halt", "per_unit", 100, "hour"),
             rate("DOWNTIME", "halt", "per_unit", 900, "hour", severity="P1"),
             rate("DOWNTIME", "halt", "per_unit", 500, "hour", severity="P2")]
    result = priced(rates, [incident("A", "2026-10-03 14:05", 2, severity="P2"),
                            incident("B", "2026-10-04 14:05", 2, severity="P3")],
                    [loss("A", "DOWNTIME", "halt"), loss("B", "DOWNTIME", "halt")])
    # A (P2): 2 h × 500 = 1,000; B (P3): no P3 row, the blank one: 2 h × 100 = 200
    assert amounts(result, incident_id="A") == [D("1000.00")]
    assert amounts(result, incident_id="B") == [D("200.00")]


def test_ties_go_to_the_first_row_in_sheet_order():
    rates = [rate("REPAIR", "review", "fixed", 100), rate("REPAIR", "review", "fixed", 999)]
    result = priced(rates, [incident("A", "2026-10-03 14:05")], [loss(item="review")])
    assert amounts(result) == [D("100.00")]
    assert list(result.lines["rate_row"]) == [2]


def test_the_rate_valid_on_the_start_date_applies_both_ends_included():
    rates = [rate("REPAIR", "engineering", "per_unit", 400, "person_hour", valid_to=date(2026, 9, 30)),
             {**rate("REPAIR", "engineering", "per_unit", 450, "person_hour"), "valid_from": date(2026, 10, 1)}]
    result = priced(rates, [incident("S", "2026-09-30 23:59"), incident("O", "2026-10-01 00:00")],
                    [loss("S", quantity=2), loss("O", quantity=2)])
    # 30 Sep (last day of the old row): 2 × 400 = 800; 1 Oct (first day of the new one): 2 × 450 = 900
    assert amounts(result, incident_id="S") == [D("800.00")]
    assert amounts(result, incident_id="O") == [D("900.00")]


def test_an_item_without_a_valid_rate_row_is_an_issue():
    rates = [rate("REPAIR", "engineering", "per_unit", 400, "person_hour", severity="P1")]
    result = priced(rates, [incident("A", "2026-10-03 14:05")],
                    [loss(quantity=1), loss(item="unknown", quantity=1)])
    messages = [i.message for i in result.issues]
    assert messages == ["no rate for REPAIR.engineering valid on 2026-10-03 for severity P2 on the Rates sheet",
                        'item "unknown" is not on the Rates sheet for category REPAIR']


def test_fx_uses_the_row_in_force_on_the_start_date_and_missing_fx_is_an_issue():
    rates = [rate("REPAIR", "vendor", "per_unit", 200, "hour", currency="USD"),
             rate("REPAIR", "cloud", "per_unit", 10, "hour", currency="EUR")]
    result = priced(rates, [incident("A", "2026-09-15 08:00")],
                    [loss(item="vendor", quantity=1.5), loss(item="cloud", quantity=1)])
    # 1.5 h × 200 USD = 300 USD × 7.1 = 2,130.00; EUR has no FX row at all
    assert amounts(result, item="vendor") == [D("2130.00")]
    assert [i.message for i in result.issues] == ["no FX rate for EUR on 2026-09-15 on the FX sheet"]


# -- rule 2: item caps -----------------------------------------------------------------------

def test_cap_adjustment_brings_an_item_down_to_its_cap_only_when_strictly_over():
    rates = [rate("DOWNTIME", "halt", "per_unit", 20000, "hour", max_amount=50000),
             rate("REPAIR", "upgrade", "direct", 1, max_amount=3000)]
    result = priced(rates, [incident("A", "2026-10-03 14:05", 3.5)],
                    [loss(category="DOWNTIME", item="halt"), loss(item="upgrade", amount=1000),
                     loss(item="upgrade", amount=2000)])
    # halt: 3.5 h × 20,000 = 70,000 > 50,000 → adjustment −20,000; upgrade: 1,000 + 2,000 = 3,000, not over
    adjustments = result.lines[result.lines["item"] == "cap_adjustment"]
    assert list(adjustments["amount"]) == [D("-20000.00")]
    assert list(adjustments["category"]) == ["DOWNTIME"]
    assert total(result, "A", "DOWNTIME") == D("50000.00")
    assert total(result, "A", "REPAIR") == D("3000.00")


# -- rule 3: SLA credits -------------------------------------------------------------------------

SLA = [{"sla_tier": "Gold", "min_outage_minutes": 0, "credit_percent": 0, "extension_days": 0},
       {"sla_tier": "Gold", "min_outage_minutes": 60, "credit_percent": 25, "extension_days": 7},
       {"sla_tier": "Gold", "min_outage_minutes": 240, "credit_percent": 100, "extension_days": 30},
       {"sla_tier": "Silver", "min_outage_minutes": 120, "credit_percent": 10, "extension_days": 0}]


def customer(incident_id, customer_id, tier, fee, **extra):
    return {"incident_id": incident_id, "customer_id": customer_id, "sla_tier": tier, "monthly_fee": fee, **extra}


def test_sla_credit_and_extension_use_the_greatest_step_not_above_the_outage():
    result = priced([], [incident("A", "2026-10-03 14:05", 2)],
                    customers=[customer("A", "C1", "gold", 3000),
                               customer("A", "C2", "Silver", 1000),
                               customer("A", "C3", "Gold", 5000, outage_minutes=0)], sla=SLA)
    # C1: outage 120 min → the 60-min step: credit 3,000 × 25% = 750.00, extension 3,000 × 7 / 30 = 700.00
    # C2: 120 min → Silver's 120 step: 1,000 × 10% = 100.00, no extension
    # C3: outage 0 is given → the 0-min step: nothing
    assert amounts(result, customer_id="C1") == [D("750.00"), D("700.00")]
    assert amounts(result, customer_id="C2") == [D("100.00")]
    assert amounts(result, customer_id="C3") == []


def test_an_sla_tier_missing_from_the_sla_sheet_is_an_issue():
    result = priced([], [incident("A", "2026-10-03 14:05", 2)], customers=[customer("A", "C1", "Platinum", 1)],
                    sla=SLA)
    assert [i.column for i in result.issues] == ["sla_tier"]


def test_sla_credits_of_one_customer_in_a_period_are_capped_at_its_fee_latest_incident_first():
    incidents = [incident("A", "2026-10-03 08:00", 5), incident("B", "2026-10-10 08:00", 5),
                 incident("C", "2026-10-20 08:00", 1)]
    customers = [customer("A", "C1", "Gold", 1000), customer("B", "C1", "Gold", 1000),
                 customer("C", "C1", "Gold", 1200)]
    result = priced([], incidents, customers=customers, sla=SLA)
    # credits: A 100% of 1,000 = 1,000; B 1,000; C (60 min) 25% of 1,200 = 300 → 2,300
    # cap: the fee on its row in its last incident (C) = 1,200 → give back 1,100:
    # C gives back all of its 300, then B gives back 800; A keeps its 1,000
    adjustments = result.lines[result.lines["item"] == "cap_adjustment"]
    assert list(zip(adjustments["incident_id"], adjustments["amount"])) == [("B", D("-800.00")), ("C", D("-300.00"))]
    credits = result.lines[result.lines["item"].isin(["sla_credit", "cap_adjustment"])]
    assert sum(credits["amount"]) == D("1200.00")


# -- rule 4: fines ---------------------------------------------------------------------------------

FINES = [{"jurisdiction": "CN", "fixed_amount": 50000, "per_record": 2, "max_amount": 100000},
         {"jurisdiction": "EU", "fixed_amount": 1000, "per_record": 0.5, "currency": "USD"}]


def test_fine_is_fixed_plus_per_record_capped_at_max():
    incidents = [incident("A", "2026-10-03 08:00", jurisdiction="cn", records_affected=12000),
                 incident("B", "2026-10-04 08:00", jurisdiction="CN", records_affected=30000),
                 incident("C", "2026-10-05 08:00", jurisdiction="EU"),
                 incident("D", "2026-10-06 08:00", jurisdiction="US", records_affected=5)]
    result = priced([], incidents, fines=FINES)
    # A: 50,000 + 2 × 12,000 = 74,000; B: 50,000 + 60,000 = 110,000 → max 100,000
    # C: blank records = 0 → 1,000 USD × 7.2 = 7,200.00; D: no Fines row for US → no fine
    assert amounts(result, item="regulatory") == [D("74000.00"), D("100000.00"), D("7200.00")]
    assert total(result, "D", "FINE") == D(0)


# -- rule 6: insurance ---------------------------------------------------------------------------

POLICY = {"policy_id": "CY-1", "insurer": "Cyber Mutual", "covered": "LOSS, DOWNTIME", "deductible": 10000,
          "coinsurance_percent": 10, "per_incident_limit": 40000, "aggregate_limit": 60000,
          "waiting_period_hours": 1}
HALT = rate("DOWNTIME", "halt", "per_unit", 20000, "hour", max_amount=50000)
REVENUE = rate("LOSS", "revenue", "direct", 1)


def test_recovery_applies_waiting_share_deductible_coinsurance_and_per_incident_limit():
    result = priced([HALT, REVENUE], [incident("A", "2026-10-03 14:05", 3.5)],
                    [loss(category="DOWNTIME", item="halt"), loss(category="LOSS", item="revenue", amount=12345.68)],
                    insurance=[POLICY])
    # DOWNTIME: 70,000 − 20,000 (cap adjustment, matched as the item it caps) = 50,000,
    #   eligible share (3.5 − 1) / 3.5 → 35,714.2857…; LOSS 12,345.68 → eligible 48,059.9657…
    # − deductible 10,000 = 38,059.9657… × (1 − 10%) = 34,253.969… (under the 40,000 limit) → 34,253.97
    assert total(result, "A", "recovery") == D("34253.97")
    assert total(result, "A", "gross") == D("62345.68")
    assert total(result, "A", "net") == D("28091.71")


def test_per_incident_limit_and_aggregate_limit_across_periods():
    losses = [loss(i, "LOSS", "revenue", amount=100000) for i in ("A", "B", "C")]
    result = priced([REVENUE], [incident("C", "2026-10-02 08:00"), incident("A", "2026-08-03 08:00"),
                                incident("B", "2026-09-03 08:00")], losses, insurance=[POLICY])
    # each: (100,000 − 10,000) × 90% = 81,000 → per-incident limit 40,000
    # aggregate 60,000 consumed in start order: A (Aug) 40,000, B (Sep) 20,000, C (Oct) 0
    assert [total(result, i, "recovery") for i in "ABC"] == [D("40000.00"), D("20000.00"), D("0")]


def test_first_policy_naming_the_line_wins_and_category_item_tokens_match():
    policies = [{"policy_id": "EO", "covered": "REPAIR.vendor", "deductible": 0, "coinsurance_percent": 0},
                {"policy_id": "ALL", "covered": "REPAIR", "deductible": 0, "coinsurance_percent": 50}]
    rates = [rate("REPAIR", "vendor", "direct", 1), rate("REPAIR", "review", "fixed", 300)]
    result = priced(rates, [incident("A", "2026-10-03 08:00")], [loss(item="vendor", amount=1000), loss(item="review")],
                    insurance=policies)
    # vendor 1,000 → EO pays all 1,000; review 300 → ALL pays 50% = 150
    recoveries = result.lines[result.lines["item"] == "recovery"]
    assert list(zip(recoveries["policy_id"], recoveries["amount"])) == [("EO", D("-1000.00")), ("ALL", D("-150.00"))]
    assert total(result, "A", "recovery") == D("1150.00")


def test_downtime_of_a_zero_length_incident_is_covered_only_without_waiting_period():
    policies = [{**POLICY, "policy_id": "W", "waiting_period_hours": 0, "per_incident_limit": "",
                 "aggregate_limit": "", "deductible": 0, "coinsurance_percent": 0}]
    rates = [rate("DOWNTIME", "staff", "per_unit", 100, "person_hour")]
    staff = [loss(category="DOWNTIME", item="staff", quantity=3)]
    result = priced(rates, [incident("A", "2026-10-03 08:00", 0)], staff, insurance=policies)
    # 3 × 100 = 300, duration 0 and waiting 0 → share 1 → recovery 300
    assert total(result, "A", "recovery") == D("300.00")
    result = priced(rates, [incident("A", "2026-10-03 08:00", 0)], staff,
                    insurance=[{**policies[0], "waiting_period_hours": 2}])
    assert total(result, "A", "recovery") == D(0)


def test_policy_amounts_convert_at_the_incident_fx():
    policy = {"policy_id": "USD", "covered": "LOSS", "deductible": 100, "coinsurance_percent": 0,
              "per_incident_limit": 1000, "currency": "USD"}
    revenue = [loss(category="LOSS", item="revenue", amount=10000)]
    result = priced([REVENUE], [incident("A", "2026-10-03 08:00")], revenue, insurance=[policy])
    # deductible 100 USD × 7.2 = 720; 10,000 − 720 = 9,280; limit 1,000 USD × 7.2 = 7,200 → 7,200.00
    assert total(result, "A", "recovery") == D("7200.00")


# -- FX only where something is converted; every line in cents -------------------------------

def test_no_fx_is_needed_for_a_customer_who_gets_nothing_or_a_policy_with_no_amounts():
    # C1 pays in USD (no FX row) but 30 min reaches no Gold step here: nothing converted, no issue.
    # Policy in USD with coinsurance only: 5.00 × (1 − 20%) = 4.00, nothing of it in USD.
    sla = [{"sla_tier": "Gold", "min_outage_minutes": 60, "credit_percent": 25, "extension_days": 7}]
    policy = {"policy_id": "P", "covered": "REPAIR", "coinsurance_percent": 20, "currency": "USD"}
    result = priced([rate("REPAIR", "x", "fixed", 5)], [incident("A", "2026-10-03 08:00", 0.5)], [loss(item="x")],
                    customers=[customer("A", "C1", "Gold", 1000, currency="USD")], sla=sla, insurance=[policy], fx=[])
    assert result.issues == []
    assert (total(result, "A", "recovery"), total(result, "A", "net")) == (D("4.00"), D("1.00"))


def test_a_cap_adjustment_is_rounded_to_cents_like_every_line():
    # cap 99.995, line 100.00: adjustment −0.005 → −0.01, so the item totals 99.99
    result = priced([rate("LOSS", "d", "direct", 1, max_amount="99.995")], [incident("A", "2026-10-03 08:00")],
                    [loss(category="LOSS", item="d", amount=100)])
    assert amounts(result, item="cap_adjustment") == [D("-0.01")]
    assert total(result, "A", "LOSS") == D("99.99")


def test_two_fx_rows_of_one_currency_from_the_same_day_are_a_problem_of_the_standard():
    """Which would win is a matter of chance (and rows added for other dates could change it)."""
    from compensation_report.errors import InvalidStandard

    fx = [{"currency": "USD", "valid_from": date(2026, 1, 1), "rate": 7},
          {"currency": "EUR", "valid_from": date(2026, 1, 1), "rate": 8},
          {"currency": "usd", "valid_from": date(2026, 1, 1), "rate": 8}]
    with pytest.raises(InvalidStandard) as raised:
        make_standard([rate("LOSS", "revenue", "direct", 1)], fx=fx)
    assert [str(p) for p in raised.value.problems] == [
        "rates.xlsx › FX › B4: USD has a rate from 2026-01-01 on row 2 already; keep one"]
