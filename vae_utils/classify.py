"""The S1 Table 4 classifier trained for a fixed number of steps, with a learning-rate schedule and optional random
affine augmentation (torchvision transforms v2); its weights cached by config, or only its test numbers (as JSON)."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torchvision.transforms import v2
from tqdm.auto import tqdm

from .checkpoints import cached_json, checkpoint_path, compact_state, load_or_train
from .data import ImageTensors, to_float
from .models import build_classifier, non_default_fields
from .train import TrainedClassifier, classifier_accuracy, pick_device, prefers_channels_last, seed_everything

SCHEDULES = ("constant", "cosine", "onecycle")


@dataclass(frozen=True)
class ClassifierConfig:
    """How to train the classifier: `steps` Adam updates on batches of `batch_size` drawn epoch by epoch (a new
    shuffle each pass), the learning rate following `schedule` (constant, cosine decay to 0, or one-cycle with its
    peak at `learning_rate`). affine_degrees / affine_translate > 0: each training image gets its own random
    rotation (±degrees) and shift (± that fraction of the side) every time it is drawn.
    A new field must default to the old behaviour: fields at their defaults stay out of cache keys."""

    steps: int = 1000
    batch_size: int = 128
    learning_rate: float = 1e-3
    schedule: str = "cosine"
    affine_degrees: float = 0.0
    affine_translate: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.steps, int) or self.steps <= 0:
            raise ValueError(f"steps must be a positive integer, got {self.steps!r}")
        if self.batch_size <= 0 or self.learning_rate <= 0:
            raise ValueError(f"batch_size and learning_rate must be positive, got {self.batch_size!r}, {self.learning_rate!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"Unknown schedule {self.schedule!r}; choose one of {', '.join(SCHEDULES)}.")
        if self.affine_degrees < 0 or not 0 <= self.affine_translate < 1:
            raise ValueError(f"affine_degrees must be >= 0 and affine_translate in [0, 1), got "
                             f"{self.affine_degrees!r}, {self.affine_translate!r}")

    @property
    def augments(self) -> bool:
        return self.affine_degrees > 0 or self.affine_translate > 0


def affine_augmenter(config: ClassifierConfig) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """uint8 batch (B, C, H, W) -> the batch with an independent random affine per image (transforms v2 draws one
    set of parameters per call, so it is called per image); None when the config asks for no augmentation."""
    if not config.augments:
        return None
    transform = v2.RandomAffine(degrees=config.affine_degrees, translate=(config.affine_translate,) * 2)
    return lambda batch: torch.stack([transform(image) for image in batch])


def _scheduler(optimizer: torch.optim.Optimizer, config: ClassifierConfig) -> torch.optim.lr_scheduler.LRScheduler:
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.steps)
    if config.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.learning_rate, total_steps=config.steps)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)


def batch_indices(size: int, batch_size: int, steps: int, generator: torch.Generator):
    """`steps` index batches over range(size), reshuffled every pass; a set smaller than a batch is one batch."""
    done = 0
    while True:
        order = torch.randperm(size, generator=generator)
        for start in range(0, size, batch_size):
            yield order[start:start + batch_size]
            done += 1
            if done == steps:
                return


def train_classifier(config: ClassifierConfig, train: ImageTensors, *, device: str | torch.device | None = None,
                     progress: bool = True, desc: str = "classifier") -> tuple[torch.nn.Module, dict, float]:
    """Train a fresh S1 Table 4 classifier (cross-entropy, Adam) on labelled uint8 images for config.steps steps.
    Returns (model in eval mode with fp16-rounded weights, history {"step", "train_loss"} at 10 points, seconds)."""
    if len(train) == 0:
        raise ValueError("the training set is empty")
    device = pick_device(device)
    seed_everything(config.seed)
    model = build_classifier(train.image_shape, 10 if train.labels.max() < 10 else int(train.labels.max()) + 1).to(device)
    channels_last = prefers_channels_last(model, device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    scheduler = _scheduler(optimizer, config)
    augment = affine_augmenter(config)
    every = max(1, config.steps // 10)
    history: dict[str, list[float]] = {"step": [], "train_loss": []}
    running, count = 0.0, 0
    model.train()
    began = time.perf_counter()
    shuffle = torch.Generator().manual_seed(config.seed)
    for step, batch in enumerate(tqdm(batch_indices(len(train), config.batch_size, config.steps, shuffle),
                                      total=config.steps, desc=desc, disable=not progress, mininterval=1.0), 1):
        images = train.images[batch]
        if augment is not None:
            images = augment(images)
        x = to_float(images).to(device)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        loss = torch.nn.functional.cross_entropy(model(x), train.labels[batch].to(device))
        if not torch.isfinite(loss):
            raise FloatingPointError(f"{desc}: the loss became {loss.item()} at step {step}; try a lower learning_rate")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        running, count = running + loss.item(), count + 1
        if step % every == 0 or step == config.steps:
            history["step"].append(step)
            history["train_loss"].append(running / count)
            running, count = 0.0, 0
    seconds = time.perf_counter() - began
    model = model.to(memory_format=torch.contiguous_format).eval()
    model.load_state_dict(compact_state(model.state_dict()))
    return model, history, seconds


def _key(config: ClassifierConfig, train_description: dict, test: ImageTensors, image_shape) -> dict:
    return {"model": {"classifier": "s1_table4", "image_shape": list(image_shape)}, "train": non_default_fields(config),
            "data": train_description, "test": test.description}


def fit_classifier_steps(config: ClassifierConfig, train: ImageTensors, test: ImageTensors, *, name: str,
                         checkpoint_dir: str | Path = "checkpoints", retrain: bool = False,
                         device: str | torch.device | None = None, progress: bool = True) -> TrainedClassifier:
    """Train (or load, by config and data) a classifier whose weights are kept: `<checkpoint_dir>/<name>-<key>.pt`
    holds the fp16 weights, the history with its `test_accuracy` (on `test`, after the fp16 rounding) and seconds."""
    key = _key(config, train.description, test, train.image_shape)
    path = checkpoint_path(checkpoint_dir, name, key)
    model = build_classifier(train.image_shape, 10 if train.labels.max() < 10 else int(train.labels.max()) + 1)

    def train_model() -> tuple[dict[str, list[float]], float]:
        trained, history, seconds = train_classifier(config, train, device=device, progress=progress, desc=name)
        model.to(next(trained.parameters()).device).load_state_dict(trained.state_dict())  # already rounded as stored
        history["test_accuracy"] = [classifier_accuracy(model.eval(), test)]
        return history, seconds

    history, seconds, from_cache = load_or_train(path, key, model, train_model, retrain)
    return TrainedClassifier(model.to(pick_device(device)).eval(), history, seconds, from_cache, path)


def classifier_record(config: ClassifierConfig, make_train: Callable[[], ImageTensors], train_description: dict,
                      test: ImageTensors, *, name: str, checkpoint_dir: str | Path = "checkpoints",
                      retrain: bool = False, device: str | torch.device | None = None, progress: bool = True) -> dict:
    """A classifier run whose weights are not kept, only what a notebook reports: {"test_accuracy", "per_class",
    "train_images", "train_seconds", "history"}, cached as `<checkpoint_dir>/<name>-<key>.json`.

    The key is built from `train_description` (the training set's description, known before the set is made), so
    a cached run never calls `make_train`: generated training sets cost nothing to re-read."""
    key = _key(config, train_description, test, test.image_shape)

    def compute() -> dict:
        train = make_train()
        if train.description != train_description:
            raise ValueError(f"make_train() gave a set described as {train.description}, not {train_description}")
        model, history, seconds = train_classifier(config, train, device=device, progress=progress, desc=name)
        correct = predictions(model, test.images) == test.labels
        return {"test_accuracy": correct.float().mean().item(), "per_class": _per_class(correct, test.labels),
                "train_images": len(train), "train_seconds": seconds, "history": history}

    return cached_json(checkpoint_path(checkpoint_dir, name, key, ".json"), key, compute, recompute=retrain)


@torch.no_grad()
def predictions(model: torch.nn.Module, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Predicted classes (N,) of images (N, C, H, W), uint8 in [0, 255] or float in [0, 1]."""
    model.eval()
    device = next(model.parameters()).device
    floats = to_float(images) if images.dtype == torch.uint8 else images.float()
    return torch.cat([model(batch.to(device)).argmax(1).cpu() for batch in floats.split(batch_size)])


def per_class_accuracy(model: torch.nn.Module, data: ImageTensors) -> list[float]:
    """Accuracy on the images of each class 0..K-1 (NaN for a class with no image)."""
    return _per_class(predictions(model, data.images) == data.labels, data.labels)


def _per_class(correct: torch.Tensor, labels: torch.Tensor) -> list[float]:
    return [correct[labels == c].float().mean().item() if (labels == c).any() else math.nan
            for c in range(int(labels.max()) + 1)]
