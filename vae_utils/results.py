"""Headline numbers of a notebook run, written to `results/<notebook>.json`."""
from __future__ import annotations

import json
import math
import os
import platform
import re
from datetime import datetime, timezone
from pathlib import Path

import torch


VOLATILE_FIELDS = ("wall_seconds", "machine", "written_at")  # differ run to run even when every number agrees


def cpu_model() -> str:
    """The processor's name from /proc/cpuinfo (Linux), else what platform knows."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _stable_part(payload: dict) -> dict:
    return {k: v for k, v in payload.items() if k not in VOLATILE_FIELDS}


def write_results(notebook: str, results: dict, config: dict, wall_seconds: float,
                  artifacts_dir: str | Path = ".") -> Path:
    """Write {results, config, wall_seconds, machine, written_at} as JSON; returns the file's path.

    The file is left untouched when only its wall time, machine or timestamp would change: re-running a notebook
    whose numbers are the same does not dirty the checkout."""
    path = Path(artifacts_dir) / "results" / f"{notebook}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "notebook": notebook, "results": results, "config": config, "wall_seconds": round(wall_seconds, 1),
        "machine": {"python": platform.python_version(), "torch": torch.__version__, "cpu_threads": torch.get_num_threads(),
                    "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None},
        "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    text = json.dumps(payload, indent=2, default=float) + "\n"
    if path.is_file():
        try:
            unchanged = _stable_part(json.loads(path.read_text())) == _stable_part(json.loads(text))
        except ValueError:
            unchanged = False
        if unchanged:
            return path
    path.write_text(text)
    return path


def record_timing(path: str | Path, notebook: str, wall_seconds: float, trained: int) -> None:
    """Store the runner's wall time of a full-profile run of `notebook` (and how many checkpoints it trained, and
    the 1-minute load average at its end: other work on the machine slows it) in the JSON file at `path`, which
    feeds the README's re-run column (`reading_table`) and docs/performance.md's timing table (`timing_table`)."""
    path = Path(path)
    timings = json.loads(path.read_text()) if path.is_file() else {}
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    timings[notebook] = {"wall_seconds": round(wall_seconds, 1), "trained_checkpoints": trained,
                         "machine": f"{cpu_model()}, {torch.get_num_threads()} threads",
                         "load_average": round(load, 1), "cores": os.cpu_count(),
                         "date": datetime.now(timezone.utc).date().isoformat()}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(sorted(timings.items())), indent=2) + "\n")


def timing_table(path: str | Path, artifacts_dir: str | Path = ".", scratch_path: str | Path | None = None) -> str:
    """The README's table of full-profile run times per notebook: its models' training time as their checkpoints
    recorded it (`train_seconds_total` in `results/<notebook>.json`, whatever else ran on the machine then), the
    training minutes of the last run from an empty cache (`scratch_path`, written by
    benchmarks/training_from_scratch.py, with the load it saw) and the runner's wall time of its last in-place run
    (see `record_timing`), which loads whatever `checkpoints/` holds."""
    path = Path(path)
    timings = json.loads(path.read_text()) if path.is_file() else {}
    scratch_path = Path(scratch_path) if scratch_path is not None else None
    scratch_runs = json.loads(scratch_path.read_text()) if scratch_path is not None and scratch_path.is_file() else {}
    trained = {}
    for result in sorted((Path(artifacts_dir) / "results").glob("[0-9][0-9]*_*.json")):
        payload = json.loads(result.read_text())
        trained[payload["notebook"]] = payload["results"].get("train_seconds_total")
    notebooks = sorted(set(timings) | set(trained))
    if not notebooks:
        return "No full-profile run has been timed yet (`make run` times each notebook)."
    rows = ["| notebook | its models' train time (from their checkpoints) | training from an empty cache | last full run by the runner | what that run did | measured on |",
            "|---|---|---|---|---|---|"]
    for notebook in notebooks:
        recorded = f"{trained[notebook] / 60:.0f} min" if trained.get(notebook) else "—"
        run = scratch_runs.get(notebook)
        scratch = "—" if run is None else f"{run['train_minutes']:.1f} min ({run['machine']}, {run['date']}" + (
            f"; load average {run['load_average_during_run']['mean']:.1f})" if run.get("load_average_during_run") else ")")
        t = timings.get(notebook)
        if t is None:
            rows.append(f"| {notebook} | {recorded} | {scratch} | not timed yet | | |")
            continue
        did = "loaded every model from checkpoints/" if t["trained_checkpoints"] == 0 else \
            f"trained {t['trained_checkpoints']} checkpoint(s)"
        shared = t.get("load_average", 0) > t.get("cores", 1) + 0.5
        load = f"; **machine shared** (load {t['load_average']:.1f} on {t['cores']} cores)" if shared else ""
        rows.append(f"| {notebook} | {recorded} | {scratch} | {t['wall_seconds']:.0f} s | {did} | {t['machine']}, {t['date']}{load} |")
    return "\n".join(rows)


def training_time_sentence(notebook: str, checkpoint_seconds: float, artifacts_dir: str | Path = ".") -> str:
    """How long a notebook's models took to train: as their checkpoints recorded it (whatever else ran on the machine
    then) and, when `benchmarks/training_from_scratch.py` has timed it, from an empty cache (its
    `benchmarks/training_from_scratch.json` under artifacts_dir), with the machine and the load it saw."""
    sentence = f"{checkpoint_seconds / 60:.1f} min as this notebook's checkpoints recorded it"
    record = Path(artifacts_dir) / "benchmarks" / "training_from_scratch.json"
    run = json.loads(record.read_text()).get(notebook) if record.is_file() else None
    if run is None:
        return sentence + " (not yet timed from an empty cache)"
    load = run.get("load_average_during_run")
    return (sentence + f"; trained from an empty cache by `benchmarks/training_from_scratch.py`: **{run['train_minutes']:.1f} min** "
            f"({run['machine']}" + (f", load average {load['mean']:.1f}" if load else "") + f", {run['date']})")


def markdown_table(rows: list[dict], formats: dict[str, str] | None = None) -> str:
    """Rows as a Markdown table, columns in the order they first appear; formats: column -> format spec (e.g. '.4f',
    ','). A cell a row lacks, or a NaN, shows as a dash."""
    formats = formats or {}
    columns = list(dict.fromkeys(c for row in rows for c in row))
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]

    def cell(row: dict, c: str) -> str:
        value = row.get(c)
        if isinstance(value, str):
            return value
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "—"
        return format(value, formats.get(c, ""))

    for row in rows:
        cells = [cell(row, c) for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def mean_std_table(summaries: dict[str, dict[str, tuple[float, float]]], columns: list[str], fmt: str = ".4g",
                   first_column: str = "model") -> str:
    """Models' numbers over seeds ({label: {column: (mean, std)}}, as `stats.seed_summary` gives them) as a Markdown
    table of "mean ± std" cells, one row per model; a single run (std NaN) shows its value alone, a missing one "—"."""
    def cell(mean: float, std: float) -> str:
        if math.isnan(mean):
            return "—"
        return f"{mean:{fmt}}" + (f" ± {std:.2g}" if math.isfinite(std) else "")
    return markdown_table([{first_column: label, **{c: cell(*s[c]) for c in columns}} for label, s in summaries.items()])


def _replace_block(text: str, marker: str, body: str) -> str:
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    if start not in text or end not in text:
        raise ValueError(f"README has no '{start}' ... '{end}' block")
    head, rest = text.split(start, 1)
    return head + start + "\n" + body.strip() + "\n" + end + rest.split(end, 1)[1]


_MINUS = re.compile(r"(?<![\w.])-(?=\d)")  # a hyphen before a digit, not inside a word or a range: a minus sign, set as "−"


def notebook_links(artifacts_dir: str | Path = ".") -> str:
    """The README's link targets, one per notebook (`[nb01]: notebooks/01_….ipynb`): the generated tables link each
    notebook by this short reference (`reference=True`) instead of repeating its path in every row."""
    return "\n".join(f"[nb{path.stem.split('_')[0]}]: notebooks/{path.name}"
                     for path in sorted((Path(artifacts_dir) / "notebooks").glob("[0-9][0-9]*_*.ipynb")))


def _notebook_link(text: str, name: str, reference: bool) -> str:
    return f"[{text}][nb{name.split('_')[0]}]" if reference else f"[{text}](notebooks/{name}.ipynb)"


def notebook_table(artifacts_dir: str | Path = ".", reference: bool = False) -> str:
    """The README's table of notebooks, one row each from `results/<notebook>.json`'s `headline` entry; with
    `reference`, each notebook is linked by its short reference (`notebook_links`)."""
    rows = ["| notebook | key figure | key measured number |", "|---|---|---|"]
    for path in sorted((Path(artifacts_dir) / "results").glob("[0-9][0-9]*_*.json")):
        payload = json.loads(path.read_text())
        headline = payload["results"].get("headline", {})
        figure = headline.get("figure", "")
        number = payload['notebook'].split('_')[0]
        rows.append(f"| {_notebook_link(number if reference else payload['notebook'], payload['notebook'], reference)} | "
                    f"{f'![key figure of {number}]({figure})' if figure else ''} | {_MINUS.sub('−', headline.get('number', ''))} |")
    return "\n".join(rows)


def reading_minutes(notebook_path: str | Path, words_per_minute: float = 200, seconds_per_code_line: float = 6) -> int:
    """How long a notebook takes to read, in minutes rounded up to 5: its Markdown at `words_per_minute` and its code
    at `seconds_per_code_line` (figures and tables are read with the text around them)."""
    cells = json.loads(Path(notebook_path).read_text())["cells"]
    words = sum(len("".join(c["source"]).split()) for c in cells if c["cell_type"] == "markdown")
    code_lines = sum(len("".join(c["source"]).splitlines()) for c in cells if c["cell_type"] == "code")
    minutes = words / words_per_minute + code_lines * seconds_per_code_line / 60
    return max(5, 5 * math.ceil(minutes / 5))


def reading_table(artifacts_dir: str | Path = ".", guide: dict[str, tuple[str, str]] | None = None,
                  timings_path: str | Path | None = None, reference: bool = False) -> str:
    """The README's reading order: one row per notebook (in order) with its question and what it teaches (`guide`,
    by default `config.NOTEBOOK_GUIDE`), its reading time (`reading_minutes`) and the wall time of its last in-place
    full run by the runner (`benchmarks/notebook_timings.json`), which loads the committed checkpoints. With
    `reference`, each notebook is linked by its short reference (`notebook_links`)."""
    from .config import NOTEBOOK_GUIDE
    guide = NOTEBOOK_GUIDE if guide is None else guide
    root = Path(artifacts_dir)
    timings_path = Path(timings_path) if timings_path is not None else root / "benchmarks" / "notebook_timings.json"
    timings = json.loads(timings_path.read_text()) if timings_path.is_file() else {}
    rows = ["| | notebook: the question | what you learn | read | re-run |", "|---|---|---|---|---|"]
    for path in sorted((root / "notebooks").glob("[0-9][0-9]*_*.ipynb")):
        name = path.stem
        question, learn = guide.get(name, (name, ""))
        t = timings.get(name)
        rerun = f"{t['wall_seconds'] / 60:.1f} min" if t and t.get("trained_checkpoints") == 0 else "—"
        rows.append(f"| {name.split('_')[0]} | {_notebook_link(question, name, reference)} | {learn} | "
                    f"{reading_minutes(path)} min | {rerun} |")
    return "\n".join(rows)


def update_readme(readme: str | Path, marker: str, body: str) -> None:
    """Replace the README's generated block `<!-- marker:start -->` ... `<!-- marker:end -->` with `body`."""
    readme = Path(readme)
    readme.write_text(_replace_block(readme.read_text(), marker, body))
