"""Rule kinds: hand-computed arithmetic, explanations and refused parameters (no database)."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from incentives.rules import RULE_TYPES, Context

D = Decimal
REBATE = {"brackets": [{"from": 0, "to": 100000, "rate": 2}, {"from": 100000, "rate": 4}]}


def ctx(revenue="0", **kwargs):
    return Context(partner_id=1, starts_on=date(2026, 1, 1), ends_on=date(2026, 3, 31), revenue=D(revenue), **kwargs)


def compute(kind, params, **kwargs):
    rule = RULE_TYPES[kind]
    return rule.compute(rule.validate(params), ctx(**kwargs))


def amounts(kind, params, **kwargs):
    return [line.amount for line in compute(kind, params, **kwargs)]


def refused(kind, params):
    with pytest.raises(ValidationError) as error:
        RULE_TYPES[kind].validate(params)
    return error.value.messages


@pytest.mark.parametrize(
    ("revenue", "marginal", "whole"),
    [
        ("0", [], []),
        ("-500", [], []),
        ("50000", [D("1000.00")], [D("1000.00")]),
        ("100000", [D("2000.00")], [D("2000.00")]),  # the edge belongs to "up to 100,000"
        ("100000.01", [D("2000.00")], [D("4000.00")]),
        ("100001", [D("2000.04")], [D("4000.04")]),
        ("150000", [D("4000.00")], [D("6000.00")]),
    ],
)
def test_revenue_rebate_brackets_marginal_and_whole(revenue, marginal, whole):
    assert amounts("revenue_rebate", {**REBATE, "mode": "marginal"}, revenue=revenue) == marginal
    assert amounts("revenue_rebate", {**REBATE, "mode": "whole"}, revenue=revenue) == whole


def test_rebate_reason_names_each_slice():
    (line,) = compute("revenue_rebate", REBATE, revenue="150000")
    assert line.reason == "Revenue 150,000: 2% on 100,000 + 4% on 50,000"
    assert [s["bracket"] for s in line.detail["slices"]] == [1, 2]


def test_rebate_explanations():
    rule = RULE_TYPES["revenue_rebate"]
    assert rule.explain(rule.validate(REBATE)) == ("2% on revenue up to 100,000; 4% on revenue above 100,000 (each rate on its own slice)")
    three = {
        "mode": "whole",
        "brackets": [{"from": 0, "to": 100000, "rate": 2}, {"from": 100000, "to": 250000, "rate": 3.5}, {"from": 250000, "rate": 5}],
    }
    assert rule.explain(rule.validate(three)) == (
        "2% on revenue up to 100,000; 3.5% on revenue from 100,000 to 250,000; 5% on revenue above 250,000 "
        "(the rate reached applies to the whole revenue)"
    )


def test_rebate_progress_sentence():
    rule = RULE_TYPES["revenue_rebate"]
    (hint,) = rule.progress(rule.validate(REBATE), ctx("76600"))
    assert hint["missing"] == D("23400")
    assert hint["message"] == "23,400 more revenue this quarter reaches the 4% bracket"
    assert rule.progress(rule.validate(REBATE), ctx("120000")) == []


@pytest.mark.parametrize(
    ("brackets", "message"),
    [
        ([{"from": 0, "to": 100000, "rate": -2}, {"from": 100000, "rate": 4}], "The rate of bracket 1 cannot be negative."),
        (
            [{"from": 0, "to": 100000, "rate": 2}, {"from": 90000, "rate": 4}],
            "Brackets 1 and 2 overlap: bracket 2 starts at 90,000, before bracket 1 ends at 100,000.",
        ),
        (
            [{"from": 0, "to": 100000, "rate": 2}, {"from": 200000, "to": 300000, "rate": 3}, {"from": 100000, "rate": 4}],
            "Brackets must be in ascending order: bracket 3 starts at 100,000, before bracket 2 (200,000).",
        ),
        (
            [{"from": 0, "to": 100000, "rate": 2}, {"from": 200000, "to": 150000, "rate": 4}],
            "Bracket 2 ends (150,000) before it starts (200,000).",
        ),
        (
            [{"from": 0, "to": 100000, "rate": 2}, {"from": 120000, "rate": 4}],
            "There is a gap between brackets 1 and 2: bracket 1 ends at 100,000, bracket 2 starts at 120,000.",
        ),
        ([{"from": 0, "rate": 2}, {"from": 100000, "rate": 4}], "Only the last bracket can be open-ended; bracket 1 has no end."),
        ([{"from": 10, "rate": 2}], "The first bracket must start at 0."),
        ([{"from": 0, "rate": "two"}], "The rate of bracket 1 must be a number."),
        ([{"to": 100}], "The start of bracket 1 is required (parameter “from”)."),
        ([], "Add at least one bracket (parameter “brackets”)."),
    ],
)
def test_bad_brackets_are_refused_with_a_clear_message(brackets, message):
    assert message in refused("revenue_rebate", {"brackets": brackets})


def test_bad_mode_and_unknown_parameters():
    assert "The mode must be one of: marginal, whole." in refused("revenue_rebate", {**REBATE, "mode": "tiered"})
    assert refused("mdf", {"percent": 1, "rate": 2}) == ["Unknown parameters: rate."]


def test_growth_bonus_fixed_and_percent():
    fixed = {"min_growth_percent": 10, "bonus_type": "fixed", "bonus": 5000}
    assert amounts("growth_bonus", fixed, revenue="110000", previous_revenue=D("100000")) == [D("5000.00")]
    assert amounts("growth_bonus", fixed, revenue="109999", previous_revenue=D("100000")) == []
    assert amounts("growth_bonus", fixed, revenue="110000", previous_revenue=D("0")) == []  # no baseline
    percent = {"min_growth_percent": 10, "bonus_type": "percent", "bonus": "1.5"}
    assert amounts("growth_bonus", percent, revenue="120000", previous_revenue=D("100000")) == [D("1800.00")]
    rule = RULE_TYPES["growth_bonus"]
    assert rule.explain(rule.validate(fixed)) == "A bonus of 5,000 when revenue grows at least 10% over the same period last year"
    (hint,) = rule.progress(rule.validate(fixed), ctx("104000", previous_revenue=D("100000")))
    assert hint["message"] == "6,000 more revenue this quarter reaches 10% growth and the growth bonus"
    assert "The minimum growth cannot be negative." in refused("growth_bonus", {**fixed, "min_growth_percent": -1})
    assert "The bonus must be more than 0." in refused("growth_bonus", {**fixed, "bonus": 0})


def test_spiff_per_unit_net_of_returns():
    params = {"sku": "RTR-100", "amount_per_unit": 25}
    assert amounts("spiff", params, units_by_sku={"RTR-100": D("7")}) == [D("175.00")]
    assert amounts("spiff", params, units_by_sku={"RTR-100": D("-2")}) == []
    assert amounts("spiff", {"category": "Networking", "amount_per_unit": "2.5"}, units_by_category={"Networking": D("4")}) == [D("10.00")]
    rule = RULE_TYPES["spiff"]
    assert rule.explain(rule.validate(params)) == "25 per unit of SKU RTR-100 sold (returns deducted)"
    assert refused("spiff", {"sku": "A", "category": "B", "amount_per_unit": 1}) == [
        "Give either a SKU or a category (parameter “sku” or “category”), not both."
    ]
    assert refused("spiff", {"sku": "A"}) == ["The amount per unit is required (parameter “amount_per_unit”)."]


def test_new_customer_and_certification_bonus():
    customers = [{"customer_id": 1, "name": "Acme"}, {"customer_id": 2, "name": "Globex"}]
    (line,) = compute("new_customer", {"amount_per_customer": 500}, new_customers=customers)
    assert (line.amount, line.reason) == (D("1000.00"), "2 new customers at 500 each: Acme, Globex")
    assert amounts("new_customer", {"amount_per_customer": 500}) == []
    certs = [{"id": 1, "name": "CCNA"}]
    (line,) = compute("certification", {"amount_per_certification": 250}, certifications=certs)
    assert (line.amount, line.reason) == (D("250.00"), "1 certification at 250: CCNA")


def test_points_per_currency_unit_round_down():
    (line,) = compute("points", {"points_per_unit": "0.1"}, revenue="12345.67")
    assert (line.points, line.amount) == (1234, D("0"))
    assert compute("points", {"points_per_unit": 1}, revenue="-10") == []
    rule = RULE_TYPES["points"]
    assert rule.explain(rule.validate({"points_per_unit": 1})) == "1 points for every currency unit of revenue"


def test_non_cash_rewards():
    trip = {"min_revenue": 250000, "trip": "Lisbon incentive trip"}
    (line,) = compute("trip", trip, revenue="250000")
    assert line.reward_type == "trip"
    assert line.amount == 0
    assert line.reason == "Qualified for Lisbon incentive trip: revenue 250,000 reached 250,000"
    assert compute("trip", trip, revenue="249999.99") == []
    assert compute("exclusive_access", {"min_revenue": 1000, "resource": "Beta lab"}, revenue="1000")[0].reward_type == "exclusive_access"
    assert amounts("mdf", {"percent": 2, "cap": 1000}, revenue="40000") == [D("800.00")]
    (capped,) = compute("mdf", {"percent": 2, "cap": 1000}, revenue="80000")
    assert capped.amount == D("1000.00")
    assert capped.reason == "2% of revenue 80,000, capped at 1,000"
    rule = RULE_TYPES["mdf"]
    assert rule.explain(rule.validate({"percent": 2, "cap": 1000})) == "MDF credit of 2% of revenue, at most 1,000 per period"
    assert refused("trip", {"min_revenue": -5, "trip": "x"}) == ["The revenue threshold cannot be negative."]
    assert refused("mdf", {"percent": -1}) == ["The MDF percentage cannot be negative."]


def refused_by_param(kind, params):
    with pytest.raises(ValidationError) as error:
        RULE_TYPES[kind].validate(params)
    return error.value.message_dict


def test_errors_are_keyed_by_the_parameter_they_concern():
    assert refused_by_param("mdf", {"percent": -1, "cap": "abc"}) == {
        "percent": ["The MDF percentage cannot be negative."],
        "cap": ["The cap must be a number."],
    }
    assert refused_by_param("growth_bonus", {"min_growth_percent": -1, "bonus_type": "fixed", "bonus": 0}) == {
        "min_growth_percent": ["The minimum growth cannot be negative."],
        "bonus": ["The bonus must be more than 0."],
    }
    assert refused_by_param("spiff", {"sku": "A", "category": "B", "amount_per_unit": 1}) == {
        "sku": ["Give either a SKU or a category (parameter “sku” or “category”), not both."]
    }
    assert refused_by_param("trip", {"min_revenue": 5}) == {"trip": ["The name of the reward is required (parameter “trip”)."]}


def test_bracket_errors_stay_under_brackets_and_name_the_row():
    bad = {"mode": "tiered", "brackets": [{"from": 0, "to": 100, "rate": -2}, {"from": 100, "rate": 4}]}
    assert refused_by_param("revenue_rebate", bad) == {
        "mode": ["The mode must be one of: marginal, whole."],
        "brackets": ["The rate of bracket 1 cannot be negative."],
    }
    overlap = {"brackets": [{"from": 0, "to": 100, "rate": 2}, {"from": 90, "rate": 4}]}
    assert refused_by_param("revenue_rebate", overlap) == {
        "brackets": ["Brackets 1 and 2 overlap: bracket 2 starts at 90, before bracket 1 ends at 100."]
    }


def test_problems_of_the_whole_set_are_not_tied_to_a_parameter():
    assert refused_by_param("mdf", {"percent": 1, "rate": 2}) == {NON_FIELD_ERRORS: ["Unknown parameters: rate."]}
    assert refused_by_param("mdf", ["percent", 1]) == {NON_FIELD_ERRORS: ["The parameters must be an object of names and values."]}
