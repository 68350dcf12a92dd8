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


def _replace_block(text: str, marker: str, body: str) -> str:
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    if start not in text or end not in text:
        raise ValueError(f"README has no '{start}' ... '{end}' block")
    head, rest = text.split(start, 1)
    return head + start + "\n" + body.strip() + "\n" + end + rest.split(end, 1)[1]


def notebook_table(artifacts_dir: str | Path = ".") -> str:
    """The README's table of notebooks, one row each from `results/<notebook>.json`'s `headline` entry."""
    rows = ["| notebook | key figure | key measured number |", "|---|---|---|"]
    for path in sorted((Path(artifacts_dir) / "results").glob("[0-9][0-9]_*.json")):
        payload = json.loads(path.read_text())
        headline = payload["results"].get("headline", {})
        figure = headline.get("figure", "")
        rows.append(f"| [{payload['notebook']}](notebooks/{payload['notebook']}.ipynb) | "
                    f"{f'![{figure}]({figure})' if figure else ''} | {headline.get('number', '')} |")
    return "\n".join(rows)


def update_readme(readme: str | Path, marker: str, body: str) -> None:
    """Replace the README's generated block `<!-- marker:start -->` ... `<!-- marker:end -->` with `body`."""
    readme = Path(readme)
    readme.write_text(_replace_block(readme.read_text(), marker, body))
