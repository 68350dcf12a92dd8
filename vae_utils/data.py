"""Datasets as uint8 image tensors: where they live, how to load them, seeded subsets and fast batching."""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import pickle
import warnings
from contextlib import suppress
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


class DamagedDataError(ValueError):
    """A dataset file is there but cannot be read as what it should be (truncated, damaged, or not a data file)."""


class _CifarBatchUnpickler(pickle.Unpickler):
    """Reads a CIFAR-10 python batch without running code: the only objects a pickle may build are what the batches
    hold (dicts, lists, strings, bytes, numbers and numpy arrays); any other global (os.system, eval, ...) is refused."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"),
               ("_codecs", "encode")}  # how protocol 2 stores bytes when Python 3 writes it (a re-saved batch)

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"it asks for {module}.{name}, which a CIFAR-10 batch never contains "
                                         "(a file that would run code when loaded)")
        return super().find_class(module, name)


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
        + (f"\n({type(cause).__name__}: {cause})" if cause else "")
    )


def load_mnist(split: str = "train", data_dir: str | os.PathLike | None = None, download: bool | None = None) -> ImageTensors:
    """MNIST through torchvision (`<root>/MNIST/raw/*-ubyte`), 60,000 train or 10,000 test images, (N, 1, 28, 28).

    download: True fetches missing files (creating the folders); False never does; None (the default) downloads only
    into a data root that exists, so a mistyped `data_dir` is reported instead of created."""
    _check_split(split)
    root = resolve_data_root(data_dir)
    train = split == "train"
    try:
        dataset = torchvision.datasets.MNIST(root=str(root), train=train, download=False)
    except RuntimeError as not_found:
        if download is False or (download is None and not root.is_dir()):
            cause = None if root.is_dir() else NotADirectoryError(f"the data root {root} is a file, not a folder") \
                if root.exists() else FileNotFoundError(f"the data root {root} does not exist; nothing was created")
            raise _missing_mnist(root, cause) from not_found
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
        batch_images, batch_labels = _read_cifar_batch(folder / name)
        images.append(batch_images)
        labels.extend(batch_labels)
    data = ImageTensors(torch.from_numpy(np.concatenate(images)), torch.tensor(labels, dtype=torch.long),
                        {"dataset": "cifar10", "split": split, "size": len(labels)})
    if exact_only:
        exact = _cifar_exact_indices(folder, split, len(data))
        data = ImageTensors(data.images[exact], data.labels[exact], {**data.description, "exact_only": True, "size": len(exact)})
    return data


CIFAR10_RESTORE = ("download and untar https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz again and replace "
                   "the folder's files, or point VAE_DATA_DIR at an intact copy")


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, list[int]]:
    """(images (N, 3, 32, 32) uint8, labels) of one CIFAR-10 python batch, read with `_CifarBatchUnpickler`.
    A truncated, damaged or hostile file raises DamagedDataError naming it, what is wrong and how to restore it."""
    try:
        with open(path, "rb") as f:
            batch = _CifarBatchUnpickler(f, encoding="latin1").load()
        data, labels = batch["data"], [int(label) for label in batch["labels"]]
        images = np.asarray(data, dtype=np.uint8).reshape(-1, 3, 32, 32)
        if len(images) != len(labels) or np.asarray(data).size != len(labels) * 3 * 32 * 32:
            raise ValueError(f"{np.asarray(data).size:,} pixel values for {len(labels):,} labels")
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, AttributeError, IndexError) as error:
        what = str(error) or type(error).__name__
        if isinstance(error, EOFError):
            what = "the file ends early (truncated)"
        raise DamagedDataError(f"{path} is not a readable CIFAR-10 batch: {what}. Size on disk: {path.stat().st_size:,} "
                               f"bytes (a complete batch is about 31,000,000). To restore it, {CIFAR10_RESTORE}.") from error
    return images, labels


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


# CelebA -------------------------------------------------------------------------------------------------------------

CELEBA_FOLDER = "celeba"
CELEBA_IMAGES = "img_align_celeba"
CELEBA_TEXT_FILES = ("list_attr_celeba.txt", "identity_CelebA.txt", "list_eval_partition.txt")
CELEBA_LAYOUT = (
    "<data root>/celeba/\n"
    "    img_align_celeba/000001.jpg ...   aligned faces (178x218 originals, or a downscaled copy)\n"
    "    list_attr_celeba.txt              line 1: image count; line 2: the 40 attribute names; then `000001.jpg 1 -1 ...`\n"
    "    identity_CelebA.txt               `000001.jpg <identity>`\n"
    "    list_eval_partition.txt           `000001.jpg 0|1|2` (train / validation / test)")
CELEBA_HOW = ("download the aligned images (Img/img_align_celeba.zip) and the files Anno/list_attr_celeba.txt, "
              "Anno/identity_CelebA.txt and Eval/list_eval_partition.txt from https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html "
              "and unpack them into <data root>/celeba/ (on these machines: VAE_DATA_DIR=../shared/data, which holds the "
              "first 10,000 faces at 89x109)")
CELEBA_CROP_FRACTION = 148 / 178  # the usual centre crop of the aligned faces: 148x148 of 178x218, scaled with the image
DEFAULT_CACHE_DIR = REPO_ROOT / "build" / "cache"


@dataclass
class FaceTensors(ImageTensors):
    """CelebA faces held in memory: images (N, 3, S, S) uint8; labels: the identity of each face (N,) int64;
    attributes: (N, 40) bool, named by attribute_names; partition: (N,) int64, the official split (0 train,
    1 validation, 2 test); filenames: the source JPEG of each face."""

    attributes: torch.Tensor | None = None
    attribute_names: tuple[str, ...] = ()
    partition: torch.Tensor | None = None
    filenames: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.attributes is None or self.attributes.shape != (len(self.images), len(self.attribute_names)):
            raise ValueError(f"attributes must be (N, {len(self.attribute_names)}) for {len(self.images)} images, got "
                             f"{None if self.attributes is None else tuple(self.attributes.shape)}")
        if self.partition is None or len(self.partition) != len(self.images) or len(self.filenames) != len(self.images):
            raise ValueError("partition and filenames need one entry per image")

    def attribute(self, name: str) -> torch.Tensor:
        """Whether each face carries the attribute `name` (e.g. "Smiling"), (N,) bool."""
        if name not in self.attribute_names:
            raise ValueError(f"Unknown attribute {name!r}; CelebA's are: {', '.join(self.attribute_names)}")
        return self.attributes[:, self.attribute_names.index(name)]

    def subset(self, size: int | None, seed: int = 0) -> "FaceTensors":
        """A seeded random subset of `size` faces in their original order (None or >= len: all)."""
        if size is None or size >= len(self):
            return self
        if size <= 0:
            raise ValueError(f"subset size must be positive, got {size}")
        order = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))[:size].sort().values
        return self.select(order, subset_seed=seed)

    def select(self, index: torch.Tensor, **description) -> "FaceTensors":
        """The faces at `index` (indices or a bool mask), with `description` entries added."""
        index = index.nonzero().flatten() if index.dtype == torch.bool else index
        return FaceTensors(self.images[index], self.labels[index], {**self.description, **description, "size": len(index)},
                           self.attributes[index], self.attribute_names, self.partition[index],
                           tuple(self.filenames[i] for i in index.tolist()))


def _missing_celeba(folder: Path, what: str) -> DatasetNotFoundError:
    return DatasetNotFoundError(
        f"CelebA in {folder} is missing or incomplete: {what}.\nExpected layout:\n{CELEBA_LAYOUT}\n"
        f"How to get it: {CELEBA_HOW}.\n"
        "Set the data root with the `data_dir` argument / notebook parameter or the VAE_DATA_DIR environment variable.")


def _read_pairs(path: Path) -> dict[str, int]:
    """`name value` lines (LF or CRLF) -> {name: int(value)}."""
    pairs = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2:
            pairs[parts[0]] = int(parts[1])
    return pairs


def _read_celeba_tables(folder: Path) -> tuple[list[str], tuple[str, ...], torch.Tensor, torch.Tensor, torch.Tensor]:
    """(filenames, attribute names, attributes (N, 40) bool, identities (N,), partition (N,)) from the text files."""
    lines = (folder / CELEBA_TEXT_FILES[0]).read_text().splitlines()
    if len(lines) < 2 or not lines[0].strip().isdigit():
        raise _missing_celeba(folder, f"{CELEBA_TEXT_FILES[0]} does not start with the image count and the attribute names")
    names = tuple(lines[1].split())
    rows = [line.split() for line in lines[2:] if line.strip()]
    if int(lines[0]) != len(rows) or any(len(row) != len(names) + 1 for row in rows):
        raise _missing_celeba(folder, f"{CELEBA_TEXT_FILES[0]} announces {int(lines[0]):,} images but holds {len(rows):,} "
                                      f"complete rows of {len(names)} attributes (a truncated copy?)")
    filenames = [row[0] for row in rows]
    attributes = torch.tensor([[value == "1" for value in row[1:]] for row in rows], dtype=torch.bool)
    identities, partition = _read_pairs(folder / CELEBA_TEXT_FILES[1]), _read_pairs(folder / CELEBA_TEXT_FILES[2])
    for table, file in ((identities, CELEBA_TEXT_FILES[1]), (partition, CELEBA_TEXT_FILES[2])):
        absent = [name for name in filenames if name not in table]
        if absent:
            raise _missing_celeba(folder, f"{file} has no row for {len(absent):,} of the {len(filenames):,} images "
                                          f"(first: {', '.join(absent[:3])})")
    return (filenames, names, attributes, torch.tensor([identities[n] for n in filenames]),
            torch.tensor([partition[n] for n in filenames]))


def _decode_face(path: Path, size: int, crop_fraction: float) -> torch.Tensor:
    """One aligned face (3, size, size) uint8: decode, centre crop a square of crop_fraction x its width, resize
    (PIL's bilinear filter, which widens its support when shrinking: antialiased)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image = image.convert("RGB")
            width, height = image.size
            side = round(crop_fraction * width)
            left, top = (width - side) // 2, (height - side) // 2
            face = image.crop((left, top, left + side, top + side)).resize((size, size), Image.BILINEAR)
    except (UnidentifiedImageError, OSError, ValueError) as error:  # PIL: "image file is truncated", "cannot identify"
        if isinstance(error, OSError) and not isinstance(error, UnidentifiedImageError) and error.errno is not None:
            raise  # a real I/O error (permissions, a vanished disk) already names the file
        raise DamagedDataError(f"{path} is not a readable image: {error} ({path.stat().st_size:,} bytes on disk). "
                               f"To restore it, unpack {path.name} again from Img/img_align_celeba.zip "
                               f"(https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html) into {path.parent}.") from error
    return torch.from_numpy(np.asarray(face).copy()).permute(2, 0, 1).contiguous()


def _save_cache(images: torch.Tensor, cache: Path) -> None:
    """Store decoded faces at `cache` (serialised in memory, then written and renamed whole). A cache that cannot be
    written (a full disk, a read-only folder) is a warning naming it and the cause, not a failed load."""
    buffer = io.BytesIO()
    torch.save(images, buffer)
    temporary = cache.with_name(cache.name + f".{os.getpid()}.tmp")
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_bytes(buffer.getbuffer())
        os.replace(temporary, cache)
    except OSError as error:
        with suppress(OSError):  # on a read-only file system even this can fail
            temporary.unlink(missing_ok=True)
        warnings.warn(f"could not cache the decoded faces at {cache} ({error.strerror or error}); they will be decoded "
                      "again next time.", stacklevel=3)


def load_celeba(size: int = 64, data_dir: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None,
                crop_fraction: float = CELEBA_CROP_FRACTION, progress: bool = False) -> FaceTensors:
    """Every face of `<data root>/celeba/` (the layout in CELEBA_LAYOUT, read directly: the full 202,599-image
    dataset or a subset), centre-cropped to a square of crop_fraction x the image width and resized to size x size.

    Decoding thousands of JPEGs is slow, so the decoded tensors are cached in `cache_dir` (default build/cache/)
    under a key of the source files (the three text files' contents, every image's name and byte size) and the
    transform; a changed file or transform decodes anew. A missing or partial folder raises DatasetNotFoundError
    naming what is missing."""
    if size <= 0 or not 0 < crop_fraction <= 1:
        raise ValueError(f"size must be positive and crop_fraction in (0, 1], got {size}, {crop_fraction}")
    folder = resolve_data_root(data_dir) / CELEBA_FOLDER
    absent = [name for name in (CELEBA_IMAGES, *CELEBA_TEXT_FILES) if not (folder / name).exists()]
    if absent:
        raise _missing_celeba(folder, "no " + ", ".join(absent))
    filenames, names, attributes, identities, partition = _read_celeba_tables(folder)
    images_dir = folder / CELEBA_IMAGES
    on_disk = {entry.name: entry.stat().st_size for entry in os.scandir(images_dir)}
    lost = [name for name in filenames if name not in on_disk]
    if lost:
        raise _missing_celeba(folder, f"{len(lost):,} of the {len(filenames):,} images listed in {CELEBA_TEXT_FILES[0]} are "
                                      f"not in {CELEBA_IMAGES}/ (first: {', '.join(lost[:3])})")
    digest = hashlib.sha256()
    for text in CELEBA_TEXT_FILES:
        digest.update((folder / text).read_bytes())
    digest.update("\n".join(f"{name}:{on_disk[name]}" for name in filenames).encode())
    transform = {"crop_fraction": round(crop_fraction, 6), "size": size, "resize": "PIL bilinear (antialiased), uint8"}
    key = hashlib.sha256((digest.hexdigest() + json.dumps(transform, sort_keys=True)).encode()).hexdigest()[:16]
    cache = Path(cache_dir or DEFAULT_CACHE_DIR) / f"celeba_{size}-{key}.pt"
    images = None
    if cache.is_file():
        try:
            images = torch.load(cache, weights_only=True)
            if images.shape != (len(filenames), 3, size, size):
                images = None
        except Exception:  # a damaged cache file costs a decode, never a crash
            images = None
    if images is None:
        from tqdm.auto import tqdm
        images = torch.stack([_decode_face(images_dir / name, size, crop_fraction)
                              for name in tqdm(filenames, desc="decoding CelebA", disable=not progress)])
        _save_cache(images, cache)
    description = {"dataset": "celeba", "size": len(filenames), "image_side": size, "files_and_transform": key}
    return FaceTensors(images.contiguous(), identities, description, attributes, names, partition, tuple(filenames))


def celeba_splits(faces: FaceTensors, fractions: tuple[float, float] = (0.1, 0.1),
                  seed: int = 0) -> tuple[FaceTensors, FaceTensors, FaceTensors]:
    """(train, validation, test). With the official partition present (some faces marked 1 or 2) that partition;
    otherwise a split **by identity**, so that no person is on two sides: identities in a seeded random order go to
    test until it holds fractions[1] of the faces, then to validation until fractions[0], the rest to train."""
    if faces.partition.max() > 0:
        rule = {"split_rule": "official"}
        part = faces.partition
    else:
        if not (0 < fractions[0] and 0 < fractions[1] and sum(fractions) < 1):
            raise ValueError(f"fractions (validation, test) must be positive with a sum below 1, got {fractions}")
        rule = {"split_rule": "identity", "split_seed": seed, "fractions": list(fractions)}
        people, counts = faces.labels.unique(return_counts=True)
        order = torch.randperm(len(people), generator=torch.Generator().manual_seed(seed))
        running = counts[order].cumsum(0)
        side_of_person = torch.zeros(len(people), dtype=torch.long)
        test_end = fractions[1] * len(faces)
        val_end = test_end + fractions[0] * len(faces)
        side_of_person[order[running <= val_end]] = 1
        side_of_person[order[running <= test_end]] = 2
        part = side_of_person[torch.searchsorted(people, faces.labels)]
    return tuple(faces.select((part == value).nonzero().flatten(), split=split, **rule)  # type: ignore[return-value]
                 for value, split in ((0, "train"), (1, "validation"), (2, "test")))
