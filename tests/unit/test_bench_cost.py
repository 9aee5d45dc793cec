"""Cost per 1,000 referrals from measured quantities and the dated price table."""

from __future__ import annotations

import re

import pytest

from benchmarks import cost

PATH = {
    "calls": 10,
    "follow_up_calls": 0,
    "lambda_invocations": {"MatchFunction next": 1, "IntakeFunction POST /referrals": 1},
    "lambda_seconds": 0.3,
    "api_requests": 1,
    "state_transitions": 4,
    "dynamodb_read_units": 2.0,
    "dynamodb_write_units": 8.0,
    "dynamodb_index_write_units": 3.0,
    "emails": 1,
    "log_bytes": 3000,
}


def test_the_price_table_is_dated_and_sourced() -> None:
    # Given the committed price table
    prices = cost.load_prices()
    # Then it has a date, and every price the model uses has a figure and an AWS source
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", prices["as_of"])
    for name in cost.usage(PATH):
        entry = prices["prices"][cost.PRICED_AS.get(name, name)]
        assert entry["usd"] > 0
        assert entry["per"] >= 1
        assert entry["source"].startswith("https://aws.amazon.com/")


def test_each_line_is_quantity_times_list_price_per_thousand_referrals() -> None:
    # Given one referral's measured quantities
    prices = cost.load_prices()
    lines = cost.per_thousand(PATH, prices)
    # Then, per 1,000 referrals: 4 transitions at $0.025 per 1,000, one e-mail at $0.10 per 1,000, ...
    assert lines["step_functions_standard_transitions"] == pytest.approx(0.1)
    assert lines["ses_emails"] == pytest.approx(0.1)
    assert lines["api_gateway_rest_requests"] == pytest.approx(0.0035)
    assert lines["dynamodb_write_request_units"] == pytest.approx(8 * 0.625 / 1000)
    # global secondary index writes: their own line, at the same price per write unit
    assert lines["dynamodb_index_write_request_units"] == pytest.approx(3 * 0.625 / 1000, abs=1e-5)
    # Lambda: measured time plus 10 ms per AWS call, at 0.5 GB
    assert lines["lambda_arm64_gb_seconds"] == pytest.approx(round(1000 * (0.3 + 0.1) * 0.5 * 0.0000133334, 5))
    assert lines["xray_traces_recorded"] == pytest.approx(2 * 5.0 / 1000)
    billed = {k: v for k, v in lines.items() if k not in ("total", "xray_traces_if_all_sampled")}
    assert lines["total"] == pytest.approx(sum(billed.values()), abs=1e-4)


def test_xray_is_billed_for_the_share_its_default_sampling_rule_records() -> None:
    # Given X-Ray's default rule: the first trace each second, then 5% of the rest
    # Then below one trace a second everything is recorded, above it the share falls towards 5%
    assert cost.sampled_share(0.5) == 1.0
    assert cost.sampled_share(1.0) == 1.0
    assert cost.sampled_share(3.0) == pytest.approx((1 + 0.05 * 2) / 3)
    assert cost.sampled_share(1000.0) == pytest.approx(0.05095)
    # And a referral's traces are its API requests, its execution and its scheduled reminders, at the national
    # volume of the benchmark population (40,000 a day)
    path = {**PATH, "api_requests": 4, "scheduler_invocations": 1}
    roots = 4 + 1 + 1
    share = cost.sampled_share(40_000 * roots / 86_400)
    lines = cost.per_thousand(path, cost.load_prices())
    assert lines["xray_traces_recorded"] == pytest.approx(round(roots * share * 5.0 / 1000, 5))
    assert lines["xray_traces_if_all_sampled"] == pytest.approx(roots * 5.0 / 1000)
    assert lines["scheduler_invocations"] == pytest.approx(1 * 1.0 / 1000)
