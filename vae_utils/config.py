"""Run profiles: a notebook's `smoke` and `full` settings, the parameters a user overrides, and where it writes."""
from __future__ import annotations

import os

PROFILES = ("smoke", "full")
COUNT_SUFFIXES = ("epochs", "_k", "_size", "_steps")  # knobs that count something: positive integers (or None: all)
COUNT_NAMES = ("eval_images", "monitor_images", "seeds", "passes")  # the same, by name


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
        counts = knob.endswith(COUNT_SUFFIXES) or knob in COUNT_NAMES
        if counts and value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
            raise ValueError(f"{knob} must be a positive integer, got {value!r}")
    return chosen


# What each notebook's parameters may be, beyond their type: (smallest, largest or None, why). The runner checks
# every -p value against these before a kernel starts; None (the profile's default) always passes. A knob that
# counts something (COUNT_SUFFIXES, seeds, steps) must be at least 1 even where it is not listed here.
TRAIN_BATCH = 128  # TrainConfig's default batch size: a training subset smaller than one batch trains on nothing useful
SEEDS_COMPARED = (2, None, "its verdicts compare seeds with a standard error, which needs at least two")
AT_LEAST_A_BATCH = (TRAIN_BATCH, None, f"fewer than one training batch ({TRAIN_BATCH} images)")
PARAMETER_RANGES: dict[str, dict[str, tuple[float | None, float | None, str]]] = {
    "01_autoencoder_basics": {"seeds": SEEDS_COMPARED, "train_size": AT_LEAST_A_BATCH},
    "02_vae_mnist": {"seeds": SEEDS_COMPARED},
    "03_cifar_blur": {"train_size": AT_LEAST_A_BATCH},
    "04_posterior_collapse": {"seeds": SEEDS_COMPARED, "train_size": AT_LEAST_A_BATCH},
    "05_reconstruction_weighting": {"seeds": SEEDS_COMPARED, "train_size": AT_LEAST_A_BATCH},
    "06_celeba_faces": {"train_size": AT_LEAST_A_BATCH},
    "07_synthetic_augmentation": {"seeds": SEEDS_COMPARED, "noise_scale": (0, None, "a standard deviation"),
                                  "portion": (0, 1, "a share of the code's coordinates")},
}
COUNTING = (1, None, "it counts something")


def parameter_range(notebook: str, key: str) -> tuple[float | None, float | None, str] | None:
    """(smallest, largest, why) allowed for a notebook parameter, or None when any value of its type goes."""
    declared = PARAMETER_RANGES.get(notebook, {}).get(key)
    if declared is None and (key.endswith(COUNT_SUFFIXES) or key in COUNT_NAMES):
        return COUNTING
    return declared


def check_parameter_range(notebook: str, key: str, value) -> None:
    """Raise ValueError, saying what is allowed and why, when `value` of a notebook parameter is out of its range."""
    allowed = parameter_range(notebook, key)
    if allowed is None or value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    low, high, why = allowed
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"between {low} and {high}" if low is not None and high is not None else \
            f"at least {low}" if low is not None else f"at most {high}"
        raise ValueError(f"parameter {key!r} of {notebook} must be {bounds} ({why}), got {value!r}")


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
