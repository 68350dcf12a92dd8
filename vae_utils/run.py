"""The batch runner behind the main command: execute the collection (or some notebooks) with papermill.

    python -m vae_utils.run                         # every notebook, full profile, executed in place
    python -m vae_utils.run --profile smoke -o build/smoke
    python -m vae_utils.run 01 -p retrain true      # one notebook, with a parameter override

Where things go: executed notebooks, results/ and figures/ go to the output folder (-o; in place, i.e. notebooks/
and the repository's results/ and figures/, for the full profile without -o). Trained weights go to the
checkpoint cache: the repository's checkpoints/ for the full profile wherever -o points (so -o never retrains what
is committed), the output folder's checkpoints/ for the smoke profile; --checkpoint-dir overrides both.

A notebook is executed into a temporary file and replaces its target only when it ran to the end; a failed or
interrupted run leaves the old notebook, and its results/ and figures/, as they were and keeps the failed notebook
under build/failed/ (in place) or <output>/failed/. Ctrl-C, or SIGTERM (from `timeout` or a scheduler), stops the run
with exit status 130 and one line per notebook saying what was saved. A run whose outputs equal the old notebook's (but for timestamps, run times and
widget ids) leaves the old file in place, so re-running a notebook does not dirty the checkout; every run's wall time
goes to the ignored run log build/run_log.jsonl (and to benchmarks/notebook_timings.json with --record-timings).
"""
from __future__ import annotations

import argparse
import ast
import difflib
import json
import logging
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import papermill
import yaml
from nbclient.exceptions import DeadKernelError

from . import prose, sweep
from .claims import ledger_markdown, load_claims
from .config import ARTIFACTS_VARIABLE, CLAIM_LABELS, PROFILES, check_parameter_range
from .results import notebook_links, notebook_table, reading_table, record_timing, timing_table, update_readme
from .train import saved_epochs

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO_ROOT / "notebooks"
RUN_LOG = Path("build") / "run_log.jsonl"  # under the repository: every run's wall time (ignored by git)
KERNEL_LOGS = Path("build") / "kernel_logs"  # under the repository: each notebook's kernel log, last run
PERFORMANCE_PAGE = Path("docs") / "performance.md"  # holds the generated timing table
TIMINGS = Path("benchmarks") / "notebook_timings.json"  # under the repository: in-place full runs, default parameters
RESERVED = {"profile": "--profile", "checkpoint_dir": "--checkpoint-dir"}
INTERRUPTED = 130  # the shell's status for a process ended by SIGINT


def available_notebooks() -> list[str]:
    """Names (without .ipynb) of the collection's notebooks, in order."""
    return sorted(p.stem for p in NOTEBOOK_DIR.glob("[0-9][0-9]*_*.ipynb"))


def select_notebooks(requested: list[str]) -> list[str]:
    """Resolve names or number prefixes ('01') to notebook names; all when none are requested."""
    names = available_notebooks()
    if not names:
        where = "" if NOTEBOOK_DIR.is_dir() else " (no such folder)"
        raise SystemExit(f"error: no notebooks named NN_*.ipynb in {NOTEBOOK_DIR}{where}; --notebook-dir names the "
                         f"folder that holds the collection's notebooks")
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
    """A -p value as papermill's CLI reads one, YAML-style: true/false (any case), none/null, ints, floats,
    lists and mappings ([1, 2], {a: 1}); anything else is the string itself."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null", "~"):
        return None
    for number in (int, float):
        try:
            return number(text)
        except ValueError:
            pass
    if text.strip()[:1] in "[{":
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError:
            pass
    return text


TYPE_NAMES = {"bool": bool, "int": int, "float": float, "str": str, "list": list, "dict": dict, "None": type(None)}


def declared_types(parameter: dict) -> tuple[type, ...] | None:
    """The types a notebook parameter accepts: from its type comment (`epochs = None  # type: Optional[int]`,
    which papermill reads) if it has one, else from its default's type; None when nothing says."""
    annotation = (parameter.get("inferred_type_name") or "None").replace(" ", "")
    if annotation != "None":
        optional = annotation.startswith("Optional[") and annotation.endswith("]")
        names = (annotation[len("Optional["):-1] if optional else annotation).split("|") + (["None"] if optional else [])
        if all(name in TYPE_NAMES for name in names):
            return tuple(TYPE_NAMES[name] for name in names)
    try:
        default = ast.literal_eval(parameter["default"])
    except (ValueError, SyntaxError):
        return None
    return None if default is None else (type(default),)


