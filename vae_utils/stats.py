"""Numbers over seeds: mean ± std per model, paired differences, trends and proportions. The verdict rule
(Student-t intervals) lives in `claims`."""
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


def seed_statistics(values: Sequence[float]) -> dict[str, float]:
    """One measurement over training seeds -> {"mean", "std" (sample std; 0 for a single seed), "n"}."""
    mean, std = mean_std(values)
    return {"mean": mean, "std": 0.0 if math.isnan(std) else std, "n": len(values)}


def paired_seed_difference(first: Sequence[float], second: Sequence[float]) -> dict[str, float]:
    """Mean of first − second over paired seeds (seed k of one model against seed k of the other), with its standard
    error (std of the differences / sqrt(n); NaN for one pair): {"mean", "stderr", "n"}."""
    differences = [float(a) - float(b) for a, b in zip(first, second, strict=True)]
    mean, std = mean_std(differences)
    return {"mean": mean, "stderr": std / math.sqrt(len(differences)), "n": len(differences)}


def linear_trend(values: Sequence[float]) -> dict[str, float]:
    """Least-squares slope of values against their index (units per step) with its standard error, for asking
    whether a training curve is still moving: {"slope", "stderr", "steps"}. Needs at least 3 values."""
    values = [float(v) for v in values]
    n = len(values)
    if n < 3:
        raise ValueError(f"linear_trend needs at least 3 values, got {n}")
    mean_x, mean_y = (n - 1) / 2, sum(values) / n
    sxx = sum((i - mean_x) ** 2 for i in range(n))
    slope = sum((i - mean_x) * (v - mean_y) for i, v in enumerate(values)) / sxx
    residual = sum((v - mean_y - slope * (i - mean_x)) ** 2 for i, v in enumerate(values))
    return {"slope": slope, "stderr": math.sqrt(residual / (n - 2) / sxx), "steps": n}


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval (default 95%) for a proportion successes / trials: (low, high), within [0, 1] even
    for 0 or `trials` successes, where the normal approximation p ± z sqrt(p(1-p)/n) would leave it or shrink to 0."""
    if trials <= 0 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials and trials > 0, got {successes} of {trials}")
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z / (1 + z * z / trials) * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))  # p inside despite rounding
