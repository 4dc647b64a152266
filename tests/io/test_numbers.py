"""The one number formatter and the one mean of per-image scores."""

from __future__ import annotations

import math

import pytest

from lode_bench.io.numbers import format_number, mean_of

INF, NAN = math.inf, math.nan


@pytest.mark.parametrize(
    "value, digits, text",
    [
        (30.123456, 2, "30.12"),
        (0.5, 4, "0.5000"),
        (3, 1, "3.0"),
        (INF, 2, "inf"),
        (-INF, 2, "-inf"),
        (NAN, 2, "–"),
        (None, 2, "–"),
    ],
)
def test_format_number(value: float | None, digits: int, text: str) -> None:
    assert format_number(value, digits) == text


def test_format_number_missing_text() -> None:
    assert format_number(None, missing="-") == "-" and format_number(NAN, missing="nan") == "nan"


@pytest.mark.parametrize(
    "values, mean",
    [
        ([1.0, 2.0, 4.0], 7 / 3),
        ([1.0, NAN, 2.0], 1.5),
        ([INF, 30.0], INF),
        ([-INF, NAN], -INF),
        ([1e308, 1e308, 1e308], 1e308),
        ([0.1] * 10, 0.1),
    ],
)
def test_mean_of(values: list[float], mean: float) -> None:
    assert mean_of(values) == mean


@pytest.mark.parametrize("values", [[], [NAN, NAN], [INF, -INF, 1.0]])
def test_mean_of_undefined(values: list[float]) -> None:
    assert math.isnan(mean_of(values))


def test_every_caller_uses_the_shared_helpers() -> None:
    from lode_bench.bench import runner
    from lode_bench.report import analysis_section, leaderboard, submission, tables

    assert runner.mean_of is submission.mean_of is leaderboard.mean_of is mean_of
    assert tables.fmt is analysis_section.format_number is format_number
