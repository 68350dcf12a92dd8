"""A 2-run sweep on this machine: `-j 2` (two runs at once, cores/2 torch threads each) against `-j 1` (one after
the other, all cores each), through the runner itself.

    python benchmarks/sweep_parallel.py            # notebook 01's smoke profile on 4,096 training images, seeds 0 and 1

Writes benchmarks/sweep_results.json and docs/performance.md's sweep block, with the 1-minute load average before each
measurement (other work on the machine makes both numbers slower).
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from vae_utils import run
from vae_utils.results import cpu_model, update_readme

REPO = Path(__file__).resolve().parents[1]


def timed_sweep(jobs: int, notebook: str, train_size: int) -> float:
    """Wall seconds of a fresh 2-run sweep (seeds 0 and 1) with `jobs` runs at once."""
    with tempfile.TemporaryDirectory() as out:
        began = time.perf_counter()
        status = run.main([notebook, "--profile", "smoke", "-o", out, "--sweep", "seed=0,1", "-j", str(jobs),
                           "-p", "train_size", str(train_size)])
        if status != 0:
            raise SystemExit(f"the sweep with -j {jobs} failed (exit {status})")
        return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notebook", default="01")
    parser.add_argument("--train-size", type=int, default=4096)
    args = parser.parse_args()
    report = {"notebook": args.notebook, "train_size": args.train_size, "cores": os.cpu_count(), "machine": cpu_model()}
    for jobs in (1, 2):
        report[f"load_before_j{jobs}"] = round(os.getloadavg()[0], 1)
        report[f"seconds_j{jobs}"] = round(timed_sweep(jobs, args.notebook, args.train_size), 1)
        print(f"-j {jobs}: {report[f'seconds_j{jobs}']:.0f} s")
    report["speedup"] = round(report["seconds_j1"] / report["seconds_j2"], 2)
    (REPO / "benchmarks" / "sweep_results.json").write_text(json.dumps(report, indent=2) + "\n")
    update_readme(REPO / "docs" / "performance.md", "sweep-performance", (
        f"A 2-run sweep (notebook {args.notebook}, smoke profile on {args.train_size:,} training images, seeds 0 and 1) took "
        f"**{report['seconds_j1']:.0f} s** one after the other (`-j 1`, {report['cores']} threads each) and "
        f"**{report['seconds_j2']:.0f} s** side by side (`-j 2`, {max(1, report['cores'] // 2)} thread(s) each): "
        f"{report['speedup']:.2f}× ({report['machine']}, {report['cores']} cores; load average before the runs "
        f"{report['load_before_j1']} and {report['load_before_j2']})."))


if __name__ == "__main__":
    main()
