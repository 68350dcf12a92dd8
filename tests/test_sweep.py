"""Sweeps of a toy notebook through the runner: cross product, summary, skipping, failures, threads, Dask, Ctrl-C."""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from vae_utils import run, sweep

PARAMETERS = '''profile = "full"
seed = 0
rate = 0.5
pause = 0.0
artifacts_dir = ".."
checkpoint_dir = None  # type: Optional[str] the checkpoint cache'''

BODY = '''import time, torch
from vae_utils.results import write_results
time.sleep(pause)
if seed == 13:
    raise RuntimeError("unlucky seed")
write_results("98_toy", {"score": rate * 10 + seed, "threads": torch.get_num_threads(), "claims": [], "headline": {}},
              {"seed": seed}, 0.0, artifacts_dir)'''


@pytest.fixture
def toy(tmp_path: Path) -> Path:
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}), nbformat.v4.new_code_cell(BODY)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (tmp_path / "notebooks").mkdir()
    nbformat.write(notebook, tmp_path / "notebooks" / "98_toy.ipynb")
    return tmp_path / "notebooks"


def sweep_args(toy: Path, out: Path, *extra: str) -> list[str]:
    return ["98", "--notebook-dir", str(toy), "-o", str(out), "--profile", "smoke", *extra]


def test_grid_parsing_and_names():
    grid = sweep.parse_sweep(["seed=0,1", "epochs=5,10"])
    assert sweep.combinations(grid) == [{"seed": "0", "epochs": "5"}, {"seed": "0", "epochs": "10"},
                                        {"seed": "1", "epochs": "5"}, {"seed": "1", "epochs": "10"}]
    assert sweep.run_name({"seed": "0", "data_dir": "a/b"}) == "seed=0_data_dir=a-b"
    with pytest.raises(SystemExit, match="KEY=V1,V2"):
        sweep.parse_sweep(["seed"])


@pytest.mark.slow
def test_local_sweep_summarises_and_skips_finished_runs(toy, tmp_path, capsys):
    out = tmp_path / "out"
    assert run.main(sweep_args(toy, out, "--sweep", "seed=0,1,2", "--sweep", "rate=0.5,1", "-j", "2")) == 0
    runs = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert len(runs) == 6 and "seed=2_rate=1" in runs
    assert (out / "seed=2_rate=1" / "98_toy.ipynb").is_file()
    result = json.loads((out / "seed=2_rate=1" / "results" / "98_toy.json").read_text())["results"]
    assert result["score"] == 12.0 and result["threads"] == 1  # 2 cores / 2 jobs
    summary = (out / "summary.md").read_text()
    assert "| 0.5 | 3 | 6 ± 1 |" in summary and "| 1 | 3 | 11 ± 1 |" in summary  # scores 5,6,7 and 10,11,12
    assert len((out / "summary.csv").read_text().splitlines()) == 7
    capsys.readouterr()
    assert run.main(sweep_args(toy, out, "--sweep", "seed=0,1,2", "--sweep", "rate=0.5,1")) == 0
    assert capsys.readouterr().out.count("skip ") == 6
    assert run.main(sweep_args(toy, out, "--sweep", "seed=0", "--force")) == 0
    assert "0 of 1" not in capsys.readouterr().out


@pytest.mark.slow
def test_a_failing_run_does_not_stop_the_others(toy, tmp_path, capsys):
    out = tmp_path / "out"
    assert run.main(sweep_args(toy, out, "--sweep", "seed=0,13,2", "-j", "1")) == 1
    err = capsys.readouterr().err
    assert "1 run(s) failed" in err and "seed=13: FAILED: 98_toy, cell" in err and "unlucky seed" in err
    assert (out / "seed=0" / "results" / "98_toy.json").is_file() and (out / "seed=2" / "results" / "98_toy.json").is_file()


def test_sweep_values_are_checked_before_anything_runs(toy, tmp_path):
    with pytest.raises(SystemExit, match="expects int"):
        run.main(sweep_args(toy, tmp_path / "out", "--sweep", "seed=0,x"))
    with pytest.raises(SystemExit, match="has no parameter 'sead'"):
        run.main(sweep_args(toy, tmp_path / "out", "--sweep", "sead=0,1"))
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_sweep_on_a_dask_local_cluster(toy, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        out = tmp_path / "out"
        assert run.main(sweep_args(toy, out, "--sweep", "seed=0,1", "--scheduler", cluster.scheduler_address)) == 0
    for seed in (0, 1):  # the workers ran in their own temporary folders and sent the files back
        assert json.loads((out / f"seed={seed}" / "results" / "98_toy.json").read_text())["results"]["score"] == 5 + seed
        assert (out / f"seed={seed}" / "98_toy.ipynb").is_file()
    assert (out / "summary.md").is_file()


@pytest.mark.slow
def test_ctrl_c_keeps_finished_runs(toy, tmp_path):
    out = tmp_path / "out"
    script = f"import sys; from vae_utils import run; sys.exit(run.main({sweep_args(toy, out, '--sweep', 'pause=0,60', '-j', '1')!r}))"
    # a child of a background job inherits SIGINT ignored, and Python then installs no KeyboardInterrupt handler
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not (out / "pause=0" / "results" / "98_toy.json").is_file() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(3)  # the second run's kernel is running its 60-second cell
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=90)
    assert process.returncode == 130, err
    assert "1 of 2 run(s) finished and kept" in err and "Traceback" not in err
    assert not (out / "pause=60" / "results" / "98_toy.json").exists()


def run_in_child(arguments: list[str], timeout: float) -> subprocess.CompletedProcess:
    """The runner in a child process, killed after `timeout` seconds (a hang fails the test instead of stalling it)."""
    script = f"import sys; from vae_utils import run; sys.exit(run.main({arguments!r}))"
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_a_scheduler_without_workers_says_so_and_gives_up(toy, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=0, processes=True, dashboard_address=None) as cluster:
        began = time.monotonic()
        result = run_in_child(sweep_args(toy, tmp_path / "out", "--sweep", "seed=0,1", "--scheduler",
                                         cluster.scheduler_address, "--scheduler-timeout", "3"), timeout=90)
    assert result.returncode != 0 and time.monotonic() - began < 60
    assert "waiting up to 3 s for a worker" in result.stdout and "2 run(s) queued" in result.stdout
    assert "no worker joined the Dask scheduler" in result.stderr and "Traceback" not in result.stderr


def test_an_unreachable_scheduler_is_one_line(toy, tmp_path):
    pytest.importorskip("dask.distributed")
    import socket
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_in_child(sweep_args(toy, tmp_path / "out", "--sweep", "seed=0,1", "--scheduler", f"tcp://127.0.0.1:{port}",
                                     "--scheduler-timeout", "2"), timeout=90)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    error, = [line for line in result.stderr.splitlines() if line.strip()]
    assert error.startswith(f"error: no Dask scheduler answered at tcp://127.0.0.1:{port} within 2 s")


def test_a_repeated_sweep_value_is_refused(toy, tmp_path):
    """`--sweep seed=0,0` ran two runs into one folder."""
    with pytest.raises(SystemExit, match="repeats a value: 0,0"):
        run.main(sweep_args(toy, tmp_path / "out", "--sweep", "seed=0,0"))
