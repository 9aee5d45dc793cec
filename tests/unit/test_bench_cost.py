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
    for name in [*cost.usage(PATH), "sqs_standard_requests", "sqs_fifo_requests", "sms_us_parts"]:
        entry = prices["prices"][cost.PRICED_AS.get(name, name)]
        assert entry["usd"] > 0
        assert entry["per"] >= 1
        assert entry["source"].startswith("https://aws.amazon.com/")


def test_each_line_is_quantity_times_list_price_per_thousand_referrals() -> None:
    # Given one referral's measured quantities
    prices = cost.load_prices()
    lines = cost.per_thousand(PATH, prices)
    # Then, per 1,000 referrals: 4 transitions at $0.025 per 1,000, ...
    assert lines["step_functions_standard_transitions"] == pytest.approx(0.1)
    # and the e-mail is not among them: messages are reported apart
    assert "ses_emails" not in lines
    assert lines["api_gateway_rest_requests"] == pytest.approx(0.0035)
    assert lines["dynamodb_write_request_units"] == pytest.approx(8 * 0.625 / 1000)
    # global secondary index writes: their own line, at the same price per write unit
    assert lines["dynamodb_index_write_request_units"] == pytest.approx(3 * 0.625 / 1000, abs=1e-5)
    # Lambda: measured time plus 10 ms per AWS call, at 0.5 GB
    assert lines["lambda_arm64_gb_seconds"] == pytest.approx(round(1000 * (0.3 + 0.1) * 0.5 * 0.0000133334, 5))
    assert lines["xray_traces_recorded"] == pytest.approx(2 * 5.0 / 1000)
    billed = {k: v for k, v in lines.items() if k not in ("referral", "xray_traces_if_all_sampled")}
    assert lines["referral"] == pytest.approx(sum(billed.values()), abs=1e-4)


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


def _figures() -> dict[str, object]:
    """Measured figures as the JSON holds them: a day of 400,000 availability changes, a worker that applied 100 of
    them, a safety net that called 1,000 agents, and 1% of 40,000 referrals finding nobody (rosters of 2,000)."""
    worker = {
        "agents": 100,
        "calls_per_agent": 1.5,
        "invocations": 10,
        "apply_s": 0.5,
        "dispatch_s": 0.2,
        "dispatch_calls": 20,
        "refresh": {"read_units": 50.0, "write_units": 300.0, "index_write_units": 200.0, "sqs_requests": 0},
        "dispatch": {"read_units": 8.0, "write_units": 0.0, "index_write_units": 0.0, "sqs_requests": 1},
    }
    return {
        "referrals": {"accept": {**PATH, "texts": 2, "text_parts": 3, "emails": 4}},
        "scale": {
            "sweep": {"agents": 100_000, "changes_in_day": 400_000, "typical_minute": {"one_worker": worker}},
            "coverage": {"safety_net_share": 0.01, "roster_mean": 2000.0},
            "safety_net": {
                "recipients": 1000,
                "emails_sent": 1000,
                "ses_accepted": 1000,
                "lambda_invocations": 21,
                "lambda_seconds_billed": 140.0,
                "read_units": 100.0,
                "write_units": 2000.0,
                "index_write_units": 0.0,
                "sqs_requests": 60,
            },
        },
        "index_upkeep": {
            "summary": {"calls_per_refresh": 5.0, "write_units_per_refresh": 3.0, "read_units_per_refresh": 4.0}
        },
    }


