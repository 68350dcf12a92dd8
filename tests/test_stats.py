import math

import pytest

from vae_utils import stats


def test_mean_std_by_hand():
    assert stats.mean_std([1.0, 2.0, 3.0]) == pytest.approx((2.0, 1.0))
    mean, std = stats.mean_std([5.0])
    assert mean == 5.0 and math.isnan(std)
    with pytest.raises(ValueError):
        stats.mean_std([])


def test_seed_summary_and_the_two_standard_error_rule():
    a = stats.seed_summary([{"mse": 1.0}, {"mse": 2.0}, {"mse": 3.0}])   # 2 ± 1
    b = stats.seed_summary([{"mse": 4.0}, {"mse": 5.0}, {"mse": 6.0}])   # 5 ± 1
    d = stats.difference(b, a, "mse", 3)
    assert d["difference"] == pytest.approx(3.0) and d["stderr"] == pytest.approx(math.sqrt(2 / 3))
    assert d["measurable"]                                              # 3 > 2 * 0.816
    close = stats.seed_summary([{"mse": 2.5}, {"mse": 3.5}, {"mse": 1.5}])  # 2.5 ± 1
    assert not stats.difference(close, a, "mse", 3)["measurable"]       # 0.5 < 1.63
    single = stats.seed_summary([{"mse": 9.0}])
    assert not stats.difference(single, a, "mse", 1, 3)["measurable"]   # no spread known: no verdict


def test_seed_statistics_and_the_two_standard_errors_rule():
    assert stats.seed_statistics([1.0, 2.0, 3.0]) == {"mean": 2.0, "std": 1.0, "n": 3}
    difference = stats.paired_seed_difference([3.0, 4.0, 5.0], [1.0, 1.0, 1.0])
    assert difference["mean"] == 3.0 and difference["stderr"] == pytest.approx(1 / math.sqrt(3))
    assert stats.measurable(difference)
    assert not stats.measurable(stats.paired_seed_difference([1.0, -1.0, 0.5], [0.0, 0.0, 0.0]))
    assert not stats.measurable(stats.paired_seed_difference([0, 0, 0], [0, 0, 0]))
    assert stats.measurable(stats.paired_seed_difference([5, 5, 5], [0, 0, 0]))


    assert stats.seed_statistics([2.5]) == {"mean": 2.5, "std": 0.0, "n": 1}
    assert not stats.measurable(stats.paired_seed_difference([3.0], [1.0]))  # one pair: no standard error


def test_linear_trend_of_a_line_and_of_noise():
    line = stats.linear_trend([1.0, 3.0, 5.0, 7.0])
    assert line["slope"] == pytest.approx(2.0) and line["stderr"] == pytest.approx(0.0, abs=1e-12) and line["steps"] == 4
    flat = stats.linear_trend([0.1, -0.2, 0.15, -0.1, 0.05])
    assert abs(flat["slope"]) < 2 * flat["stderr"]  # noise around a constant: no measurable trend
    with pytest.raises(ValueError, match="at least 3"):
        stats.linear_trend([1.0, 2.0])


def test_paired_comparisons_pair_seeds_and_apply_the_rule():
    per_seed = {"a": [{"x": 1.0, "y": 5.0}, {"x": 2.0, "y": 5.0}, {"x": 3.0, "y": 6.0}],
                "b": [{"x": 0.0, "y": 5.1}, {"x": 1.1, "y": 4.0}, {"x": 1.9, "y": 6.9}]}
    out = stats.paired_comparisons(per_seed, [("a", "b")], ["x", "y"])["a − b"]
    # x: differences 1.0, 0.9, 1.1 -> mean 1.0, std 0.1, s.e. 0.1/sqrt(3): measurable
    assert out["x"]["mean"] == pytest.approx(1.0) and out["x"]["stderr"] == pytest.approx(0.1 / math.sqrt(3))
    assert out["x"]["measurable"] and out["x"]["n"] == 3
    # y: differences -0.1, 1.0, -0.9 -> mean 0: not measurable
    assert out["y"]["mean"] == pytest.approx(0.0) and not out["y"]["measurable"]


def test_in_words_follows_the_rule():
    assert stats.in_words({"mean": -1.0, "stderr": 0.4}, "lower", "higher") == "measurably lower"
    assert stats.in_words({"mean": 1.0, "stderr": 0.4}, "lower", "higher") == "measurably higher"
    assert stats.in_words({"mean": 1.0, "stderr": 0.6}, "lower", "higher") == "no measurable difference"
    assert stats.in_words({"mean": 1.0, "stderr": float("nan")}, "lower", "higher") == "no measurable difference"


def test_trend_in_words():
    assert stats.trend_in_words(stats.linear_trend([1.0, 2.0, 3.1, 3.9])).startswith("still rising (+0.98 ± 0.04")
    assert stats.trend_in_words(stats.linear_trend([1.0, 0.5, 1.1, 0.4, 1.0])).startswith("flat within its noise")
