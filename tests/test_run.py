"""The runner, as a careless user meets it: every test runs toy notebooks in a temporary copy of the layout
(`<tmp>/notebooks`, `<tmp>/checkpoints`, ...), so nothing is written into the checkout."""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from vae_utils import run

PARAMETERS = '''profile = "full"
epochs = None  # type: Optional[int] None: the profile's default
rate = 0.5
seed = 0
retrain = False
label = "x"
data_dir = None  # type: Optional[str] None: $VAE_DATA_DIR
artifacts_dir = ".."
checkpoint_dir = None  # type: Optional[str] None: <artifacts_dir>/checkpoints'''

REPORT = '''import json, os, pathlib
pathlib.Path(artifacts_dir, "seen.json").write_text(json.dumps({
    "profile": profile, "epochs": epochs, "rate": rate, "retrain": retrain, "label": label, "data_dir": data_dir,
    "checkpoint_dir": checkpoint_dir, "artifacts_dir": artifacts_dir, "env_data_dir": os.environ.get("VAE_DATA_DIR")}))'''


def make_repo(tmp_path: Path, monkeypatch, *cells: str, name: str = "98_toy") -> Path:
    """A repository layout under tmp_path with one notebook of the given code cells after a parameters cell."""
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
        *[nbformat.v4.new_code_cell(cell) for cell in cells]])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (tmp_path / "notebooks").mkdir()
    nbformat.write(notebook, tmp_path / "notebooks" / f"{name}.ipynb")
    (tmp_path / "README.md").write_text("<!-- notebooks:start -->\n<!-- notebooks:end -->\n"
                                        "<!-- timings:start -->\n<!-- timings:end -->\n"
                                        "<!-- claims:start -->\n<!-- claims:end -->\n")
    monkeypatch.setattr(run, "NOTEBOOK_DIR", tmp_path / "notebooks")
    return tmp_path / "notebooks" / f"{name}.ipynb"


def test_unknown_profile_lists_the_allowed_ones(capsys):
    with pytest.raises(SystemExit) as exit_info:
        run.main(["--profile", "fast"])
    assert exit_info.value.code != 0
    assert "choose one of smoke, full" in capsys.readouterr().err


def test_unknown_notebook_lists_the_collection():
    with pytest.raises(SystemExit, match="01_autoencoder_basics"):
        run.main(["99_nothing"])


@pytest.mark.parametrize("text, value", [
    ("3", 3), ("-3", -3), ("0.5", 0.5), ("1e-3", 0.001), ("True", True), ("false", False), ("FALSE", False),
    ("None", None), ("none", None), ("null", None), ("[1, 2]", [1, 2]), ("{a: 1}", {"a": 1}), ("smoke", "smoke"),
    ("../shared/data", "../shared/data"), ("[unclosed", "[unclosed")])
def test_parse_value_reads_yaml_style_like_papermill(text, value):
    assert run.parse_value(text) == value and type(run.parse_value(text)) is type(value)


def test_values_are_checked_against_the_declared_types(tmp_path, monkeypatch):
    make_repo(tmp_path, monkeypatch)
    check = lambda *pairs: run.checked_parameters(["98_toy"], list(pairs), tmp_path)["98_toy"]
    assert check(("retrain", "false"), ("epochs", "20"), ("rate", "1"), ("label", "2024")) == \
        {"retrain": False, "epochs": 20, "rate": 1.0, "label": "2024"}
    assert check(("epochs", "none")) == {"epochs": None}
    for key, text, expected in [("retrain", "3", "expects bool"), ("epochs", "many", "expects int or None"),
                                ("seed", "1.5", "expects int"), ("rate", "fast", "expects float")]:
        with pytest.raises(SystemExit, match=f"parameter '{key}' of 98_toy {expected}.*got '{text}'"):
            check((key, text))


