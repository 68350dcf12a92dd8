"""Sweeps: one notebook run for every combination of parameter values, on a local process pool or a Dask cluster.

    python -m vae_utils.run 02 --sweep seed=0,1,2 --sweep epochs=5,10 -o build/sweep -j 2
    python -m vae_utils.run 02 --sweep seed=0,1,2 -o build/sweep --scheduler tcp://scheduler:8786

Each run is the runner itself in a child process (`python -m vae_utils.run NB -o <out>/<run> -p ...`), so a run
is exactly what a single `python -m vae_utils.run` would do, with its own output folder. Locally at most `jobs`
run at once, each limited to cores // jobs torch threads; with a scheduler address each run is a task of an
existing `dask.distributed` cluster whose worker sends the run's files back. Finished runs are skipped when the
sweep is run again (unless force); a failing run does not stop the others.
"""
from __future__ import annotations

import csv
import io
import itertools
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .stats import mean_std

INTERRUPTED = 130
WORKER_TIMEOUT = 120.0  # seconds a sweep waits for a Dask worker to join before giving up (--scheduler-timeout)
CONNECT_TIMEOUT = 10.0  # seconds to reach the scheduler at all (at most WORKER_TIMEOUT)


def parse_sweep(items: list[str]) -> dict[str, list[str]]:
    """`["seed=0,1,2", "epochs=5,10"]` -> {"seed": ["0", "1", "2"], "epochs": ["5", "10"]} (values still text)."""
    grid: dict[str, list[str]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key.strip() or not values.strip():
            raise SystemExit(f"error: --sweep expects KEY=V1,V2,..., got {item!r}")
        if key.strip() in grid:
            raise SystemExit(f"error: --sweep names {key.strip()!r} twice")
        grid[key.strip()] = [v.strip() for v in values.split(",")]
        if len(set(grid[key.strip()])) < len(grid[key.strip()]):  # two runs would share one folder
            raise SystemExit(f"error: --sweep {key.strip()} repeats a value: {values.strip()}")
    return grid


def combinations(grid: dict[str, list[str]]) -> list[dict[str, str]]:
    """The cross product of the grid, one dict of parameter texts per run, in a stable order."""
    return [dict(zip(grid, values)) for values in itertools.product(*grid.values())]


def run_name(point: dict[str, str]) -> str:
    """A folder name for one run, e.g. 'seed=0_epochs=5' (characters a file system dislikes become '-')."""
    return "_".join(re.sub(r"[^\w.=+-]", "-", f"{k}={v}") for k, v in point.items())


@dataclass
class RunRequest:
    """One sweep point: what the child runner is called with."""

    notebook: str
    profile: str
    point: dict[str, str]
    fixed: list[tuple[str, str]]
    threads: int
    checkpoint_dir: str | None
    notebook_dir: str | None

    def command(self, output_dir: str) -> list[str]:
        command = [sys.executable, "-m", "vae_utils.run", self.notebook, "--profile", self.profile, "-o", output_dir]
        if self.checkpoint_dir:
            command += ["--checkpoint-dir", self.checkpoint_dir]
        if self.notebook_dir:
            command += ["--notebook-dir", self.notebook_dir]
        for key, value in [*self.fixed, *self.point.items()]:
            command += ["-p", key, value]
        return command


_children: set[subprocess.Popen] = set()
_children_lock = threading.Lock()
_stopping = threading.Event()


def execute(request: RunRequest, output_dir: str | None = None) -> dict:
    """Run one sweep point in a child runner limited to `request.threads` threads.

    output_dir: where the run writes; None (a cluster worker) runs in a temporary folder whose files come back in
    the result as {relative path: bytes}. Returns {"returncode", "error" (the child's FAILED line), "files"}."""
    temporary = output_dir is None
    folder = tempfile.mkdtemp(prefix="vae-sweep-") if temporary else output_dir
    env = {**os.environ, "OMP_NUM_THREADS": str(request.threads), "MKL_NUM_THREADS": str(request.threads)}
    with _children_lock:
        if _stopping.is_set():
            return {"returncode": INTERRUPTED, "error": "not started (interrupted)", "files": {}}
        # its own session: a Ctrl-C in the terminal reaches the child once, forwarded by interrupt_children
        process = subprocess.Popen(request.command(folder), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, start_new_session=True)
        _children.add(process)
    try:
        _, err = process.communicate()
    finally:
        with _children_lock:
            _children.discard(process)
    failed = [line for line in err.splitlines() if line.startswith(("FAILED", "error"))]
    outcome = {"returncode": process.returncode, "error": failed[0] if failed else err.strip()[-500:], "files": {}}
    if temporary:
        root = Path(folder)
        outcome["files"] = {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*")
                            if p.is_file() and "failed" not in p.relative_to(root).parts[:1]}
        shutil.rmtree(folder, ignore_errors=True)
    return outcome


def interrupt_children() -> None:
    """Pass a Ctrl-C on to every child runner (each saves its progress and exits 130) and wait for them."""
    with _children_lock:
        children = list(_children)
    for child in children:
        child.send_signal(signal.SIGINT)
    for child in children:
        try:
            child.wait(timeout=60)
        except subprocess.TimeoutExpired:
            child.kill()


def results_path(run_dir: Path, notebook: str) -> Path:
    return run_dir / "results" / f"{notebook}.json"


def numeric_leaves(value, prefix: str = "") -> dict[str, float]:
    """Every number in a nested results dict, keyed by its dotted path (claims, headline and lists left out)."""
    if isinstance(value, dict):
        leaves = {}
        for key, inner in value.items():
            if key in ("claims", "headline"):
                continue
            leaves.update(numeric_leaves(inner, f"{prefix}{key}."))
        return leaves
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return {prefix.rstrip("."): float(value)}
    return {}


def summarise(rows: list[dict], parameters: list[str], out: Path, max_columns: int = 8) -> tuple[Path, Path]:
    """Write `summary.csv` (every number of every run) and `summary.md` (the numbers that differ between runs, at
    most `max_columns`, and, where runs differ only in their seed, mean ± std over the seeds). Returns both paths."""
    numbers = sorted({k for row in rows for k in row["numbers"]})
    csv_path, md_path = out / "summary.csv", out / "summary.md"
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["run", *parameters, *numbers])
    for row in rows:
        writer.writerow([row["run"], *(row["point"].get(p, "") for p in parameters), *(row["numbers"].get(n, "") for n in numbers)])
    csv_path.write_text(buffer.getvalue())
    varying = [n for n in numbers if len({row["numbers"].get(n) for row in rows}) > 1][:max_columns]
    lines = [f"# Sweep summary ({len(rows)} runs; every number is in summary.csv)", "",
             "| " + " | ".join([*parameters, *varying]) + " |", "|" + "---|" * (len(parameters) + len(varying))]
    for row in rows:
        cells = [row["point"].get(p, "") for p in parameters] + [f"{row['numbers'][n]:.4g}" if n in row["numbers"] else "" for n in varying]
        lines.append("| " + " | ".join(cells) + " |")
    if "seed" in parameters and len(rows) > 1:
        others = [p for p in parameters if p != "seed"]
        groups: dict[tuple, list[dict]] = {}
        for row in rows:
            groups.setdefault(tuple(row["point"].get(p, "") for p in others), []).append(row)
        lines += ["", "## Mean ± std over seeds (sample std; n runs)", "",
                  "| " + " | ".join([*others, "n", *varying]) + " |", "|" + "---|" * (len(others) + 1 + len(varying))]
        for key, members in groups.items():
            cells = list(key) + [str(len(members))]
            for n in varying:
                values = [m["numbers"][n] for m in members if n in m["numbers"]]
                if len(values) > 1:
                    mean, std = mean_std(values)
                    cells.append(f"{mean:.4g} ± {std:.2g}")
                else:
                    cells.append(f"{values[0]:.4g}" if values else "")
            lines.append("| " + " | ".join(cells) + " |")
    md_path.write_text("\n".join(lines) + "\n")
    return csv_path, md_path


