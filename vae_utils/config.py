"""Run profiles: a notebook's `smoke` and `full` settings, with the parameters a user overrides."""
from __future__ import annotations

PROFILES = ("smoke", "full")


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
    for knob in ("epochs", "mnist_epochs", "cifar_epochs"):
        if knob in chosen and (not isinstance(chosen[knob], int) or chosen[knob] <= 0):
            raise ValueError(f"{knob} must be a positive integer, got {chosen[knob]!r}")
    return chosen
