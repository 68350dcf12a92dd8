"""Every model of some notebooks trained from scratch, timed: the check of the issues' training budgets.

    python benchmarks/training_from_scratch.py 06 07            # the full profile, into a temporary folder
    python benchmarks/training_from_scratch.py 06 07 --output /tmp/retrain   # record a run made with the same command

Runs the runner (full profile) with an empty checkpoint cache, so nothing is loaded and every model trains, and
records each notebook's training seconds (`train_seconds_total` in its results) with the machine, its thread count
and the load average sampled during the run, in benchmarks/training_from_scratch.json, and regenerates docs/performance.md's
timing table from it. Nothing else in the checkout changes.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from vae_utils.results import cpu_model, timing_table, update_readme
from vae_utils.run import TIMINGS, select_notebooks

REPO = Path(__file__).resolve().parents[1]
RECORD = REPO / "benchmarks" / "training_from_scratch.json"


def run_from_scratch(names: list[str], output: Path) -> list[float]:
    """The runner on `names` into `output` with a fresh checkpoint cache; the 1-minute load averages seen every 30 s."""
    command = [sys.executable, "-m", "vae_utils.run", *names, "-o", str(output), "--checkpoint-dir", str(output / "fresh-checkpoints")]
    child = subprocess.Popen(command, cwd=REPO)
    loads = []
    while child.poll() is None:
        loads.append(os.getloadavg()[0])
        time.sleep(30)
    if child.returncode:
        raise SystemExit(f"the run failed ({' '.join(command)}: exit {child.returncode})")
    return loads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="+", help="names or numbers of notebooks")
    parser.add_argument("--output", type=Path, help="record an earlier run made into this folder instead of running")
    args = parser.parse_args()
    names = select_notebooks(args.notebooks)
    loads = None
    if args.output is None:
        with tempfile.TemporaryDirectory() as folder:
            loads = run_from_scratch(names, Path(folder))
            results = {name: json.loads((Path(folder) / "results" / f"{name}.json").read_text()) for name in names}
    else:
        results = {name: json.loads((args.output / "results" / f"{name}.json").read_text()) for name in names}
    record = json.loads(RECORD.read_text()) if RECORD.is_file() else {}
    for name, result in results.items():
        record[name] = {"train_minutes": round(result["results"]["train_seconds_total"] / 60, 1),
                        "notebook_wall_minutes": round(result["wall_seconds"] / 60, 1),
                        "machine": f"{cpu_model()}, {torch.get_num_threads()} threads, {os.cpu_count()} cores",
                        "load_average_during_run": None if loads is None else {"max": round(max(loads), 1), "mean": round(sum(loads) / len(loads), 1)},
                        "date": datetime.now(timezone.utc).date().isoformat()}
        print(f"{name}: {record[name]['train_minutes']} min of training ({record[name]['machine']})")
    RECORD.write_text(json.dumps(dict(sorted(record.items())), indent=2) + "\n")
    update_readme(REPO / "docs" / "performance.md", "timings", timing_table(REPO / TIMINGS, REPO, RECORD))


if __name__ == "__main__":
    main()
