"""Every notebook of the collection runs end to end under papermill with the smoke profile."""
import json
import re

import pytest

from vae_utils import run
from vae_utils.sweep import numeric_leaves

TIMINGS = re.compile(r"second|train s|(^|\.)time")  # wall-clock numbers: the only ones a re-run may change

pytestmark = pytest.mark.notebook


@pytest.mark.parametrize("name", run.available_notebooks())
def test_notebook_runs_with_smoke_profile_and_a_rerun_reproduces_every_number(name, tmp_path, data_root, monkeypatch):
    """The smoke profile end to end, twice, each run training from scratch (separate checkpoint caches), on the CPU:
    the first writes exactly the figures the repository holds, and the second reproduces every number bit for bit."""
    # the data root relative to the caller's directory, as a user types it: the runner resolves it for the kernel
    monkeypatch.chdir(data_root.parent)
    monkeypatch.setenv("VAE_DATA_DIR", data_root.name)
    numbers = []
    for attempt in ("first", "second"):
        assert run.main([name, "--profile", "smoke", "-o", str(tmp_path / attempt)]) == 0
        results = json.loads((tmp_path / attempt / "results" / f"{name}.json").read_text())
        assert results["config"]["profile"] == "smoke" and results["results"]
        numbers.append({k: v for k, v in numeric_leaves(results["results"]).items() if not TIMINGS.search(k)})
    written = {p.name for p in (tmp_path / "first" / "figures" / name).glob("*.png")}
    assert written
    committed = {p.name for p in (run.REPO_ROOT / "figures" / name).glob("*.png")}
    assert not committed - written, f"figures/{name}/ holds figures the notebook no longer writes: {sorted(committed - written)}"
    assert not written - committed, f"figures the notebook writes but figures/{name}/ lacks: {sorted(written - committed)}"
    assert numbers[0] and numbers[0] == numbers[1]