def dask_client(scheduler: str, queued: int, timeout: float):
    """A dask.distributed Client of the scheduler at `scheduler` with at least one worker, waiting for one (and saying
    so) at most `timeout` seconds; SystemExit with one line when the scheduler cannot be reached or no worker joins."""
    from dask.distributed import Client  # the optional 'cluster' extra

    connect = min(CONNECT_TIMEOUT, timeout)
    try:
        client = Client(scheduler, timeout=f"{connect}s")
    except (OSError, TimeoutError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise SystemExit(f"error: no Dask scheduler answered at {scheduler} within {connect:g} s ({reason}); start one "
                         f"(`dask scheduler`, plus `dask worker {scheduler}`) or check the address") from None
    if not client.scheduler_info().get("workers"):
        print(f"waiting up to {timeout:g} s for a worker to join {scheduler} ({queued} run(s) queued; "
              f"--scheduler-timeout changes the wait)", flush=True)
        try:
            client.wait_for_workers(1, timeout=timeout)
        except (OSError, TimeoutError):
            client.close()
            raise SystemExit(f"error: no worker joined the Dask scheduler at {scheduler} within {timeout:g} s; nothing "
                             f"was run. Start workers with `dask worker {scheduler}` (each needs this repository "
                             f"installed) and run the same command again") from None
    return client


def run_sweep(notebook: str, profile: str, grid: dict[str, list[str]], fixed: list[tuple[str, str]], out: Path,
              jobs: int, scheduler: str | None = None, force: bool = False, checkpoint_dir: str | None = None,
              notebook_dir: str | None = None, scheduler_timeout: float = WORKER_TIMEOUT) -> int:
    """Run the cross product of `grid` for one notebook into `out/<run>/`, then write the summary. Returns the exit
    status: 0 when every run succeeded, 1 when some failed (listed), 130 when interrupted (finished runs kept).
    With a scheduler, SystemExit when it cannot be reached or no worker joins within `scheduler_timeout` seconds."""
    out.mkdir(parents=True, exist_ok=True)
    points = combinations(grid)
    todo = [p for p in points if force or not results_path(out / run_name(p), notebook).is_file()]
    for point in points:
        if point not in todo:
            print(f"skip {run_name(point)}: its results exist (--force runs it again)", flush=True)
    threads = 1 if scheduler else max(1, (os.cpu_count() or 1) // max(1, jobs))
    requests = [RunRequest(notebook, profile, p, fixed, threads, checkpoint_dir, notebook_dir) for p in todo]
    where = f"Dask scheduler {scheduler}" if scheduler else f"{jobs} local process(es), {threads} torch thread(s) each"
    print(f"{notebook}: {len(requests)} of {len(points)} run(s) on {where} -> {out}", flush=True)
    failures: list[str] = []

    def record(request: RunRequest, outcome: dict) -> None:
        run_dir = out / run_name(request.point)
        for relative, content in outcome["files"].items():
            (run_dir / relative).parent.mkdir(parents=True, exist_ok=True)
            (run_dir / relative).write_bytes(content)
        if outcome["returncode"] == 0:
            print(f"done {run_name(request.point)}", flush=True)
        else:
            failures.append(f"{run_name(request.point)}: {outcome['error']}")
            print(f"FAILED {run_name(request.point)}: {outcome['error']}", file=sys.stderr, flush=True)

    pool = None if scheduler else ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        if scheduler and requests:
            from dask.distributed import as_completed  # the optional 'cluster' extra
            with dask_client(scheduler, len(requests), scheduler_timeout) as client:
                futures = {client.submit(execute, r, pure=False): r for r in requests}
                for future in as_completed(futures):
                    record(futures[future], future.result())
        elif not scheduler:
            futures = {pool.submit(execute, r, str(out / run_name(r.point))): r for r in requests}
            for future, request in futures.items():
                record(request, future.result())
    except KeyboardInterrupt:
        _stopping.set()
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        interrupt_children()
        finished = [run_name(p) for p in points if results_path(out / run_name(p), notebook).is_file()]
        print(f"\nInterrupted: {len(finished)} of {len(points)} run(s) finished and kept in {out} "
              f"({', '.join(finished) or 'none'}); run the same sweep again to do the rest.", file=sys.stderr)
        return INTERRUPTED
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    rows = []
    for point in points:
        path = results_path(out / run_name(point), notebook)
        if path.is_file():
            rows.append({"run": run_name(point), "point": point, "numbers": numeric_leaves(json.loads(path.read_text())["results"])})
    if rows:
        csv_path, md_path = summarise(rows, list(grid), out)
        print(f"summary: {md_path} and {csv_path}")
    if failures:
        print(f"{len(failures)} run(s) failed:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    return 0