def coerce(key: str, text: str, parameter: dict, notebook: str):
    """The value of `-p key text` for a notebook parameter, checked against the type it declares.

    Strings stay the text typed (`-p tag 2024` is '2024' for a str parameter); an int is accepted where a float
    is expected. A wrong type raises SystemExit naming the parameter, the value and the expected type."""
    allowed = declared_types(parameter)
    if allowed is not None and str in allowed and parse_value(text) is not None:
        return text
    value = parse_value(text)
    if allowed is None:
        return value
    if float in allowed and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, bool) and bool not in allowed:
        ok = False
    else:
        ok = isinstance(value, allowed)
    if not ok:
        expected = " or ".join(t.__name__ if t is not type(None) else "None" for t in allowed)
        raise SystemExit(f"error: parameter {key!r} of {notebook} expects {expected} (its default: "
                         f"{parameter['default']}), got {text!r} ({type(value).__name__})")
    return value


def notebook_parameters(name: str) -> dict[str, dict]:
    """The parameters a notebook's `parameters` cell declares: name -> papermill's description (default, type, help)."""
    return papermill.inspect_notebook(str(NOTEBOOK_DIR / f"{name}.ipynb"))


def checked_parameters(names: list[str], overrides: list[tuple[str, str]], cwd: Path) -> dict[str, dict]:
    """For each notebook, its -p overrides parsed and type-checked, before anything runs.

    An unknown key (for any chosen notebook) is an error naming the notebook's parameters and a close match.
    Values of path parameters (names ending in `_dir`) are resolved against `cwd`, the caller's directory."""
    chosen: dict[str, dict] = {}
    for name in names:
        declared = notebook_parameters(name)
        values = {}
        for key, text in overrides:
            if key in RESERVED:
                raise SystemExit(f"error: set {key!r} with {RESERVED[key]}, not -p")
            if key not in declared:
                close = difflib.get_close_matches(key, declared, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise SystemExit(f"error: {name} has no parameter {key!r}.{hint} Its parameters: "
                                 f"{', '.join(k for k in declared if k not in RESERVED)}")
            value = coerce(key, text, declared[key], name)
            try:
                check_parameter_range(name, key, value)
            except ValueError as error:
                raise SystemExit(f"error: {error}") from None
            if key.endswith("_dir") and isinstance(value, str):
                value = str((cwd / Path(value).expanduser()).resolve())
            values[key] = value
        chosen[name] = values
    return chosen


@dataclass
class Outcome:
    """What one notebook's run left behind: its status and the checkpoints it wrote (paths that exist)."""

    name: str
    status: str = "not started"  # not started | running | done | failed | interrupted
    seconds: float = 0.0
    finished: list[Path] = field(default_factory=list)
    partial: list[Path] = field(default_factory=list)
    kept: Path | None = None  # the failed or interrupted executed notebook, kept for reading
    unchanged: bool = False  # done, and its outputs equal the old notebook's: the old file was left in place
    warnings: list[str] = field(default_factory=list)  # cache files set aside during the run (CacheSetAsideWarning)

    def saved(self) -> str:
        """One line: what this notebook saved and how to go on."""
        if self.status == "not started":
            return f"{self.name}: not started."
        parts = [f"{len(self.finished)} finished checkpoint(s) in {self.finished[0].parent}"] if self.finished else []
        for partial in self.partial:
            try:
                done, planned = saved_epochs(partial)
                parts.append(f"{done} of {planned} epochs in {partial}")
            except Exception:  # being written as we were stopped: name it, without a count
                parts.append(f"an unfinished training in {partial}")
        what = "; ".join(parts) if parts else "no checkpoint (no training epoch had finished)"
        kept = f"; executed cells kept in {self.kept}" if self.kept else ""
        return f"{self.name}: {self.status}; saved {what}{kept}."


def written_since(directory: Path, since: float) -> tuple[list[Path], list[Path]]:
    """(finished checkpoints, partial ones) in `directory` modified at or after `since` (epoch seconds)."""
    if not directory.is_dir():
        return [], []
    recent = sorted(p for p in directory.glob("*.pt") if p.stat().st_mtime >= since)
    return [p for p in recent if not p.name.endswith(".partial.pt")], [p for p in recent if p.name.endswith(".partial.pt")]


class DropDeadKernelTraceback(logging.Filter):
    """After a Ctrl-C the kernel is shut down under a running cell, and asyncio then logs that cell's
    DeadKernelError with a traceback, burying the runner's one-line summary: drop just those records. (A kernel
    that dies on its own still stops the run with the exception papermill raises.)"""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, DeadKernelError)


