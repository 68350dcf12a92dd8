"""Run profiles: a notebook's `smoke` and `full` settings, with the parameters a user overrides."""
from __future__ import annotations

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
