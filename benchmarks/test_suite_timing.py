"""Time the two test commands, `make check` and `make test`, on this machine, one after the other, and write the
result into docs/testing.md's timing block (and benchmarks/test_suite_timing.json), with the machine and its load.

    python benchmarks/test_suite_timing.py            # both (about 25 minutes on 2 cores)
    python benchmarks/test_suite_timing.py check      # one of them
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from vae_utils.results import cpu_model, update_readme  # noqa: E402

RECORD = REPO / "benchmarks" / "test_suite_timing.json"
BUDGETS = {"check": 5, "test": 20}  # minutes, on an idle 2-core machine (issue 22)


def main(targets: list[str]) -> int:
    record = json.loads(RECORD.read_text()) if RECORD.is_file() else {}
    status = 0
    for target in targets:
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        result = subprocess.run(["make", "--no-print-directory", target], cwd=REPO)
        minutes = (time.perf_counter() - started) / 60
        record[target] = {"minutes": round(minutes, 1), "passed": result.returncode == 0,
                          "machine": f"{cpu_model()}, {os.cpu_count()} cores", "load_average_before": round(load_before, 1),
                          "date": datetime.now(timezone.utc).date().isoformat()}
        print(f"make {target}: {minutes:.1f} min, exit {result.returncode}", flush=True)
        status = status or result.returncode
    RECORD.write_text(json.dumps(record, indent=2) + "\n")
    rows = ["| command | wall time | budget | passed | measured on |", "|---|---|---|---|---|"]
    for target in ("check", "test"):
        if target in record:
            r = record[target]
            rows.append(f"| `make {target}` | {r['minutes']:.1f} min | ≤ {BUDGETS[target]} min | {'yes' if r['passed'] else '**no**'} | "
                        f"{r['machine']}, load average {r['load_average_before']:.1f} before, {r['date']} |")
    update_readme(REPO / "docs" / "testing.md", "test-timings", "\n".join(rows))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["check", "test"]))