def kernel_options(log: Path) -> dict:
    """papermill engine options that send the kernel process's own stderr to the file `log`.

    Cell outputs travel over Jupyter messages, not that stream; what it carries is the kernel's logging: the
    'running over TCP without encryption' warning at every start, and the tracebacks a kernel prints when it is
    shut down mid-cell (Ctrl-C), which would bury the runner's one-line summary."""
    from jupyter_client.manager import AsyncKernelManager

    class LoggedKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kwargs):
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("w") as stream:  # the child keeps its own copy of the descriptor
                return await super().start_kernel(stderr=stream, **kwargs)

    return {"kernel_manager_class": LoggedKernelManager}


def notebook_artifacts(artifacts_dir: Path, name: str) -> list[Path]:
    """What a notebook writes besides itself: `results/<name>.json` and `figures/<name>/` under artifacts_dir."""
    return [artifacts_dir / "results" / f"{name}.json", artifacts_dir / "figures" / name]


def keep_copies(paths: list[Path], folder: Path) -> list[tuple[Path, Path | None]]:
    """Copy each of `paths` that exists (a file or a folder) into `folder`: [(path, its copy, or None if absent)]."""
    copies = []
    for index, path in enumerate(paths):
        copy = folder / f"{index}-{path.name}"
        if path.is_dir():
            shutil.copytree(path, copy)
        elif path.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, copy)
        copies.append((path, copy if path.exists() else None))
    return copies


def put_back(copies: list[tuple[Path, Path | None]]) -> None:
    """Undo what a failed run wrote: each path as `keep_copies` found it (removed where it did not exist)."""
    for path, copy in copies:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        if copy is not None:
            os.replace(copy, path)


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
VOLATILE_TEXT = [re.compile(r"This run took [0-9][0-9,.]* (s|min)\b"),  # a notebook's own stopwatch in its output
                 # a tqdm bar's elapsed time, time left and rate, as text or in a saved widget: "[00:03<00:00, 137.82it/s]"
                 re.compile(r"\[[0-9:]+(?:<|&lt;)[0-9:?]+,(?: |\\u2007)[^\]\"]*(?:it|s)/(?:s|it)\]")]


def comparable(notebook: dict) -> str:
    """A notebook as JSON text without what changes from run to run when every output is the same: papermill's and
    Jupyter's timestamps and durations (notebook and cell metadata but the parameters), cell ids (papermill gives its
    injected cell a new one each run), the ids of widget models (named by their place instead) and run times printed
    by the notebook or its progress bars (VOLATILE_TEXT)."""
    notebook = json.loads(json.dumps(notebook))
    papermill_metadata = notebook.get("metadata", {}).pop("papermill", {})
    notebook["metadata"]["papermill_parameters"] = papermill_metadata.get("parameters")
    roots = []
    for cell in notebook.get("cells", []):
        cell.pop("id", None)
        for key in ("papermill", "execution"):
            cell.get("metadata", {}).pop(key, None)
        roots += [output["data"][WIDGET_VIEW].get("model_id") for output in cell.get("outputs", [])
                  if WIDGET_VIEW in output.get("data", {})]
    state = notebook.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    names: dict[str, str] = {}

    def visit(model_id: str) -> None:
        if model_id in names:
            return
        names[model_id] = f"widget-{len(names)}"
        for child in re.findall(r"IPY_MODEL_(\w+)", json.dumps(state.get(model_id, {}).get("state", {}), sort_keys=True)):
            visit(child)

    for model_id in [*filter(None, roots), *sorted(state, key=lambda m: json.dumps(state[m], sort_keys=True))]:
        visit(model_id)
    text = json.dumps(notebook, sort_keys=True)
    for model_id, name in names.items():
        text = text.replace(model_id, name)
    for pattern in VOLATILE_TEXT:
        text = pattern.sub("(run time)", text)
    return json.dumps(json.loads(text), sort_keys=True)  # the widget state's keys in the order of their new names


