"""Numbers over seeds: mean ± std per model, and the verdict rule for a difference between two models."""
from __future__ import annotations

import math
from typing import Mapping, Sequence


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """(mean, sample standard deviation) of the values; the std is NaN for a single value."""
    values = [float(v) for v in values]
    if not values:
        raise ValueError("mean_std needs at least one value")
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, float("nan")
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def seed_summary(rows: Sequence[Mapping[str, float]]) -> dict[str, tuple[float, float]]:
    """One model's runs (one row of numbers per seed, the same columns in each) -> {column: (mean, std)}."""
    return {column: mean_std([row[column] for row in rows]) for column in rows[0]}


def difference(first: Mapping[str, tuple[float, float]], second: Mapping[str, tuple[float, float]], column: str,
               seeds_first: int, seeds_second: int | None = None) -> dict:
    """first − second of one column's seed means, with the standard error of that difference
    sqrt(s1²/n1 + s2²/n2), and whether it is measurable: larger than twice its standard error (our verdict rule).
    With a single seed on either side the standard error is NaN and nothing is measurable."""
    seeds_second = seeds_first if seeds_second is None else seeds_second
    (m1, s1), (m2, s2) = first[column], second[column]
    stderr = math.sqrt(s1 ** 2 / seeds_first + s2 ** 2 / seeds_second)
    return {"difference": m1 - m2, "stderr": stderr, "measurable": bool(abs(m1 - m2) > 2 * stderr)}


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval (default 95%) for a proportion successes / trials: (low, high), within [0, 1] even
    for 0 or `trials` successes, where the normal approximation p ± z sqrt(p(1-p)/n) would leave it or shrink to 0."""
    if trials <= 0 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials and trials > 0, got {successes} of {trials}")
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z / (1 + z * z / trials) * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))  # p inside despite rounding
