"""Checkpoints keyed by their config: a hash of the config's JSON names the file; saves are atomic; loads are safe."""
from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any, Callable

import torch


def canonical_json(config: dict) -> str:
    """The config as JSON with sorted keys and no whitespace: equal configs give equal strings."""
    return json.dumps(config, sort_keys=True, separators=(",", ":"), default=list)


def config_key(config: dict) -> str:
    """A 16-hex-digit hash of the config's canonical JSON."""
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()[:16]


def checkpoint_path(directory: str | os.PathLike, name: str, config: dict, suffix: str = ".pt") -> Path:
    """`<directory>/<name>-<key><suffix>`: the file a config's weights (or cached results) live in."""
    return Path(directory) / f"{name}-{config_key(config)}{suffix}"


def atomic_write(path: str | os.PathLike, write: Callable[[Any], None]) -> None:
    """Call write(file) on an in-memory file, then write its bytes to a temporary file beside `path` and rename it
    over `path`: an interrupted write never leaves a half-written file behind. An OS error (a full disk, a read-only
    folder) is raised as an OSError naming `path` and its cause: torch.save writing to disk itself would hide
    'No space left on device' behind an 'unexpected pos' RuntimeError."""
    path = Path(path)
    buffer = io.BytesIO()
    write(buffer)
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
        with os.fdopen(handle, "wb") as f:
            f.write(buffer.getbuffer())
        os.replace(temporary, path)
    except BaseException as error:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
        if isinstance(error, OSError) and error.filename is None:
            raise OSError(error.errno, error.strerror or str(error), str(path)) from error
        raise


def save_checkpoint(path: str | os.PathLike, config: dict, state: dict) -> None:
    """Save tensors and plain data (`state`) with the config that produced them, atomically."""
    atomic_write(path, lambda f: torch.save({"config_json": canonical_json(config), **state}, f))


def compact_state(state_dict: dict) -> dict:
    """A model's state with floating tensors rounded to float16: checkpoints take half the space. `fit` evaluates
    the trained model after the same rounding, so a fresh run and a cached one give identical numbers."""
    return {k: v.half() if torch.is_floating_point(v) else v for k, v in state_dict.items()}


class CacheSetAsideWarning(UserWarning):
    """A cache file (checkpoint, cached evaluation) was unreadable and moved aside; the runner repeats these on the
    console, since in a notebook they show only inside the executed notebook."""


def set_aside(path: str | os.PathLike, error: BaseException) -> Path:
    """Move an unreadable cache file to `<path>.corrupt` (replacing an older one) and warn naming both; returns
    the new path. Used so that a truncated or damaged file costs a retraining, never a crash."""
    path = Path(path)
    aside = path.with_name(path.name + ".corrupt")
    os.replace(path, aside)
    warnings.warn(f"{path} is unreadable ({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}); "
                  f"moved it to {aside.name} and computing it anew.", CacheSetAsideWarning, stacklevel=3)
    return aside


def load_checkpoint(path: str | os.PathLike, config: dict, map_location: str | None = "cpu") -> dict | None:
    """The state saved at `path` if it exists and was saved with exactly this config, else None.

    Uses `torch.load(weights_only=True)`, so a checkpoint cannot run code. A file whose stored config differs
    (a hash collision or a hand-renamed file) is not used, with a warning. A file torch cannot read (truncated,
    damaged, or holding objects that weights_only refuses) is a cache miss: it is moved to `*.corrupt`, with a
    warning naming it."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
        if not isinstance(state, dict) or "config_json" not in state:
            raise ValueError("not a checkpoint saved by vae_utils (no stored config)")
    except Exception as error:  # torch raises RuntimeError, UnpicklingError, EOFError, ... for a bad file
        set_aside(path, error)
        return None
    if state["config_json"] != canonical_json(config):
        warnings.warn(f"{path} was saved with another config; ignoring it and training anew.", stacklevel=2)
        return None
    return state


def load_or_train(path: str | os.PathLike, config: dict, model: torch.nn.Module,
                  train: Callable[[], tuple[dict, float]], retrain: bool = False) -> tuple[dict, float, bool]:
    """The checkpoint cache around one training run. If `path` holds weights saved with `config` (and not retrain),
    load them into `model` and return (their history, training seconds, True). Else `train()` trains `model` in place
    and returns (history, seconds); the weights are rounded as `compact_state` stores them (so the model in hand
    equals a reloaded one), saved with `config`, and (history, seconds, False) is returned. Leaves the model in
    eval mode and contiguous memory format."""
    state = None if retrain else load_checkpoint(path, config)
    if state is not None:
        model.load_state_dict(state["model"])
        return state["history"], state["train_seconds"], True
    history, seconds = train()
    model.to(memory_format=torch.contiguous_format).eval()
    weights = compact_state(model.state_dict())
    model.load_state_dict(weights)
    save_checkpoint(path, config, {"model": weights, "history": history, "train_seconds": seconds})
    return history, seconds, False


def cached_json(path: str | os.PathLike, config: dict, compute: Callable[[], Any], recompute: bool = False) -> Any:
    """A JSON-serialisable result cached at `path` with its config: loaded if the config matches, else computed
    and saved atomically. For evaluations that are slow (an IWAE bound with large k over a test set). An unreadable
    file (truncated, not JSON) is moved to `*.corrupt` with a warning and the value computed anew."""
    path = Path(path)
    if path.is_file() and not recompute:
        try:
            stored = json.loads(path.read_text())
            matches = stored["config_json"] == canonical_json(config)
            value = stored["value"]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as error:
            set_aside(path, error)
        else:
            if matches:
                return value
    value = compute()
    payload = json.dumps({"config_json": canonical_json(config), "value": value}, indent=1)
    atomic_write(path, lambda f: f.write(payload.encode()))
    return value