def same_outputs(new: Path, old: Path) -> bool:
    """Whether two executed notebooks differ only in what `comparable` leaves out (False if either is unreadable)."""
    try:
        return comparable(json.loads(new.read_text())) == comparable(json.loads(old.read_text()))
    except (OSError, ValueError):
        return False


def cache_warnings(executed: Path) -> list[str]:
    """The CacheSetAsideWarning messages an executed notebook's cells printed (a damaged checkpoint or cached
    evaluation moved aside and recomputed), which a batch run would otherwise show only inside the notebook."""
    try:
        cells = json.loads(executed.read_text()).get("cells", [])
    except (OSError, ValueError):
        return []
    found = []
    for cell in cells:
        for output in cell.get("outputs", []):
            text = "".join(output.get("text", "")) if output.get("name") == "stderr" else ""
            found += [line.split("CacheSetAsideWarning: ", 1)[1] for line in text.splitlines() if "CacheSetAsideWarning: " in line]
    return found


KERNEL_START_TRIES = 3


def died_starting(error: BaseException) -> bool:
    """Whether `error` is a kernel that died before its first reply, before any cell ran. Kernels started side by side
    (a sweep's processes) can lose a race for the same TCP port, which jupyter_client picks free and releases before
    the kernel binds it (papermill issue 511); starting another is safe, as nothing has run yet."""
    return isinstance(error, RuntimeError) and "Kernel died before replying to kernel_info" in str(error)


def run_notebook(name: str, output_dir: Path, parameters: dict, failed_dir: Path, outcome: Outcome,
                 kernel_log: Path, kernel: str | None = None, artifacts_dir: Path | None = None) -> None:
    """Execute one notebook with papermill (cwd: notebooks/) into a temporary file, then move it over
    `output_dir/<name>.ipynb` atomically, unless its outputs equal those already there (see `comparable`): then the old
    file stays. On failure or interrupt the target is left as it was, so are the notebook's results and figures
    under `artifacts_dir` (copied aside before the run and put back), and the executed notebook goes to `failed_dir`;
    the exception propagates. A kernel that dies while starting is started again (`died_starting`), at most
    KERNEL_START_TRIES times in all. A success removes an older failed copy. The kernel's own log goes to `kernel_log`. The
    numbers in its Markdown prose are refreshed from the results the run wrote (`artifacts_dir/results/<name>.json`;
    see `prose`)."""
    workdir = Path(tempfile.mkdtemp(prefix=f".running-{name}-", dir=output_dir))
    executed, target = workdir / f"{name}.ipynb", output_dir / f"{name}.ipynb"
    began = time.perf_counter()
    try:
        before = keep_copies(notebook_artifacts(artifacts_dir, name), workdir / "before") if artifacts_dir else []
        outcome.status = "running"
        for attempt in range(1, KERNEL_START_TRIES + 1):
            try:
                papermill.execute_notebook(
                    str(NOTEBOOK_DIR / f"{name}.ipynb"), str(executed), parameters=parameters, cwd=str(NOTEBOOK_DIR),
                    kernel_name=kernel, progress_bar=False, log_output=False, **kernel_options(kernel_log))
                break
            except RuntimeError as error:
                if not died_starting(error) or attempt == KERNEL_START_TRIES:
                    raise
                print(f"{name}: the kernel died while starting (no cell had run: {error}); starting another "
                      f"({attempt + 1} of {KERNEL_START_TRIES})", file=sys.stderr, flush=True)
        if artifacts_dir is not None:  # the Markdown's marked numbers, from the results this run wrote (see prose)
            prose.refresh_notebook(executed, artifacts_dir / "results" / f"{name}.json")
        outcome.warnings = cache_warnings(executed)
        outcome.unchanged = target.is_file() and same_outputs(executed, target)
        if not outcome.unchanged:
            os.replace(executed, target)
        outcome.status = "done"
    except BaseException:
        if outcome.status == "running":
            put_back(before)
        if executed.is_file():
            outcome.warnings = cache_warnings(executed)
            failed_dir.mkdir(parents=True, exist_ok=True)
            outcome.kept = Path(shutil.move(str(executed), str(failed_dir / f"{name}.ipynb")))
        raise
    finally:
        outcome.seconds = time.perf_counter() - began
        shutil.rmtree(workdir, ignore_errors=True)
    (failed_dir / f"{name}.ipynb").unlink(missing_ok=True)  # the failure it kept is history now
    with suppress(OSError):
        failed_dir.rmdir()  # only when empty


