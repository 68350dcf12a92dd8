"""Training with a checkpoint cache: `fit` loads weights trained with the same config, or trains and saves them."""
from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from tqdm.auto import tqdm

from .checkpoints import cached_json, checkpoint_path, load_checkpoint, load_or_train, save_checkpoint
from .data import ImageTensors, iterate_batches, to_float
from .losses import LIKELIHOODS, RECON_REDUCTIONS, evaluate_elbo, kl_weight, training_loss
from .models import Autoencoder, ModelSpec, build_classifier, build_model, has_convolutions, non_default_fields


@dataclass(frozen=True)
class TrainConfig:
    """How to train. gaussian_log_scale: log sigma of a Gaussian decoder, fixed (a float), learned (None) or set to
    its closed-form optimum on every batch ("optimal": the calibrated decoder of the sigma-VAE, Rybkin et al. 2021);
    binarize: draw each training pixel from Bernoulli(intensity) anew every batch (dynamic binarisation);
    initial_log_scale: where a learned log sigma starts (Adam moves it by about learning_rate per step, so a start
    far from its optimum would take thousands of steps to get there).
    recon_weight, recon_reduction: the reconstruction term is recon_weight * (-log p(x|z)) summed over pixels
    ("sum", the ELBO) or averaged over them ("mean": the image-construction report's mismatch; see
    losses.training_loss for its equivalent decoder variance sigma^2 = D / (2 recon_weight)).
    kl_warmup_epochs: KL annealing, the KL weight rising linearly from 0 to beta over these epochs (per step).
    free_bits: nats per latent dimension the KL does not charge for (Kingma et al. 2016); 0 = off.
    A new field must default to the old behaviour: fields at their defaults stay out of checkpoint keys."""

    epochs: int = 10
    batch_size: int = 128
    learning_rate: float = 1e-3
    seed: int = 0
    likelihood: str = "bernoulli"
    beta: float = 1.0
    gaussian_log_scale: float | str | None = 0.0
    binarize: bool = False
    initial_log_scale: float = 0.0
    recon_weight: float = 1.0
    recon_reduction: str = "sum"
    kl_warmup_epochs: int = 0
    free_bits: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.epochs, int) or self.epochs <= 0:
            raise ValueError(f"epochs must be a positive integer, got {self.epochs!r}")
        if self.batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {self.batch_size!r}")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate!r}")
        if self.likelihood not in LIKELIHOODS:
            raise ValueError(f"Unknown likelihood {self.likelihood!r}; choose one of {', '.join(LIKELIHOODS)}.")
        if self.beta < 0:
            raise ValueError(f"beta must be >= 0, got {self.beta!r}")
        if isinstance(self.gaussian_log_scale, str) and self.gaussian_log_scale != "optimal":
            raise ValueError(f"gaussian_log_scale must be a float, None (learned) or 'optimal', got {self.gaussian_log_scale!r}")
        if self.recon_weight <= 0:
            raise ValueError(f"recon_weight must be positive, got {self.recon_weight!r}")
        if self.recon_reduction not in RECON_REDUCTIONS:
            raise ValueError(f"Unknown recon_reduction {self.recon_reduction!r}; choose one of {', '.join(RECON_REDUCTIONS)}.")
        if not isinstance(self.kl_warmup_epochs, int) or self.kl_warmup_epochs < 0:
            raise ValueError(f"kl_warmup_epochs must be a non-negative integer, got {self.kl_warmup_epochs!r}")
        if self.free_bits < 0:
            raise ValueError(f"free_bits must be >= 0, got {self.free_bits!r}")


@dataclass
class TrainedModel:
    """A trained model with its per-epoch history (nats per image), training seconds and where it is stored."""

    model: Autoencoder
    spec: ModelSpec
    config: TrainConfig
    history: dict[str, list[float]]
    train_seconds: float
    from_cache: bool
    path: Path

    @property
    def log_scale(self) -> torch.Tensor | float:
        """The Gaussian decoder's log sigma (learned or fixed)."""
        return self.model.log_scale if self.config.gaussian_log_scale is None else self.config.gaussian_log_scale

    def evaluate(self, images: torch.Tensor) -> dict[str, float]:
        """Mean recon, kl, loss and elbo per image (nats) on uint8 images, with this model's likelihood and beta
        (the unweighted terms: recon_weight, recon_reduction and free bits shape training only)."""
        return evaluate_elbo(self.model, images, self.config.likelihood, self.config.beta, self.log_scale)


