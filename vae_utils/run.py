"""The batch runner behind the main command: execute the collection (or some notebooks) with papermill.

    python -m vae_utils.run                         # every notebook, full profile, executed in place
    python -m vae_utils.run --profile smoke -o build/smoke
    python -m vae_utils.run 01 -p retrain True      # one notebook, with a parameter override
"""
from __future__ import annotations

import argparse
import ast
import sys
import time
from pathlib import Path

import papermill

from .config import PROFILES
from .results import notebook_table, update_readme

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO_ROOT / "notebooks"


def available_notebooks() -> list[str]:
    """Names (without .ipynb) of the collection's notebooks, in order."""
    return sorted(p.stem for p in NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))


def select_notebooks(requested: list[str]) -> list[str]:
    """Resolve names or number prefixes ('01') to notebook names; all when none are requested."""
    names = available_notebooks()
    if not requested:
        return names
    chosen = []
    for item in requested:
        matches = [n for n in names if n == item.removesuffix(".ipynb") or n.split("_")[0] == item]
        if len(matches) != 1:
            raise SystemExit(f"error: unknown notebook {item!r}; choose from: {', '.join(names)} (or their numbers)")
        chosen += matches
    return chosen


def parse_value(text: str):
    """A -p value as a Python literal when it is one (3, 0.5, True, None, [1, 2]), else the string itself."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def run_notebook(name: str, output_dir: Path, parameters: dict, kernel: str | None = None) -> float:
    """Execute one notebook with papermill into output_dir (cwd: notebooks/); returns seconds taken."""
    began = time.perf_counter()
    papermill.execute_notebook(
        str(NOTEBOOK_DIR / f"{name}.ipynb"), str(output_dir / f"{name}.ipynb"), parameters=parameters,
        cwd=str(NOTEBOOK_DIR), kernel_name=kernel, progress_bar=False, log_output=False)
    return time.perf_counter() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vae_utils.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", help="names or numbers of notebooks (default: all)")
    parser.add_argument("--profile", default="full", help=f"one of {', '.join(PROFILES)} (default: full)")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"),
                        help="override a notebook parameter (repeatable)")
    parser.add_argument("-o", "--output-dir", type=Path, default=None,
                        help="where executed notebooks go (default: notebooks/ in place for full, build/smoke for smoke)")
    parser.add_argument("--kernel", default=None, help="Jupyter kernel name (default: the notebook's)")
    args = parser.parse_args(argv)
    if args.profile not in PROFILES:
        parser.error(f"unknown profile {args.profile!r}; choose one of {', '.join(PROFILES)}")
    names = select_notebooks(args.notebooks)
    output_dir = (args.output_dir or (NOTEBOOK_DIR if args.profile == "full" else REPO_ROOT / "build" / "smoke")).resolve()
    output_dir.mkdir(parents=True, exist_ok=True)
    parameters = {"profile": args.profile, **{k: parse_value(v) for k, v in args.parameter}}
    if output_dir != NOTEBOOK_DIR.resolve() and "artifacts_dir" not in parameters:
        parameters["artifacts_dir"] = str(output_dir)  # results, figures and checkpoints stay beside the outputs
    for index, name in enumerate(names, 1):
        print(f"[{index}/{len(names)}] {name} ({args.profile}) ...", flush=True)
        try:
            seconds = run_notebook(name, output_dir, parameters, args.kernel)
        except papermill.PapermillExecutionError as error:
            first_line = error.source.strip().splitlines()[0] if error.source.strip() else ""
            print(f"FAILED: {name}, cell [{error.exec_count}] starting `{first_line}` ({error.ename}: {error.evalue})\n"
                  f"  executed notebook with the traceback: {output_dir / (name + '.ipynb')}", file=sys.stderr)
            return 1
        print(f"[{index}/{len(names)}] {name} done in {seconds:.0f} s -> {output_dir / (name + '.ipynb')}", flush=True)
    if output_dir == NOTEBOOK_DIR.resolve():
        update_readme(REPO_ROOT / "README.md", "notebooks", notebook_table(REPO_ROOT))
        print("README.md: notebook table updated from results/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
