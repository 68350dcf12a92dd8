"""Datasets as uint8 image tensors: where they live, how to load them, seeded subsets and fast batching."""
from __future__ import annotations

import gzip
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
import torchvision

REPO_ROOT = Path(__file__).resolve().parents[1]
DATASETS = ("mnist", "cifar10")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


class DatasetNotFoundError(FileNotFoundError):
    """A dataset is not under the data root and could not be downloaded."""


@dataclass
class ImageTensors:
    """A whole dataset held in memory.

    images: (N, C, H, W) uint8 in [0, 255]; labels: (N,) int64.
    description: plain data naming where the images came from (part of every checkpoint key).
    """

    images: torch.Tensor
    labels: torch.Tensor
    description: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.ndim != 4:
            raise ValueError(f"images must be a (N, C, H, W) uint8 tensor, got {tuple(self.images.shape)} {self.images.dtype}")
        if len(self.labels) != len(self.images):
            raise ValueError(f"{len(self.images)} images but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    def as_float(self) -> torch.Tensor:
        """All images as float32 in [0, 1], (N, C, H, W)."""
        return to_float(self.images)


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 (…, C, H, W) in [0, 255] -> float32 in [0, 1]."""
    return images.float().div_(255.0)


def resolve_data_root(data_dir: str | os.PathLike | None = None) -> Path:
    """The data root: the argument, else $VAE_DATA_DIR, else `data/` at the repository root."""
    if data_dir is not None:
        return Path(data_dir).expanduser().resolve()
    if os.environ.get("VAE_DATA_DIR"):
        return Path(os.environ["VAE_DATA_DIR"]).expanduser().resolve()
    return REPO_ROOT / "data"


def _missing(dataset: str, folder: Path, layout: str, how: str, cause: Exception | None = None) -> DatasetNotFoundError:
    return DatasetNotFoundError(
        f"{dataset} was not found in {folder}.\n"
        f"Expected layout: {layout}\n"
        f"How to get it: {how}\n"
        "Set the data root with the `data_dir` argument / notebook parameter or the VAE_DATA_DIR environment variable."
        + (f"\n(Download attempt failed: {type(cause).__name__}: {cause})" if cause else "")
    )


def load_mnist(split: str = "train", data_dir: str | os.PathLike | None = None, download: bool = True) -> ImageTensors:
    """MNIST through torchvision (`<root>/MNIST/raw/*-ubyte`), 60,000 train or 10,000 test images, (N, 1, 28, 28)."""
    _check_split(split)
    root = resolve_data_root(data_dir)
    train = split == "train"
    try:
        dataset = torchvision.datasets.MNIST(root=str(root), train=train, download=False)
    except RuntimeError as not_found:
        if not download:
            raise _missing_mnist(root) from not_found
        try:
            dataset = torchvision.datasets.MNIST(root=str(root), train=train, download=True)
        except Exception as failed:  # no network, a read-only root, a broken mirror: one clear message
            raise _missing_mnist(root, failed) from failed
    images = dataset.data.unsqueeze(1).contiguous()
    return ImageTensors(images, dataset.targets.long(), {"dataset": "mnist", "split": split, "size": len(images)})


def _missing_mnist(root: Path, cause: Exception | None = None) -> DatasetNotFoundError:
    return _missing(
        "MNIST",
        root / "MNIST" / "raw",
        "<data root>/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte (the four uncompressed IDX files)",
        "with internet, torchvision downloads it on first use; offline, copy the four IDX files there "
        "(on these machines: VAE_DATA_DIR=../shared/data).",
        cause,
    )


def load_cifar10(split: str = "train", data_dir: str | os.PathLike | None = None, exact_only: bool = False) -> ImageTensors:
    """CIFAR-10 from its python batches (`<root>/cifar-10-batches-py/`), (N, 3, 32, 32).

    Reads the pickles directly, so the official files and our rebuilt copy (whose MD5s differ) both load.
    exact_only: keep only test images whose pixels are exact; a copy with `MANIFEST.tsv.gz` says which
    (ours: the first 1,000), the official files are exact throughout.
    """
    _check_split(split)
    folder = resolve_data_root(data_dir) / "cifar-10-batches-py"
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    if not all((folder / name).is_file() for name in names):
        raise _missing(
            "CIFAR-10",
            folder,
            "<data root>/cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta} (python pickles)",
            "download and untar https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz into the data root "
            "(on these machines: VAE_DATA_DIR=../shared/data).",
        )
    images, labels = [], []
    for name in names:
        with open(folder / name, "rb") as f:
            batch = pickle.load(f, encoding="latin1")
        images.append(np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        labels.extend(batch["labels"])
    data = ImageTensors(torch.from_numpy(np.concatenate(images)), torch.tensor(labels, dtype=torch.long),
                        {"dataset": "cifar10", "split": split, "size": len(labels)})
    if exact_only:
        exact = _cifar_exact_indices(folder, split, len(data))
        data = ImageTensors(data.images[exact], data.labels[exact], {**data.description, "exact_only": True, "size": len(exact)})
    return data


def _cifar_exact_indices(folder: Path, split: str, count: int) -> torch.Tensor:
    manifest = folder / "MANIFEST.tsv.gz"
    if not manifest.is_file():
        return torch.arange(count)
    with gzip.open(manifest, "rt") as f:
        header = f.readline().rstrip("\n").split("\t")
        rows = (dict(zip(header, line.rstrip("\n").split("\t"))) for line in f)
        exact = [int(r["index"]) for r in rows if r["split"] == split and r["lossless"] == "1"]
    return torch.tensor(sorted(exact), dtype=torch.long)


def load_dataset(name: str, split: str = "train", data_dir: str | os.PathLike | None = None) -> ImageTensors:
    """Load a dataset by name (one of DATASETS). CIFAR-10's test split keeps only exact images (see load_cifar10)."""
    if name == "mnist":
        return load_mnist(split, data_dir)
    if name == "cifar10":
        return load_cifar10(split, data_dir, exact_only=split == "test")
    raise ValueError(f"Unknown dataset {name!r}; choose one of {', '.join(DATASETS)}.")


def train_val_test(name: str, held_out: int, train_size: int | None = None, test_size: int | None = None,
                   seed: int = 0, data_dir: str | os.PathLike | None = None) -> tuple[ImageTensors, ImageTensors, ImageTensors]:
    """(train, held-out validation, test) for a dataset: `held_out` images split off the training split at random,
    then optional seeded subsets of the rest (train_size) and of the test split (test_size)."""
    rest, val = split_off(load_dataset(name, "train", data_dir), held_out, seed)
    return subset(rest, train_size, seed), val, subset(load_dataset(name, "test", data_dir), test_size, seed)


def one_per_class(data: ImageTensors, classes: int = 10) -> torch.Tensor:
    """Indices of the first image of each class 0..classes-1, (classes,)."""
    return torch.stack([(data.labels == c).nonzero()[0, 0] for c in range(classes)])


def _check_split(split: str) -> None:
    if split not in ("train", "test"):
        raise ValueError(f"Unknown split {split!r}; choose 'train' or 'test'.")


def subset(data: ImageTensors, size: int | None, seed: int = 0) -> ImageTensors:
    """A seeded random subset of `size` images (None or >= len: all, in the original order)."""
    if size is None or size >= len(data):
        return data
    if size <= 0:
        raise ValueError(f"subset size must be positive, got {size}")
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))[:size].sort().values
    return ImageTensors(data.images[order], data.labels[order], {**data.description, "size": size, "subset_seed": seed})