class DeferredFit:
    """A `fit` that trains or loads only when its model is first needed, with evaluations cached beside its
    checkpoint (`<name>-<key>.<tag>.json`). For runs a notebook needs only numbers from (extra seeds): it can commit
    their evaluations instead of their weights and still re-run without training. Attributes of the trained model
    (model, history, evaluate, log_scale, from_cache) are those of `run()`."""

    def __init__(self, spec: ModelSpec, config: TrainConfig, train: ImageTensors, val: ImageTensors | None = None, *,
                 name: str, checkpoint_dir: str | Path = "checkpoints", retrain: bool = False, **fit_options):
        self._fit = lambda: fit(spec, config, train, val, name=name, checkpoint_dir=checkpoint_dir, retrain=retrain,
                                **fit_options)
        self.key_config = run_config(spec, config, train, val, fit_options.get("monitor"))
        self.path = checkpoint_path(checkpoint_dir, name, self.key_config)
        self.retrain = retrain
        self._trained: TrainedModel | None = None

    def run(self) -> TrainedModel:
        """The trained model: loaded from its checkpoint, or trained now (once)."""
        if self._trained is None:
            self._trained = self._fit()
        return self._trained

    def cached(self, tag: str, evaluate: Callable[[TrainedModel], object], on: dict | None = None) -> object:
        """evaluate(trained model), a JSON-serialisable value, cached under `tag`; `on` describes what it is evaluated
        on (test set, sample seed...) and is part of the cache key. retrain=True recomputes it."""
        return cached_json(self.path.with_suffix(f".{tag}.json"), {"run": self.key_config, "on": on},
                           lambda: evaluate(self.run()), recompute=self.retrain)

    @property
    def train_seconds(self) -> float:
        """Seconds the training took (cached, so known without loading the weights)."""
        return self.cached("trained", lambda trained: {"train_seconds": trained.train_seconds})["train_seconds"]

    def __getattr__(self, attribute: str):
        if attribute.startswith("_"):
            raise AttributeError(attribute)
        return getattr(self.run(), attribute)

