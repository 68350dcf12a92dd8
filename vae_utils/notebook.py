"""A notebook's plumbing in one call: its profile's settings, where its outputs go, the figure style, and the one
call at the end that records its results (upper floor: uses config, plots and results)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from . import plots
from .config import NOTEBOOK_PROFILES, output_dirs, select_profile
from .data import REPO_ROOT
from .results import reading_minutes, write_results
from .train import pick_device


@dataclass
class Session:
    """What a running notebook needs to know: its name, settings and output folders, and when it started."""

    notebook: str
    profile: str
    settings: dict
    artifacts_dir: str
    checkpoint_dir: str
    started: float = field(default_factory=time.perf_counter)

    def record(self, results: dict, **config) -> Path:
        """Write `results/<notebook>.json` (headline numbers and claims) with the settings and `config` beside them,
        and the committed notebook's reading time (`results.reading_minutes`), which its introduction quotes."""
        committed = REPO_ROOT / "notebooks" / f"{self.notebook}.ipynb"
        if committed.is_file() and "reading_minutes" not in results:
            results = {**results, "reading_minutes": reading_minutes(committed)}
        return write_results(self.notebook, results, {"profile": self.profile, **self.settings, **config},
                             time.perf_counter() - self.started, self.artifacts_dir)


def start(notebook: str, profile: str, artifacts_dir: str, checkpoint_dir: str | None, **overrides) -> Session:
    """Select the profile's settings (`config.NOTEBOOK_PROFILES[notebook]`, with the notebook's parameter overrides),
    resolve the output folders, apply the figure style, and say what runs where."""
    settings = select_profile(profile, NOTEBOOK_PROFILES[notebook], **overrides)
    artifacts_dir, checkpoint_dir = output_dirs(artifacts_dir, checkpoint_dir)
    plots.setup(notebook, artifacts_dir)
    print(f"profile {profile}, device {pick_device()}, settings {settings}")
    return Session(notebook, profile, settings, artifacts_dir, checkpoint_dir)