@contextmanager
def exclusive(folder: Path):
    """Hold a lock on `folder` while the block runs: a second run into the same folder stops at once with a clear
    error instead of interleaving its files with the first one's. (An advisory flock on the folder itself, released
    when the process ends however it ends; where fcntl is missing, no lock.)"""
    try:
        import fcntl
    except ImportError:
        yield
        return
    handle = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SystemExit(f"error: another run is writing into {folder}; wait for it to end, or choose another "
                             f"folder with -o") from None
        yield
    finally:
        os.close(handle)


def writable_folder(folder: Path, what: str) -> Path:
    """Create `folder` if needed and check that files can be written in it; SystemExit with one line naming the
    folder and the cause (a file in the way, a read-only file system, no permission, a full disk) otherwise."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        cause = "it is a file, not a folder" if isinstance(error, FileExistsError) else \
            "a part of that path is a file, not a folder" if isinstance(error, NotADirectoryError) else \
            error.strerror or str(error)
        raise SystemExit(f"error: cannot write {what} into {folder}: {cause}") from None
    return folder


def log_run(log: Path, outcome: Outcome, profile: str, parameters: dict) -> None:
    """Append the run's wall time to the run log (build/run_log.jsonl, ignored by git), not to results/. A log that
    cannot be written (a full disk) costs a warning line, not the run."""
    entry = {"notebook": outcome.name, "profile": profile, "status": outcome.status, "wall_seconds": round(outcome.seconds, 1),
             "trained": len(outcome.finished), "unchanged": outcome.unchanged, "parameters": parameters,
             "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a") as f:
            f.write(json.dumps(entry, default=str) + "\n")
    except OSError as error:
        print(f"warning: could not append to the run log {log}: {error.strerror or error}", file=sys.stderr)


def resolve_data_root_variable(cwd: Path) -> None:
    """Make a relative $VAE_DATA_DIR absolute (against the caller's directory) before kernels start in notebooks/."""
    value = os.environ.get("VAE_DATA_DIR")
    if value and not Path(value).expanduser().is_absolute():
        os.environ["VAE_DATA_DIR"] = str((cwd / Path(value).expanduser()).resolve())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vae_utils.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", help="names or numbers of notebooks (default: all)")
    parser.add_argument("--profile", default="full", help=f"one of {', '.join(PROFILES)} (default: full)")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"),
                        help="override a notebook parameter (repeatable); values read YAML-style (true, none, 3, 0.5, [1, 2])")
    parser.add_argument("-o", "--output-dir", type=Path, default=None,
                        help="where executed notebooks, results/ and figures/ go "
                             "(default: in place for full, build/smoke for smoke)")
    parser.add_argument("--checkpoint-dir", type=Path, default=None,
                        help="the checkpoint cache (default: the repository's checkpoints/ for full, "
                             "<output>/checkpoints for smoke)")
    parser.add_argument("--kernel", default=None, help="Jupyter kernel name (default: the notebook's)")
    parser.add_argument("--notebook-dir", type=Path, default=None,
                        help="where the collection's notebooks are (default: the repository's notebooks/)")
    sweeping = parser.add_argument_group(
        "sweeps", "run one notebook for every combination of values; each run gets its own folder <output>/<run>/ "
                  "(default output: build/sweep/<notebook>), and summary.md / summary.csv tabulate every run's numbers "
                  "with mean ± std over seeds. Runs whose results exist are skipped; a failing run does not stop the "
                  "others (exit 1 at the end, with the list); Ctrl-C keeps every finished run (exit 130).")
    sweeping.add_argument("--sweep", action="append", default=[], metavar="KEY=V1,V2",
                          help="a parameter and its values (repeatable: the cross product is run)")
    sweeping.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                          help="runs at once on this machine, each with cores/jobs torch threads (default: the core count)")
    sweeping.add_argument("--scheduler", default=None, metavar="ADDRESS",
                          help="send each run to an existing Dask distributed scheduler (e.g. tcp://host:8786) instead; "
                               "needs pip install -e '.[cluster]'")
    sweeping.add_argument("--force", action="store_true", help="run again the runs whose results exist")
    sweeping.add_argument("--scheduler-timeout", type=float, default=sweep.WORKER_TIMEOUT, metavar="SECONDS",
                          help="with --scheduler: give up when no worker has joined within this time "
                               f"(default: {sweep.WORKER_TIMEOUT:.0f})")
    parser.add_argument("--record-timings", action="store_true",
                        help=f"also store each in-place full run's wall time in {TIMINGS} (committed; feeds the README's "
                             "re-run column and docs/performance.md's timing table); without it timings go only to the ignored run log")
    parser.add_argument("--tables-only", action="store_true",
                        help="execute nothing: rewrite the README's tables and docs/performance.md's timings from results/")
    args = parser.parse_args(argv)
    global NOTEBOOK_DIR
    if args.notebook_dir is not None:
        NOTEBOOK_DIR = args.notebook_dir.resolve()
    if args.tables_only:
        refresh_tables(NOTEBOOK_DIR.parent)
        return 0
    if args.profile not in PROFILES:
        parser.error(f"unknown profile {args.profile!r}; choose one of {', '.join(PROFILES)}")
    logging.getLogger("asyncio").addFilter(DropDeadKernelTraceback())
    cwd, root = Path.cwd(), NOTEBOOK_DIR.parent
    if args.kernel is not None:
        from jupyter_client.kernelspec import KernelSpecManager
        kernels = KernelSpecManager().find_kernel_specs()
        if args.kernel not in kernels:
            raise SystemExit(f"error: no Jupyter kernel named {args.kernel!r}; installed: {', '.join(sorted(kernels)) or 'none'}")
    names = select_notebooks(args.notebooks)
    overrides = checked_parameters(names, args.parameter, cwd)
    resolve_data_root_variable(cwd)
    if args.sweep:
        return sweep_main(args, names, cwd, root)
    in_place = args.output_dir is None and args.profile == "full"
    output_dir = NOTEBOOK_DIR.resolve() if in_place else (cwd / (args.output_dir or root / "build" / "smoke")).resolve()
    in_place = output_dir == NOTEBOOK_DIR.resolve()
    if args.profile != "full" and output_dir in (NOTEBOOK_DIR.resolve(), root.resolve()):
        raise SystemExit(f"error: a {args.profile} run into {output_dir} would replace the committed notebooks or "
                         f"results/, figures/ and checkpoints/ with its quick numbers; choose another -o (default: build/smoke)")
    artifacts_dir = root if in_place else output_dir
    checkpoint_dir = (cwd / args.checkpoint_dir).resolve() if args.checkpoint_dir else \
        root / "checkpoints" if args.profile == "full" else artifacts_dir / "checkpoints"
    failed_dir = root / "build" / "failed" if in_place else output_dir / "failed"
    note = missing_cache_note(args.profile, args.checkpoint_dir is not None, checkpoint_dir)
    if note:
        print(note, file=sys.stderr)
    writable_folder(output_dir, "the executed notebooks")
    # in place, the notebooks' default artifacts_dir is the repository root, unless $VAE_ARTIFACTS_DIR sends it elsewhere
    written_to = Path(os.environ.get(ARTIFACTS_VARIABLE) or root) if in_place else artifacts_dir
    with exclusive(output_dir), terminate_as_interrupt():
        return run_all(args, names, overrides, in_place, output_dir, artifacts_dir, written_to, checkpoint_dir,
                       failed_dir, root)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@contextmanager
