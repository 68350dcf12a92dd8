import math

import pytest

from vae_utils import stats


def test_mean_std_by_hand():
    assert stats.mean_std([1.0, 2.0, 3.0]) == pytest.approx((2.0, 1.0))
    mean, std = stats.mean_std([5.0])
    assert mean == 5.0 and math.isnan(std)
    with pytest.raises(ValueError):
        stats.mean_std([])


def test_seed_summary_seed_statistics_and_paired_differences():
    assert stats.seed_summary([{"mse": 1.0}, {"mse": 2.0}, {"mse": 3.0}]) == {"mse": (2.0, 1.0)}
    assert stats.seed_statistics([1.0, 2.0, 3.0]) == {"mean": 2.0, "std": 1.0, "n": 3}
    difference = stats.paired_seed_difference([3.0, 4.0, 5.0], [1.0, 1.0, 1.0])
    assert difference["mean"] == 3.0 and difference["stderr"] == pytest.approx(1 / math.sqrt(3))
    assert stats.seed_statistics([2.5]) == {"mean": 2.5, "std": 0.0, "n": 1}
    assert math.isnan(stats.paired_seed_difference([3.0], [1.0])["stderr"])  # one pair: no standard error


def test_linear_trend_of_a_line_and_of_noise():
    line = stats.linear_trend([1.0, 3.0, 5.0, 7.0])
    assert line["slope"] == pytest.approx(2.0) and line["stderr"] == pytest.approx(0.0, abs=1e-12) and line["steps"] == 4
    flat = stats.linear_trend([0.1, -0.2, 0.15, -0.1, 0.05])
    assert abs(flat["slope"]) < 2 * flat["stderr"]  # noise around a constant: no measurable trend
    with pytest.raises(ValueError, match="at least 3"):
        stats.linear_trend([1.0, 2.0])
