"""Run profiles: a notebook's `smoke` and `full` settings, the parameters a user overrides, and where it writes."""
from __future__ import annotations

import os

PROFILES = ("smoke", "full")
COUNT_SUFFIXES = ("epochs", "_k", "_size")  # knobs that count something: positive integers (or None: all)


def select_profile(profile: str, settings: dict[str, dict], **overrides) -> dict:
    """The settings of `profile`, with every override that is not None applied on top.

    settings: profile name -> dict of knobs. An unknown profile or knob is an error naming the allowed values."""
    if profile not in settings:
        raise ValueError(f"Unknown profile {profile!r}; choose one of {', '.join(settings)}.")
    chosen = dict(settings[profile])
    for knob, value in overrides.items():
        if knob not in chosen:
            raise ValueError(f"Unknown setting {knob!r}; this notebook's settings are {', '.join(chosen)}.")
        if value is not None:
            chosen[knob] = value
    for knob, value in chosen.items():
        counts = knob.endswith(COUNT_SUFFIXES) or knob in ("eval_images", "monitor_images", "seeds")
        if counts and value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
            raise ValueError(f"{knob} must be a positive integer, got {value!r}")
    return chosen


DEFAULT_ARTIFACTS_DIR = ".."  # a notebook's default: the repository root, seen from notebooks/
ARTIFACTS_VARIABLE = "VAE_ARTIFACTS_DIR"


def output_dirs(artifacts_dir: str = DEFAULT_ARTIFACTS_DIR, checkpoint_dir: str | None = None) -> tuple[str, str]:
    """(where results/ and figures/ go, the checkpoint cache) for a notebook's two parameters.

    The cache defaults to `<artifacts_dir>/checkpoints`. When `artifacts_dir` is left at its default and
    $VAE_ARTIFACTS_DIR is set, results and figures go there instead while the cache stays the repository's:
    the tests set it, so that re-executing the committed notebooks reads the committed checkpoints and writes
    nothing into the checkout."""
    cache = checkpoint_dir or f"{artifacts_dir}/checkpoints"
    if artifacts_dir == DEFAULT_ARTIFACTS_DIR and os.environ.get(ARTIFACTS_VARIABLE):
        artifacts_dir = os.environ[ARTIFACTS_VARIABLE]
    return artifacts_dir, cache
