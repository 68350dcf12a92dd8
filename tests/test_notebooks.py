"""Every notebook of the collection runs end to end under papermill with the smoke profile."""
import json

import pytest

from vae_utils import run

pytestmark = pytest.mark.notebook


@pytest.mark.parametrize("name", run.available_notebooks())
def test_notebook_runs_with_smoke_profile(name, tmp_path, data_root, monkeypatch):
    # the data root relative to the caller's directory, as a user types it: the runner resolves it for the kernel
    monkeypatch.chdir(data_root.parent)
    monkeypatch.setenv("VAE_DATA_DIR", data_root.name)
    assert run.main([name, "--profile", "smoke", "-o", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results" / f"{name}.json").read_text())
    assert results["config"]["profile"] == "smoke" and results["results"]
    assert list((tmp_path / "figures" / name).glob("*.png"))