def terminate_as_interrupt():
    """While running, treat SIGTERM (what `timeout`, `kill` and job schedulers send) like Ctrl-C: the running notebook's
    old file, results and figures are put back and every finished run is kept, instead of the process dying mid-write.
    The previous handler is restored afterwards (and nothing is installed outside the main thread)."""
    try:
        previous = signal.signal(signal.SIGTERM, _interrupt)
    except ValueError:  # not the main thread: signals cannot be handled here
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def missing_cache_note(profile: str, chosen: bool, checkpoint_dir: Path) -> str | None:
    """A warning when a full run's default checkpoint cache (<notebook folder>/../checkpoints) does not exist, e.g. with
    --notebook-dir pointing at a copy of the notebooks elsewhere: every model would silently train from scratch."""
    if profile != "full" or chosen or checkpoint_dir.is_dir():
        return None
    return (f"note: {checkpoint_dir} does not exist, so every model of this full run trains from scratch into it "
            f"(hours on a CPU). To load the committed weights, pass --checkpoint-dir <repository>/checkpoints.")


def run_all(args: argparse.Namespace, names: list[str], overrides: dict[str, dict], in_place: bool, output_dir: Path,
            artifacts_dir: Path, written_to: Path, checkpoint_dir: Path, failed_dir: Path, root: Path) -> int:
    """main's loop over the chosen notebooks, once the output folder is known to be writable and is locked:
    `artifacts_dir` is what the notebooks are told (unless in place), `written_to` where their results/ and figures/
    land."""
    outcomes = [Outcome(name) for name in names]
    for index, (name, outcome) in enumerate(zip(names, outcomes), 1):
        parameters = {"profile": args.profile, **overrides[name]}
        if not in_place:  # in place, the notebook's own relative defaults say the same and keep it portable
            parameters["artifacts_dir"] = str(artifacts_dir)
        if not in_place or args.checkpoint_dir:
            parameters["checkpoint_dir"] = str(checkpoint_dir)
        print(f"[{index}/{len(names)}] {name} ({args.profile}) ...", flush=True)
        started, failure = time.time(), None
        existed, kernel_log = (output_dir / f"{name}.ipynb").is_file(), root / KERNEL_LOGS / f"{name}.log"
        try:
            run_notebook(name, output_dir, parameters, failed_dir, outcome, kernel_log,
                         args.kernel, Path(parameters.get("artifacts_dir", written_to)))
        except KeyboardInterrupt:
            outcome.status = "interrupted"
        except papermill.PapermillExecutionError as error:
            outcome.status, failure = "failed", error
        except OSError as error:  # the runner's own files: the executed notebook, the copies, a full disk
            outcome.status, failure = "failed", error
        except RuntimeError as error:
            if not died_starting(error):
                raise
            outcome.status, failure = "failed", error
        finally:
            outcome.finished, outcome.partial = written_since(checkpoint_dir, started)
            log_run(root / RUN_LOG, outcome, args.profile, parameters)
        for warning in outcome.warnings:
            print(f"warning: {name}: {warning}", file=sys.stderr)
        if outcome.status == "interrupted":
            print("\nInterrupted. What each notebook saved (run the same command again to resume from it):", file=sys.stderr)
            for each in outcomes:
                print("  " + each.saved(), file=sys.stderr)
            return INTERRUPTED
        if failure is not None:
            target = output_dir / f"{name}.ipynb"
            artifacts = f"its results/ and figures/ in {parameters.get('artifacts_dir', written_to)}"
            left = f"{target} was left as it was, and so were {artifacts}" if existed else \
                f"no notebook was written to {target}, and {artifacts} were left as they were"
            if isinstance(failure, RuntimeError):
                print(f"FAILED: {name}: the kernel died while starting, {KERNEL_START_TRIES} times; no cell ran (its log: "
                      f"{kernel_log})\n  {left}", file=sys.stderr)
                return 1
            if isinstance(failure, OSError):
                where = f" ({failure.filename})" if failure.filename and str(failure.filename) not in str(failure) else ""
                print(f"FAILED: {name}: {failure}{where}\n  {left}", file=sys.stderr)
                return 1
            first_line = failure.source.strip().splitlines()[0] if failure.source.strip() else ""
            print(f"FAILED: {name}, cell [{failure.exec_count}] starting `{first_line}` ({failure.ename}: {failure.evalue})\n"
                  f"  {left}; the executed notebook with the traceback is {outcome.kept}", file=sys.stderr)
            return 1
        print(f"[{index}/{len(names)}] {name} done in {outcome.seconds:.0f} s -> {output_dir / (name + '.ipynb')}"
              + (f" (trained {len(outcome.finished)} checkpoint(s))" if outcome.finished else "")
              + (" (outputs unchanged: the file was left as it was)" if outcome.unchanged else ""), flush=True)
        if in_place and not overrides[name] and args.record_timings:
            record_timing(root / TIMINGS, name, outcome.seconds, len(outcome.finished))
    if in_place:
        refresh_tables(root)
    return 0


