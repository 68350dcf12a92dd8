"""Markdown prose whose numbers are tied to the run's results.

A notebook's conclusions are Markdown cells, readable everywhere (JupyterLab, GitHub, nbviewer, the site). Each number
or verdict word in them is followed by an invisible marker naming the results key it shows and its format:

    the conv AE's test MSE falls to 0.0123<!--=mnist.conv_z32.mse:.4f--> at z = 32; the claim is
    **reproduced**<!--=claims.S4-v2-sharper.verdict-->.

The key is a dotted path into `results` of `results/<notebook>.json`; a list of dicts is entered by an item's `id`
(`claims.S4-v2-sharper.verdict`). The format is a Python format spec (after the last colon; none for text). The value
shown is the token right before the marker: a number (`+0.042`, `1,234`, `96.0%`, `3.1`) or a **bold** phrase.

`check_notebook` lists every marker whose text disagrees with the results (the prose test); `refresh_notebook`
rewrites each marked value from the results (the runner calls it after a run, so a full run refreshes the prose).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat

MARKER = re.compile(r"<!--=(?P<key>[^:>]+?)(?::(?P<fmt>[^>]*?))?-->")
NUMBER = r"[+\-−]?(?:\d[\d,]*)?\.?\d+(?:e[+\-−]?\d+)?%?"
TOKEN = re.compile(rf"(?:(?P<bold>\*\*)(?P<inner>[^*]+)\*\*|(?P<number>{NUMBER}))$")


def lookup(results: dict, key: str):
    """The value at a dotted key in `results`; lists of dicts are entered by an item's `id`."""
    value = results
    for part in key.split("."):
        if isinstance(value, list):
            matches = [item for item in value if isinstance(item, dict) and item.get("id") == part]
            if len(matches) != 1:
                raise KeyError(f"{key!r}: no single item with id {part!r}")
            value = matches[0]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            raise KeyError(f"{key!r}: no {part!r} in the results (has: {', '.join(map(str, value)) if isinstance(value, dict) else type(value).__name__})")
    return value


def render(value, fmt: str | None) -> str:
    """A results value as the prose shows it: format(value, fmt), with a typographic minus."""
    text = format(value, fmt or "")
    return text.replace("-", "−") if isinstance(value, (int, float)) and not isinstance(value, bool) else text


def _normalise(text: str) -> str:
    return text.replace("−", "-")


def markers(source: str):
    """(key, fmt, shown text, start, end of the shown text) for each marker in a Markdown source."""
    for match in MARKER.finditer(source):
        token = TOKEN.search(source[:match.start()])
        if token is None:
            yield match["key"], match["fmt"], None, match.start(), match.start()
            continue
        if token["bold"]:
            yield match["key"], match["fmt"], token["inner"], token.start("inner"), token.end("inner")
        else:
            yield match["key"], match["fmt"], token["number"], token.start("number"), token.end("number")


def check_source(source: str, results: dict) -> list[str]:
    """What disagrees in one Markdown source: unknown keys, a marker with no value before it, a value that is not
    what the results hold."""
    problems = []
    for key, fmt, shown, _, _ in markers(source):
        try:
            expected = render(lookup(results, key), fmt)
        except (KeyError, ValueError, TypeError) as error:
            problems.append(f"{key}: {error}")
            continue
        if shown is None:
            problems.append(f"{key}: no number or **bold** text right before its marker (expected {expected!r})")
        elif _normalise(shown) != _normalise(expected):
            problems.append(f"{key}: the prose says {shown!r}, the results say {expected!r}")
    return problems


def refresh_source(source: str, results: dict) -> str:
    """The source with every marked value rewritten from the results (from the last marker backwards). A marker whose
    key the results lack (a smoke run skips what its short budget cannot measure) is left as it was: `check_source`
    reports it."""
    for key, fmt, shown, start, end in reversed(list(markers(source))):
        if shown is None:
            continue
        try:
            value = render(lookup(results, key), fmt)
        except (KeyError, ValueError, TypeError):
            continue
        source = source[:start] + value + source[end:]
    return source


def _results_of(results_path: str | Path) -> dict:
    return json.loads(Path(results_path).read_text())["results"]


def check_notebook(notebook_path: str | Path, results_path: str | Path) -> list[str]:
    """Every disagreement between a notebook's Markdown and its results file, as 'cell N: key: ...' lines."""
    results = _results_of(results_path)
    notebook = nbformat.read(str(notebook_path), as_version=4)
    return [f"cell {index}: {problem}" for index, cell in enumerate(notebook.cells) if cell.cell_type == "markdown"
            for problem in check_source(cell.source, results)]


def refresh_notebook(notebook_path: str | Path, results_path: str | Path) -> int:
    """Rewrite the marked values of a notebook's Markdown from its results file; returns how many cells changed.
    A notebook without markers, or whose results file does not exist, is left as it is."""
    if not Path(results_path).is_file():
        return 0
    results = _results_of(results_path)
    notebook = nbformat.read(str(notebook_path), as_version=4)
    changed = 0
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and MARKER.search(cell.source):
            new = refresh_source(cell.source, results)
            if new != cell.source:
                cell.source, changed = new, changed + 1
    if changed:
        nbformat.write(notebook, str(notebook_path))
    return changed


def template_cells(notebook_path: str | Path) -> list[int]:
    """Indices of code cells that build prose with f-string templates (display(Markdown(f...))), which readers on
    GitHub and nbviewer see as templates."""
    notebook = nbformat.read(str(notebook_path), as_version=4)
    pattern = re.compile(r"Markdown\(\s*f[\"']")
    return [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code" and pattern.search(cell.source)]