def load_trained(path: str | Path, device: str | torch.device | None = None) -> Autoencoder:
    """Rebuild a model from a checkpoint that `fit` saved (its spec is in the stored config), in eval mode."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        config = json.loads(state["config_json"])
    except Exception as error:
        raise RuntimeError(f"cannot read the checkpoint {path} ({type(error).__name__}); delete it and let "
                           "fit() train it anew") from error
    model = build_model(ModelSpec(**{**config["model"], "image_shape": tuple(config["model"]["image_shape"])}))
    if "log_scale" in state["model"]:
        model.register_parameter("log_scale", torch.nn.Parameter(torch.zeros(())))
    model.load_state_dict(state["model"])
    return model.to(pick_device(device)).eval()


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """The given device, else cuda, else mps, else cpu."""
    if device is not None:
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def prefers_channels_last(model: torch.nn.Module, device: torch.device) -> bool:
    """Conv nets train faster channels-last on CPU (measured in benchmarks/results.json); elsewhere keep the default."""
    return device.type == "cpu" and has_convolutions(model)


@dataclass(frozen=True)
class Monitor:
    """An evaluation run after every epoch whose numbers join the history, e.g. an IWAE bound per epoch.
    config: what it computes, as plain data (part of the checkpoint key); evaluate: model -> {name: value}."""

    config: dict
    evaluate: Callable[[Autoencoder], dict[str, float]]


def run_config(spec: ModelSpec, config: TrainConfig, train: ImageTensors, val: ImageTensors | None,
               monitor: Monitor | None = None) -> dict:
    """Everything that determines the trained weights and their history, as plain data: the checkpoint key is its hash."""
    key = {"model": spec.to_dict(), "train": non_default_fields(config), "data": train.description,
           "val": val.description if val is not None else None}
    if monitor is not None:
        key["monitor"] = monitor.config
    return key


def fit(spec: ModelSpec, config: TrainConfig, train: ImageTensors, val: ImageTensors | None = None, *,
        name: str, checkpoint_dir: str | Path = "checkpoints", retrain: bool = False,
        device: str | torch.device | None = None, progress: bool = True, monitor: Monitor | None = None,
        keep_state: bool = False, continue_from: TrainedModel | None = None) -> TrainedModel:
    """Train `spec` on `train` (uint8 images) with `config`, or load the checkpoint trained with the same config.

    Saves `<checkpoint_dir>/<name>-<key>.pt` atomically when done, and a `.partial.pt` after every epoch, so an
    interrupted run resumes from its last finished epoch. retrain=True ignores both and trains from scratch.
    monitor: evaluated after every epoch (in eval mode), its numbers stored in the history.
    keep_state: keep the finished run's full training state (weights, optimiser, random generators) as
    `<name>-<key>.state.pt` (not committed), so that a longer run can continue it.
    continue_from: a shorter run of the same model, data, monitor and config but fewer epochs, trained with
    keep_state: this run starts from its saved state and trains only the remaining epochs, reaching exactly the
    weights and history of training all epochs at once; its train_seconds count those epochs only. Without the
    saved state (e.g. the shorter run was loaded from a committed checkpoint) it trains all epochs.
    Raises FloatingPointError naming the epoch and step if the loss stops being finite, and ValueError if
    continue_from is not a shorter run of the same configuration.
    """
    device = pick_device(device)
    key_config = run_config(spec, config, train, val, monitor)
    path = checkpoint_path(checkpoint_dir, name, key_config)
    partial_path = path.with_suffix(".partial.pt")
    if continue_from is not None:
        check_continuation(continue_from, spec, config)
    seed_everything(config.seed)
    model = build_model(spec)
    if config.gaussian_log_scale is None:
        model.register_parameter("log_scale", torch.nn.Parameter(torch.tensor(float(config.initial_log_scale))))

    history, seconds, from_cache = load_or_train(
        path, key_config, model, lambda: _train_vae(
            model, config, train, val, name, key_config, partial_path, device, progress, monitor, retrain,
            # looked up only when training: a run loaded from its checkpoint needs no state, and says nothing about it
            None if continue_from is None else continuation_state(continue_from, spec, config, train, val, monitor)),
        retrain)
    if keep_state and not from_cache and partial_path.is_file():
        partial_path.replace(path.with_suffix(".state.pt"))
    if partial_path.exists():  # a read-only cache refuses even the unlink of a missing file
        partial_path.unlink()
    return TrainedModel(model.to(device).eval(), spec, config, history, seconds, from_cache, path)


def check_continuation(shorter: TrainedModel, spec: ModelSpec, config: TrainConfig) -> None:
    """ValueError unless `shorter` is a run that `config` can continue: same model and settings, fewer epochs."""
    if spec != shorter.spec or replace(shorter.config, epochs=config.epochs) != config or shorter.config.epochs >= config.epochs:
        raise ValueError(f"continue_from must be a run of the same model and config with fewer epochs than {config.epochs}; "
                         f"got {shorter.spec} trained {shorter.config}")


def continuation_state(shorter: TrainedModel, spec: ModelSpec, config: TrainConfig, train: ImageTensors,
                       val: ImageTensors | None, monitor: Monitor | None) -> dict | None:
    """The saved training state (`fit(keep_state=True)`) of `shorter`, a run that `config` continues: same model,
    data, monitor and settings, fewer epochs. None (saying so) when no state was saved; ValueError when it is not
    such a run."""
    check_continuation(shorter, spec, config)
    state = load_checkpoint(shorter.path.with_suffix(".state.pt"), run_config(spec, shorter.config, train, val, monitor))
    if state is None:
        print(f"No saved training state of {shorter.path.name} (train it with keep_state=True to continue it); "
              f"training all {config.epochs} epochs.")
    return state


def _train_vae(model: Autoencoder, config: TrainConfig, train: ImageTensors, val: ImageTensors | None,
               name: str, key_config: dict, partial_path: Path, device: torch.device, progress: bool,
               monitor: Monitor | None, retrain: bool, start: dict | None = None) -> tuple[dict[str, list[float]], float]:
    """`fit`'s training loop: trains `model` in place (resuming from `partial_path` unless retrain, else from `start`,
    a shorter run's saved state, counting only the seconds spent here) and returns (history, seconds)."""
    model.to(device)
    channels_last = prefers_channels_last(model, device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    shuffle = torch.Generator().manual_seed(config.seed)
    history: dict[str, list[float]] = {}
    seconds, start_epoch = 0.0, 0
    resumed = None if retrain else load_checkpoint(partial_path, key_config)
    if resumed is None and start is not None:
        resumed = {**start, "train_seconds": 0.0}
    if resumed is not None:
        model.load_state_dict(resumed["model"])
        optimizer.load_state_dict(resumed["optimizer"])
        shuffle.set_state(resumed["shuffle_state"])
        torch.set_rng_state(resumed["torch_rng_state"])
        history, seconds, start_epoch = resumed["history"], resumed["train_seconds"], resumed["epoch"]

    images = train.images.to(device)
    log_scale = model.log_scale if config.gaussian_log_scale is None else config.gaussian_log_scale
    steps_per_epoch = -(-len(images) // config.batch_size)
    bar = tqdm(total=config.epochs * steps_per_epoch, initial=start_epoch * steps_per_epoch,
               desc=name, disable=not progress, mininterval=1.0)
    try:
        for epoch in range(start_epoch, config.epochs):
            model.train()
            began = time.perf_counter()
            sums = torch.zeros(3, device=device)
            steps_seen: list[torch.Tensor] = []
            for step, batch in enumerate(iterate_batches(images, config.batch_size, shuffle=True, generator=shuffle)):
                x = to_float(batch)
                if config.binarize:
                    x = torch.bernoulli(x)
                if channels_last:
                    x = x.contiguous(memory_format=torch.channels_last)
                beta = kl_weight(epoch * steps_per_epoch + step, config.kl_warmup_epochs * steps_per_epoch, config.beta)
                terms = training_loss(model(x), x, config.likelihood, beta, log_scale, config.recon_weight,
                                      config.recon_reduction, config.free_bits)
                loss = terms["loss"]
                if not torch.isfinite(loss):
                    raise FloatingPointError(
                        f"{name}: the loss became {loss.item()} at epoch {epoch + 1}, step {step + 1}. "
                        f"Try a lower learning_rate (now {config.learning_rate}) or check the inputs for NaN/inf.")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                step_terms = torch.stack([terms["loss"], terms["recon"], terms["kl"]]).detach()
                sums += step_terms * len(x)
                if epoch == 0:
                    steps_seen.append(step_terms)
                bar.update(1)
            seconds += time.perf_counter() - began
            if epoch == 0:  # the first epoch step by step: where the KL starts and how fast it falls
                for part, values in zip(("loss", "recon", "kl"), torch.stack(steps_seen).T.tolist()):
                    history[f"first_epoch_{part}"] = values
            for part, value in zip(("loss", "recon", "kl"), (sums / len(images)).tolist()):
                history.setdefault(f"train_{part}", []).append(value)
            if val is not None:
                for part, value in evaluate_elbo(model, val.images, config.likelihood, config.beta, log_scale).items():
                    history.setdefault(f"val_{part}", []).append(value)
            if monitor is not None:
                model.eval()
                for part, value in monitor.evaluate(model).items():
                    history.setdefault(part, []).append(value)
            bar.set_postfix(loss=f"{history['train_loss'][-1]:.2f}")
            save_checkpoint(partial_path, key_config, {
                "model": model.state_dict(), "optimizer": optimizer.state_dict(), "history": history,
                "train_seconds": seconds, "epoch": epoch + 1, "shuffle_state": shuffle.get_state(),
                "torch_rng_state": torch.get_rng_state()})
    except KeyboardInterrupt:
        bar.close()
        if partial_path.is_file():
            done, total = saved_epochs(partial_path)
            print(f"Interrupted: {name} has {done} of {total} epochs saved in {partial_path}; run again to resume.")
        else:
            print(f"Interrupted: {name} finished no epoch, so nothing was saved; running again starts it afresh.")
        raise
    bar.close()
    return history, seconds


def saved_epochs(partial_path: str | Path) -> tuple[int, int]:
    """(epochs finished, epochs planned) of an interrupted training, read from its `.partial.pt` file."""
    state = torch.load(partial_path, map_location="cpu", weights_only=True)
    planned = json.loads(state["config_json"])["train"].get("epochs", TrainConfig.epochs)
    return int(state["epoch"]), int(planned)


def training_run_record(spec: ModelSpec, config: TrainConfig, train: ImageTensors, val: ImageTensors | None = None, *,
                        name: str, checkpoint_dir: str | Path = "checkpoints", retrain: bool = False,
                        device: str | torch.device | None = None, progress: bool = True,
                        monitor: Monitor | None = None) -> dict:
    """Train like `fit`, keeping only what happened, not the weights: whether the loss stopped being finite,
    fit's message, the epochs finished and the per-epoch history up to there (with the monitor's numbers).

    For runs that may diverge (a NaN question) and must not be re-run on every notebook run: the record is
    cached as JSON at `<checkpoint_dir>/<name>-<key>.run.json` (the key as fit's); retrain=True runs it again."""
    key_config = run_config(spec, config, train, val, monitor)
    weights = checkpoint_path(checkpoint_dir, name, key_config)

    def attempt() -> dict:
        try:
            run = fit(spec, config, train, val, name=name, checkpoint_dir=checkpoint_dir, retrain=True,
                      device=device, progress=progress, monitor=monitor)
            record = {"diverged": False, "message": "", "history": run.history, "train_seconds": run.train_seconds}
        except FloatingPointError as error:
            state = load_checkpoint(weights.with_suffix(".partial.pt"), key_config) or {}
            record = {"diverged": True, "message": str(error), "history": state.get("history", {}),
                      "train_seconds": state.get("train_seconds", 0.0)}
        weights.unlink(missing_ok=True)
        weights.with_suffix(".partial.pt").unlink(missing_ok=True)
        record["epochs_finished"] = len(record["history"].get("train_loss", []))
        return record

    return cached_json(weights.with_suffix(".run.json"), key_config, attempt, recompute=retrain)


@dataclass
class TrainedClassifier:
    """A trained classifier with its per-epoch history (train cross-entropy in nats, held-out accuracy)."""

    model: torch.nn.Module
    history: dict[str, list[float]]
    train_seconds: float
    from_cache: bool
    path: Path


def fit_classifier(config: TrainConfig, train: ImageTensors, val: ImageTensors, *, name: str,
                   checkpoint_dir: str | Path = "checkpoints", retrain: bool = False,
                   device: str | torch.device | None = None, progress: bool = True) -> TrainedClassifier:
    """Train the S1 Table 4 classifier (cross-entropy, Adam) on labelled uint8 images, or load it from the
    checkpoint trained with the same config and data. Only config's epochs, batch_size, learning_rate and seed apply."""
    device = pick_device(device)
    key_config = {"model": {"classifier": "s1_table4", "image_shape": list(train.image_shape)},
                  "train": non_default_fields(config), "data": train.description, "val": val.description}
    path = checkpoint_path(checkpoint_dir, name, key_config)
    seed_everything(config.seed)
    model = build_classifier(train.image_shape, int(train.labels.max()) + 1)

    def train_model() -> tuple[dict[str, list[float]], float]:
        model.to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
        shuffle = torch.Generator().manual_seed(config.seed)
        history: dict[str, list[float]] = {"train_loss": [], "val_accuracy": []}
        seconds = 0.0
        for _ in tqdm(range(config.epochs), desc=name, disable=not progress):
            model.train()
            began, total = time.perf_counter(), 0.0
            for batch in iterate_batches(torch.arange(len(train)), config.batch_size, shuffle=True, generator=shuffle):
                loss = torch.nn.functional.cross_entropy(model(to_float(train.images[batch]).to(device)), train.labels[batch].to(device))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += loss.item() * len(batch)
            seconds += time.perf_counter() - began
            history["train_loss"].append(total / len(train))
            history["val_accuracy"].append(classifier_accuracy(model, val))
        return history, seconds

    history, seconds, from_cache = load_or_train(path, key_config, model, train_model, retrain)
    return TrainedClassifier(model.to(device).eval(), history, seconds, from_cache, path)


@torch.no_grad()
def classifier_accuracy(model: torch.nn.Module, data: ImageTensors, batch_size: int = 1000) -> float:
    """Share of images whose most likely class is their label."""
    model.eval()
    device = next(model.parameters()).device
    correct = sum(int((model(to_float(x).to(device)).argmax(1).cpu() == y).sum())
                  for x, y in zip(data.images.split(batch_size), data.labels.split(batch_size)))
    return correct / len(data)
