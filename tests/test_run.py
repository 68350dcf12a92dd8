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
    (tmp_path / "README.md").write_text("<!-- reading:start -->\n<!-- reading:end -->\n"
                                        "<!-- notebooks:start -->\n<!-- notebooks:end -->\n"
                                        "<!-- claims:start -->\n<!-- claims:end -->\n"
                                        "<!-- links:start -->\n<!-- links:end -->\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "performance.md").write_text("<!-- timings:start -->\n<!-- timings:end -->\n")
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
    assert run.main(["98", "--record-timings"]) == 0
    assert "ran" in committed.read_text()
    terminal = capfd.readouterr()
    assert "without encryption" not in terminal.err + terminal.out  # the kernel's log goes to a file instead
    assert (tmp_path / "build" / "kernel_logs" / "98_toy.log").is_file()
    injected, = [c for c in nbformat.read(committed, as_version=4).cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert str(tmp_path) not in injected.source  # a committed notebook carries no path of this machine
    timings = json.loads((tmp_path / "benchmarks" / "notebook_timings.json").read_text())
    assert timings["98_toy"]["wall_seconds"] > 0 and timings["98_toy"]["trained_checkpoints"] == 0
    readme = (tmp_path / "README.md").read_text()
    assert "| 98 | [98_toy][nb98] |" in readme and "[nb98]: notebooks/98_toy.ipynb" in readme  # the reading order, linked
    assert "| 98_toy |" in (tmp_path / "docs" / "performance.md").read_text()
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


@pytest.mark.slow
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


WRITE_ARTIFACTS = '''import pathlib
figures = pathlib.Path(artifacts_dir, "figures", "98_toy")
figures.mkdir(parents=True, exist_ok=True)
(figures / "curve.png").write_text(f"drawn with rate {rate}")
(figures / "new.png").write_text("a figure the old run did not have")
pathlib.Path(artifacts_dir, "results").mkdir(exist_ok=True)
pathlib.Path(artifacts_dir, "results", "98_toy.json").write_text(f"{{\\"rate\\": {rate}}}")'''


def test_a_failed_run_leaves_results_and_figures_as_they_were(tmp_path, monkeypatch, capsys):
    """`-p seeds 1` of notebook 01 failed late but had already overwritten a committed figure."""
    monkeypatch.delenv("VAE_ARTIFACTS_DIR", raising=False)
    make_repo(tmp_path, monkeypatch, WRITE_ARTIFACTS, "raise ValueError('late failure')")
    (tmp_path / "figures" / "98_toy").mkdir(parents=True)
    (tmp_path / "figures" / "98_toy" / "curve.png").write_text("committed curve")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "98_toy.json").write_text('{"rate": 0.5}')
    assert run.main(["98", "-p", "rate", "0.7"]) == 1  # in place
    assert (tmp_path / "figures" / "98_toy" / "curve.png").read_text() == "committed curve"
    assert not (tmp_path / "figures" / "98_toy" / "new.png").exists()
    assert (tmp_path / "results" / "98_toy.json").read_text() == '{"rate": 0.5}'
    assert "was left as it was, and so were its results/ and figures/" in capsys.readouterr().err
    out = tmp_path / "out"  # elsewhere, where nothing was before: nothing is left
    assert run.main(["98", "--profile", "smoke", "-o", str(out)]) == 1
    assert not (out / "figures" / "98_toy").exists() and not (out / "results" / "98_toy.json").exists()
    assert "no notebook was written to" in capsys.readouterr().err  # not "left as it was": there was none


def test_out_of_range_parameters_fail_before_anything_runs(tmp_path, monkeypatch):
    make_repo(tmp_path, monkeypatch, "raise RuntimeError('must not run')")
    with pytest.raises(SystemExit, match="'epochs' of 98_toy must be at least 1.*got -3"):
        run.main(["98", "-p", "epochs", "-3", "-o", str(tmp_path / "out")])
    monkeypatch.setattr(run, "NOTEBOOK_DIR", run.REPO_ROOT / "notebooks")
    with pytest.raises(SystemExit, match="'seeds' of 01_autoencoder_basics must be at least 2.*got 1"):
        run.main(["01", "-p", "seeds", "1", "-o", str(tmp_path / "out")])
    with pytest.raises(SystemExit, match="'portion' of 07_synthetic_augmentation must be between 0 and 1"):
        run.main(["07", "-p", "portion", "1.5", "-o", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()


def test_declared_ranges_name_real_notebooks_and_parameters():
    from vae_utils.config import PARAMETER_RANGES
    for notebook, ranges in PARAMETER_RANGES.items():
        assert set(ranges) <= set(run.notebook_parameters(notebook)), notebook


@pytest.mark.parametrize("make_output, cause", [
    (lambda root: (root / "a_file").write_text("") or root / "a_file", "it is a file, not a folder"),
    (lambda root: (root / "a_file").write_text("") or root / "a_file" / "out", "a part of that path is a file"),
])
def test_an_unusable_output_folder_is_one_line(tmp_path, monkeypatch, make_output, cause):
    make_repo(tmp_path, monkeypatch, REPORT)
    output = make_output(tmp_path)
    with pytest.raises(SystemExit, match=f"error: cannot write the executed notebooks into {output}: {cause}"):
        run.main(["98", "--profile", "smoke", "-o", str(output)])


def test_a_read_only_output_folder_is_one_line(tmp_path, monkeypatch):
    import errno
    make_repo(tmp_path, monkeypatch, REPORT)

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(run.tempfile, "TemporaryFile", read_only)
    with pytest.raises(SystemExit, match="cannot write the executed notebooks into .*out: Read-only file system"):
        run.main(["98", "--profile", "smoke", "-o", str(tmp_path / "out")])


def test_a_missing_notebook_folder_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(run, "NOTEBOOK_DIR", run.NOTEBOOK_DIR)  # main sets it from --notebook-dir: restore it after
    with pytest.raises(SystemExit, match=f"no notebooks named NN_.*ipynb in {tmp_path / 'nowhere'} \\(no such folder\\)"):
        run.main(["01", "--notebook-dir", str(tmp_path / "nowhere")])


def test_a_successful_run_clears_its_stale_failure_and_repeats_cache_warnings(tmp_path, monkeypatch, capsys):
    damaged = '''import pathlib
from vae_utils import checkpoints
pathlib.Path(artifacts_dir, "model.pt").write_bytes(b"truncated")
assert checkpoints.load_checkpoint(pathlib.Path(artifacts_dir, "model.pt"), {}) is None
assert rate != 0.25, "failing on purpose"'''
    make_repo(tmp_path, monkeypatch, damaged)
    out = tmp_path / "out"
    assert run.main(["98", "--profile", "smoke", "-o", str(out), "-p", "rate", "0.25"]) == 1
    assert (out / "failed" / "98_toy.ipynb").is_file()
    assert "warning: 98_toy: " in capsys.readouterr().err  # also when the run fails
    assert run.main(["98", "--profile", "smoke", "-o", str(out)]) == 0
    assert not (out / "failed").exists()
    err = capsys.readouterr().err
    assert f"warning: 98_toy: {out / 'model.pt'} is unreadable" in err and "model.pt.corrupt" in err


def test_two_runs_into_one_folder_are_refused(tmp_path, monkeypatch):
    make_repo(tmp_path, monkeypatch, REPORT)
    out = tmp_path / "out"
    out.mkdir()
    with run.exclusive(out):  # another run holds the folder
        with pytest.raises(SystemExit, match=f"another run is writing into {out}"):
            run.main(["98", "--profile", "smoke", "-o", str(out)])
    assert run.main(["98", "--profile", "smoke", "-o", str(out)]) == 0


STOPWATCH = '''import random, time
import ipywidgets
from IPython.display import display
started = time.perf_counter()
display(ipywidgets.VBox([ipywidgets.FloatSlider(value=rate, description="rate"), ipywidgets.Label("a label")]))
print(f"rate {rate}; This run took {random.randint(1, 10**6)} s")'''


def test_a_rerun_with_unchanged_outputs_leaves_the_notebook_and_timings_alone(tmp_path, monkeypatch, capsys):
    """`make run` changed no number yet left timestamps, widget ids, run times and the timings file modified."""
    committed = make_repo(tmp_path, monkeypatch, STOPWATCH)
    assert run.main(["98"]) == 0
    first = committed.read_bytes()
    assert b"widget-state" in first and b"This run took" in first
    capsys.readouterr()
    assert run.main(["98"]) == 0
    assert committed.read_bytes() == first
    assert "outputs unchanged" in capsys.readouterr().out
    assert not (tmp_path / "benchmarks" / "notebook_timings.json").exists()  # timings went to the run log only
    assert [json.loads(line)["unchanged"] for line in (tmp_path / "build" / "run_log.jsonl").read_text().splitlines()] == [False, True]
    assert run.main(["98", "-p", "rate", "0.75"]) == 0  # a changed output does replace it
    assert b"rate 0.75" in committed.read_bytes()


def test_make_lab_starts_as_root_too():
    """In a container run as root, JupyterLab exited with "Running as root is not recommended"."""
    import os
    import shutil
    if shutil.which("make") is None:
        pytest.skip("no make")
    dry_run = subprocess.run(["make", "-n", "lab"], cwd=run.REPO_ROOT, capture_output=True, text=True, check=True).stdout
    lab, = [line for line in dry_run.splitlines() if "jupyter lab" in line]
    assert ("--allow-root" in lab) == (os.geteuid() == 0)


@pytest.mark.parametrize("where", ["notebooks", "."])
def test_a_smoke_run_never_writes_into_the_repository(tmp_path, monkeypatch, where):
    """`-o notebooks --profile smoke` counted as in place: smoke outputs over the committed notebooks and checkpoints."""
    make_repo(tmp_path, monkeypatch, "raise RuntimeError('must not run')")
    with pytest.raises(SystemExit, match="would replace the committed notebooks"):
        run.main(["98", "--profile", "smoke", "-o", str(tmp_path / where)])


def test_an_unknown_kernel_is_one_line(tmp_path, monkeypatch):
    make_repo(tmp_path, monkeypatch, REPORT)
    with pytest.raises(SystemExit, match="no Jupyter kernel named 'pyton3'; installed: .*python3"):
        run.main(["98", "--profile", "smoke", "-o", str(tmp_path / "out"), "--kernel", "pyton3"])


def test_a_full_run_without_its_checkpoint_cache_says_it_will_train_everything(tmp_path):
    """--notebook-dir pointing at a copy of the notebooks made a full run retrain every model into <copy>/../checkpoints
    without a word; now it says so and how to load the committed weights."""
    note = run.missing_cache_note("full", False, tmp_path / "checkpoints")
    assert "trains from scratch" in note and "--checkpoint-dir" in note
    assert run.missing_cache_note("full", False, run.REPO_ROOT / "checkpoints") is None
    assert run.missing_cache_note("full", True, tmp_path / "checkpoints") is None
    assert run.missing_cache_note("smoke", False, tmp_path / "checkpoints") is None


def test_sigterm_is_handled_like_ctrl_c_while_the_runner_runs_and_restored_after():
    """`timeout` and schedulers send SIGTERM: inside the runner it raises KeyboardInterrupt, so the running notebook's
    old file, results and figures are put back (the Ctrl-C path) instead of the process dying mid-write."""
    import os
    import signal

    before = signal.getsignal(signal.SIGTERM)
    with run.terminate_as_interrupt():
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)  # the handler runs between bytecodes; never reached
    assert signal.getsignal(signal.SIGTERM) == before


def test_tables_only_rewrites_the_readme_tables_and_executes_nothing(tmp_path, monkeypatch, capsys):
    committed = make_repo(tmp_path, monkeypatch, "raise RuntimeError('must not run')")
    before = committed.read_text()
    assert run.main(["--tables-only"]) == 0
    assert committed.read_text() == before and not (tmp_path / "build").exists()
    readme = (tmp_path / "README.md").read_text()
    assert "| 98 | [98_toy][nb98] |" in readme and "No claims recorded yet." in readme
    assert readme.count("[nb98]: notebooks/98_toy.ipynb") == 1


def test_a_kernel_that_dies_while_starting_is_started_again(tmp_path, monkeypatch, capfd):
    """Kernels started side by side can lose a race for a TCP port and die before their first reply (papermill
    issue 511): nothing has run yet, so the runner starts another, at most KERNEL_START_TRIES times in all."""
    committed = make_repo(tmp_path, monkeypatch, REPORT, "print('ran')")
    real, calls = run.papermill.execute_notebook, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("Kernel died before replying to kernel_info")
        return real(*args, **kwargs)

    monkeypatch.setattr(run.papermill, "execute_notebook", flaky)
    assert run.main(["98"]) == 0 and len(calls) == 2 and "ran" in committed.read_text()
    assert "the kernel died while starting" in capfd.readouterr().err

    def always_dies(*args, **kwargs):
        calls.append(1)
        raise RuntimeError("Kernel died before replying to kernel_info")

    calls.clear()
    monkeypatch.setattr(run.papermill, "execute_notebook", always_dies)
    assert run.main(["98"]) == 1 and len(calls) == run.KERNEL_START_TRIES
    err = capfd.readouterr().err
    assert "FAILED: 98_toy: the kernel died while starting, 3 times; no cell ran" in err and "Traceback" not in err

    def other_error(*args, **kwargs):
        calls.append(1)
        raise RuntimeError("something else")

    calls.clear()
    monkeypatch.setattr(run.papermill, "execute_notebook", other_error)
    with pytest.raises(RuntimeError, match="something else"):  # only a death at start-up is retried
        run.main(["98"])
    assert len(calls) == 1


def test_a_progress_bars_timing_is_not_a_change_of_output():
    """tqdm's elapsed time and rate differ at every run (as text, and in a saved widget's state): a re-run whose
    outputs are otherwise the same must count as unchanged, or every re-run would rewrite notebooks 01 and 02."""
    def notebook(bar: str) -> dict:
        cell = nbformat.v4.new_code_cell("fit()", outputs=[nbformat.v4.new_output("stream", name="stderr", text=bar.replace("&lt;", "<"))])
        state = {"m1": {"model_name": "HTMLModel", "state": {"value": bar.replace(" ", "\u2007")}}}
        return nbformat.v4.new_notebook(cells=[cell], metadata={"widgets": {run.WIDGET_STATE: {"state": state}}})

    first = run.comparable(notebook("epoch 1: 100% 430/430 [00:03&lt;00:00, 137.82it/s]"))
    assert first == run.comparable(notebook("epoch 1: 100% 430/430 [00:01&lt;00:00, 384.56it/s]"))
    assert first == run.comparable(notebook("epoch 1: 100% 430/430 [01:02&lt;00:00,  6.91s/it]"))
    assert first != run.comparable(notebook("epoch 1: 100% 429/430 [00:03&lt;00:00, 137.82it/s]"))