def test_unknown_parameter_fails_before_anything_runs(tmp_path, monkeypatch):
    make_repo(tmp_path, monkeypatch, "raise RuntimeError('must not run')")
    with pytest.raises(SystemExit, match=r"98_toy has no parameter 'epoch'\. Did you mean 'epochs'\?.*rate, seed"):
        run.main(["98", "-p", "epoch", "20", "-o", str(tmp_path / "out")])
    with pytest.raises(SystemExit, match="set 'profile' with --profile"):
        run.main(["98", "-p", "profile", "smoke", "-o", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()


def test_failing_in_place_run_keeps_the_committed_notebook(tmp_path, monkeypatch, capsys):
    committed = make_repo(tmp_path, monkeypatch, "x = 1", "raise RuntimeError('broken on purpose')")
    before = committed.read_bytes()
    assert run.main(["98"]) == 1  # full profile: in place
    assert committed.read_bytes() == before
    failed = tmp_path / "build" / "failed" / "98_toy.ipynb"
    err = capsys.readouterr().err
    assert "98_toy" in err and "cell [4]" in err and "broken on purpose" in err and str(failed) in err
    assert "RuntimeError" in failed.read_text()
    assert sorted(p.name for p in (tmp_path / "notebooks").iterdir()) == ["98_toy.ipynb"]  # no temporary left


def test_successful_in_place_run_replaces_the_notebook_and_times_it(tmp_path, monkeypatch, capfd):
    committed = make_repo(tmp_path, monkeypatch, REPORT, "print('ran')")
    assert run.main(["98"]) == 0
    assert "ran" in committed.read_text()
    terminal = capfd.readouterr()
    assert "without encryption" not in terminal.err + terminal.out  # the kernel's log goes to a file instead
    assert (tmp_path / "build" / "kernel_logs" / "98_toy.log").is_file()
    injected, = [c for c in nbformat.read(committed, as_version=4).cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert str(tmp_path) not in injected.source  # a committed notebook carries no path of this machine
    timings = json.loads((tmp_path / "benchmarks" / "notebook_timings.json").read_text())
    assert timings["98_toy"]["wall_seconds"] > 0 and timings["98_toy"]["trained_checkpoints"] == 0
    assert "| 98_toy |" in (tmp_path / "README.md").read_text()
    assert json.loads((tmp_path / "build" / "run_log.jsonl").read_text().splitlines()[-1])["status"] == "done"


def seen(folder: Path) -> dict:
    return json.loads((folder / "seen.json").read_text())


def test_checkpoint_cache_stays_in_the_repository_wherever_outputs_go(tmp_path, monkeypatch):
    make_repo(tmp_path, monkeypatch, REPORT)
    out = tmp_path / "out"
    assert run.main(["98", "-o", str(out)]) == 0  # full profile elsewhere: the committed checkpoints are used
    assert seen(out)["checkpoint_dir"] == str(tmp_path / "checkpoints") and seen(out)["artifacts_dir"] == str(out)
    assert (out / "98_toy.ipynb").is_file()
    assert run.main(["98", "--profile", "smoke", "-o", str(out)]) == 0  # smoke: its own cache, beside its outputs
    assert seen(out)["checkpoint_dir"] == str(out / "checkpoints") and seen(out)["profile"] == "smoke"
    assert run.main(["98", "-o", str(out), "--checkpoint-dir", str(tmp_path / "mine")]) == 0
    assert seen(out)["checkpoint_dir"] == str(tmp_path / "mine")


def test_relative_paths_are_resolved_against_the_callers_directory(tmp_path, monkeypatch):
    make_repo(tmp_path, monkeypatch, REPORT)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    monkeypatch.setenv("VAE_DATA_DIR", "../shared/data")
    assert run.main(["98", "--profile", "smoke", "-o", "out", "-p", "data_dir", "my/data", "-p", "retrain", "false"]) == 0
    report = seen(tmp_path / "elsewhere" / "out")
    assert report["env_data_dir"] == str(tmp_path / "shared" / "data")
    assert report["data_dir"] == str(tmp_path / "elsewhere" / "my" / "data") and report["retrain"] is False


TRAINING = '''import time
import torch
from vae_utils.data import ImageTensors
from vae_utils.models import ModelSpec
from vae_utils.train import Monitor, TrainConfig, fit
images = ImageTensors(torch.zeros(8, 1, 8, 8, dtype=torch.uint8), torch.zeros(8, dtype=torch.long), {"dataset": "zeros"})
pace = Monitor({"pace": 1}, lambda model: time.sleep(0.2) or {})
fit(ModelSpec("mlp", (1, 8, 8), 2), TrainConfig(epochs=1000, batch_size=8), images, name="98_slow",
    checkpoint_dir=checkpoint_dir, progress=False, monitor=pace)'''


def interrupt_runner(tmp_path: Path, cells: list[str], ready) -> subprocess.CompletedProcess:
    """Start the runner on a toy notebook in a subprocess, send SIGINT once ready(tmp_path) holds, and collect it."""
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
        *[nbformat.v4.new_code_cell(cell) for cell in cells]])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (tmp_path / "notebooks").mkdir()
    nbformat.write(notebook, tmp_path / "notebooks" / "98_toy.ipynb")
    script = (f"import sys; from pathlib import Path; from vae_utils import run; "
              f"run.NOTEBOOK_DIR = Path({str(tmp_path / 'notebooks')!r}); "
              f"sys.exit(run.main(['98', '-o', {str(tmp_path / 'out')!r}]))")
    # a child of a background job inherits SIGINT ignored, and Python then installs no KeyboardInterrupt handler
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not ready(tmp_path) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    assert process.poll() is None, process.communicate()
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def test_ctrl_c_says_what_was_saved_and_exits_130(tmp_path):
    partials = lambda root: list((root / "checkpoints").glob("98_slow-*.partial.pt"))
    result = interrupt_runner(tmp_path, [TRAINING], lambda root: bool(partials(root)))
    assert result.returncode == 130, result.stderr
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    partial, = partials(tmp_path)
    line, = [line for line in result.stderr.splitlines() if line.strip().startswith("98_toy")]
    assert "interrupted" in line and f"of 1000 epochs in {partial}" in line
    assert (tmp_path / "out" / "failed" / "98_toy.ipynb").is_file() and not (tmp_path / "out" / "98_toy.ipynb").exists()


def test_ctrl_c_before_any_epoch_names_no_file(tmp_path):
    cells = ["import pathlib, time\npathlib.Path(artifacts_dir, 'started').write_text('')\ntime.sleep(60)"]
    result = interrupt_runner(tmp_path, cells, lambda root: (root / "out" / "started").exists())
    assert result.returncode == 130, result.stderr
    assert "Traceback" not in result.stderr
    line, = [line for line in result.stderr.splitlines() if line.strip().startswith("98_toy")]
    assert "no checkpoint" in line and ".pt" not in line


def test_front_page_and_notebooks_do_not_point_outside_the_repository():
    for path in [run.REPO_ROOT / "README.md", run.REPO_ROOT / "data" / "README.md", *run.NOTEBOOK_DIR.glob("*.ipynb")]:
        notebook = path.suffix == ".ipynb"
        text = "".join("".join(c.source) for c in nbformat.read(path, as_version=4).cells) if notebook else path.read_text()
        assert "../shared" not in text, path.name


def test_every_explorer_starts_on_a_real_code():
    """An explorer opened on the origin of a 2-d VAE showed a black image: each starts on an encoded test image."""
    for path in run.NOTEBOOK_DIR.glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            for call in cell.source.split("LatentExplorer(")[1:]:
                assert "torch.zeros" not in call.split(", dims=")[0], path.name


def test_dead_kernel_tracebacks_after_ctrl_c_are_dropped_from_the_log():
    import logging
    from nbclient.exceptions import DeadKernelError
    record = lambda error: logging.LogRecord("asyncio", logging.ERROR, "", 0, "Task exception was never retrieved",
                                             None, (type(error), error, None))
    keep = run.DropDeadKernelTraceback().filter
    assert not keep(record(DeadKernelError("Kernel died"))) and keep(record(RuntimeError("other")))