def refresh_tables(root: Path) -> None:
    """Rewrite the README's generated tables (reading order, key figures, the short ledger, each linking the notebooks
    by a short reference whose targets the `links` block defines once) and the timing table of
    docs/performance.md from results/ and the recorded timings; executes nothing."""
    update_readme(root / "README.md", "reading", reading_table(root, timings_path=root / TIMINGS, reference=True))
    update_readme(root / "README.md", "notebooks", notebook_table(root, reference=True))
    update_readme(root / "README.md", "claims",
                  ledger_markdown(load_claims(root), reference=True, labels=CLAIM_LABELS, targets=False))
    update_readme(root / "README.md", "links", notebook_links(root))
    if (root / PERFORMANCE_PAGE).is_file():
        update_readme(root / PERFORMANCE_PAGE, "timings",
                      timing_table(root / TIMINGS, root, root / "benchmarks" / "training_from_scratch.json"))
    print(f"README.md (reading order, notebook and claims tables) and {PERFORMANCE_PAGE} (timings) updated from "
          f"results/ and {TIMINGS}")


def sweep_main(args: argparse.Namespace, names: list[str], cwd: Path, root: Path) -> int:
    """The --sweep branch of main: check every combination's parameters first, then run them all."""
    if len(names) != 1:
        raise SystemExit(f"error: a sweep runs one notebook; got {len(names)} ({', '.join(names)})")
    if args.jobs < 1:
        raise SystemExit(f"error: -j/--jobs must be at least 1, got {args.jobs}")
    grid = sweep.parse_sweep(args.sweep)
    for point in sweep.combinations(grid):
        checked_parameters(names, [*args.parameter, *point.items()], cwd)
    if args.scheduler_timeout <= 0:
        raise SystemExit(f"error: --scheduler-timeout must be positive, got {args.scheduler_timeout:g}")
    out = writable_folder((cwd / (args.output_dir or root / "build" / "sweep" / names[0])).resolve(), "the sweep's runs")
    checkpoint_dir = str((cwd / args.checkpoint_dir).resolve()) if args.checkpoint_dir else \
        str(root / "checkpoints") if args.profile == "full" else None  # smoke: each run's own folder
    fixed = [(key, str((cwd / value).resolve()) if key.endswith("_dir") else value) for key, value in args.parameter]
    with exclusive(out):
        return sweep.run_sweep(names[0], args.profile, grid, fixed, out, args.jobs, args.scheduler, args.force,
                               checkpoint_dir, str(NOTEBOOK_DIR) if args.notebook_dir else None, args.scheduler_timeout)


if __name__ == "__main__":
    sys.exit(main())