def test_the_background_is_the_days_sweep_upkeep_and_fan_out_spread_over_the_days_referrals() -> None:
    # Given a day's measured background figures
    prices = cost.load_prices()
    shared = cost.background(_figures(), prices)
    # Then the sweep's write units are the worker's per change times the day's changes, plus the sweep's own each
    # minute: 3 units a change (table) and 2 (index), 400,000 changes
    sweep = shared["per_day_by_line_usd"]["availability_sweep"]
    assert sweep["dynamodb_write_request_units"] == pytest.approx(400_000 * 3 * 0.625 / 1e6, abs=1e-4)
    assert sweep["dynamodb_index_write_request_units"] == pytest.approx(400_000 * 2 * 0.625 / 1e6, abs=1e-4)
    # and the queue: per change a tenth of an invocation's receive and delete, plus the sweep's send each minute
    assert sweep["sqs_standard_requests"] == pytest.approx((400_000 * 0.2 + 1440) * 0.40 / 1e6, abs=1e-4)
    # And the summary's upkeep, which the worker's calls already include, is shown apart and not added again:
    # per refresh 4 read units and 3 write units
    assert "index_summary_upkeep" not in shared["per_day_usd"]
    assert shared["assumed"]["summary_upkeep_per_day_usd_included"] == pytest.approx(
        400_000 * (4 * 0.125 + 3 * 0.625) / 1e6 + 400_000 * 5 * 0.010 * 0.5 * 0.0000133334, abs=1e-3
    )
    # And the fan-out: 400 referrals a day each calling 2,000 agents = 800 times the measured 1,000-agent call
    fan_out = shared["per_day_by_line_usd"]["safety_net_fan_out"]
    assert fan_out["dynamodb_write_request_units"] == pytest.approx(800 * 2000 * 0.625 / 1e6, abs=1e-4)
    assert fan_out["sqs_fifo_requests"] == pytest.approx(800 * 60 * 0.50 / 1e6, abs=1e-4)
    assert shared["assumed"]["safety_net_referrals_per_day"] == 400
    # And per 1,000 referrals it is the day's total over 40 thousands
    assert shared["per_1000_referrals"] == pytest.approx(sum(shared["per_day_usd"].values()) / 40, abs=1e-3)
    assert shared["complete"]
    assert not shared["missing"]


def test_a_path_totals_its_own_cost_and_the_background_and_reports_messages_apart() -> None:
    # Given the measured figures
    prices = cost.load_prices()
    section = cost.section(_figures(), prices)
    accept = section["accept"]
    # Then the total is the referral's own plus the background, messages excluded
    assert accept["total"] == pytest.approx(accept["referral"] + accept["background"], abs=1e-4)
    # And messaging: 4 e-mails at $0.10 per 1,000; 3 text parts at the US rate plus the carrier fee; a share of
    # the safety net's e-mails (1% of referrals calling 2,000 agents: 20 e-mails a referral)
    lines = accept["messaging_lines"]
    assert lines["ses_emails"] == pytest.approx(0.4)
    assert lines["sms_parts"] + lines["sms_carrier_fees"] == pytest.approx(1000 * 3 * (0.00581 + 0.003))
    assert lines["safety_net_emails"] == pytest.approx(1000 * 20 * 0.10 / 1000)
    assert accept["messaging"] == pytest.approx(sum(lines.values()), abs=1e-3)
    assert accept["total_with_messaging"] == pytest.approx(accept["total"] + accept["messaging"], abs=1e-3)


def test_a_background_figure_not_yet_measured_is_named_and_marks_the_cost_incomplete() -> None:
    # Given figures without the coverage run
    figures = _figures()
    del figures["scale"]["coverage"]  # type: ignore[attr-defined]
    shared = cost.background(figures, cost.load_prices())
    # Then the fan-out is left out and said to be missing
    assert shared["missing"] == ["scale.coverage"]
    assert not shared["complete"]
    assert "safety_net_fan_out" not in shared["per_day_usd"]


@pytest.mark.parametrize(
    ("message", "parts"),
    [
        ("a" * 160, 1),  # GSM-7: 160 characters in one part
        ("a" * 161, 2),  # then 153 a part
        ("{" * 80, 1),  # the extension table costs two septets
        ("{" * 81, 2),
        ("á" * 70, 1),  # á is not GSM-7: UCS-2, 70 in one part
        ("á" * 71, 2),  # then 67 a part
        ("Llámenos al (512) 555-0188", 1),
    ],
)
def test_a_text_is_billed_by_its_parts_as_carriers_count_them(message: str, parts: int) -> None:
    # Given a text message; Then its billed parts follow GSM 03.38 / UCS-2 segmenting
    from benchmarks.counting import text_parts

    assert text_parts(message) == parts
