"""Headline numbers of a notebook run, written to `results/<notebook>.json`."""
from __future__ import annotations

import json
import platform
from datetime import datetime, timezone
from pathlib import Path

import torch


def write_results(notebook: str, results: dict, config: dict, wall_seconds: float,
                  artifacts_dir: str | Path = ".") -> Path:
    """Write {results, config, wall_seconds, machine, written_at} as JSON; returns the file's path."""
    path = Path(artifacts_dir) / "results" / f"{notebook}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "notebook": notebook, "results": results, "config": config, "wall_seconds": round(wall_seconds, 1),
        "machine": {"python": platform.python_version(), "torch": torch.__version__, "cpu_threads": torch.get_num_threads(),
                    "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None},
        "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    path.write_text(json.dumps(payload, indent=2, default=float) + "\n")
    return path


def read_results(notebook: str, artifacts_dir: str | Path = ".") -> dict:
    """The `results` part of `results/<notebook>.json`."""
    return json.loads((Path(artifacts_dir) / "results" / f"{notebook}.json").read_text())["results"]


def markdown_table(rows: list[dict], formats: dict[str, str] | None = None) -> str:
    """Rows of equal keys as a Markdown table; formats: column -> format spec (e.g. '.4f', ',')."""
    formats = formats or {}
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [format(row[c], formats.get(c, "")) if not isinstance(row[c], str) else row[c] for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