def split_off(data: ImageTensors, held_out: int, seed: int = 0) -> tuple[ImageTensors, ImageTensors]:
    """Split into (rest, held_out) at random with a seed, e.g. a validation set from the training split."""
    if not 0 < held_out < len(data):
        raise ValueError(f"held_out must be between 1 and {len(data) - 1}, got {held_out}")
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
    rest, held = order[held_out:].sort().values, order[:held_out].sort().values
    tag = {"split_seed": seed, "held_out": held_out}
    return (
        ImageTensors(data.images[rest], data.labels[rest], {**data.description, **tag, "part": "rest", "size": len(rest)}),
        ImageTensors(data.images[held], data.labels[held], {**data.description, **tag, "part": "held_out", "size": held_out}),
    )


LUMA_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R BT.601, the weights of PIL's convert("L")


def to_greyscale(data: ImageTensors) -> ImageTensors:
    """Colour images (N, 3, H, W) -> one grey channel (N, 1, H, W), uint8, as the luma 0.299 R + 0.587 G + 0.114 B."""
    if data.images.shape[1] != 3:
        raise ValueError(f"to_greyscale needs colour images (N, 3, H, W), got {tuple(data.images.shape)}")
    weights = torch.tensor(LUMA_WEIGHTS).view(1, 3, 1, 1)
    grey = (data.images.float() * weights).sum(1, keepdim=True).round().clamp(0, 255).to(torch.uint8)
    return ImageTensors(grey, data.labels, {**data.description, "greyscale": "bt601"})


def binarize(data: ImageTensors, seed: int = 0) -> ImageTensors:
    """Each pixel set to 255 with probability intensity/255, else 0, drawn once with a seed (a fixed binarised
    test set, the standard for comparing likelihoods on binarised MNIST)."""
    probabilities = to_float(data.images)
    drawn = torch.bernoulli(probabilities, generator=torch.Generator().manual_seed(seed)).to(torch.uint8) * 255
    return ImageTensors(drawn, data.labels, {**data.description, "binarized_seed": seed})


def iterate_batches(images: torch.Tensor, batch_size: int, shuffle: bool = False,
                    generator: torch.Generator | None = None) -> Iterator[torch.Tensor]:
    """Yield uint8 batches (B, C, H, W) by slicing one tensor: no per-item decoding, no DataLoader workers."""
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    if shuffle:
        order = torch.randperm(len(images), generator=generator)
        for start in range(0, len(images), batch_size):
            yield images[order[start:start + batch_size]]
    else:
        for start in range(0, len(images), batch_size):
            yield images[start:start + batch_size]
