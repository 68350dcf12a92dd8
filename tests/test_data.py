import pytest
import torch

from vae_utils import data
from tests.conftest import needs_data


def test_data_root_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("VAE_DATA_DIR", str(tmp_path / "env"))
    assert data.resolve_data_root(tmp_path / "arg") == (tmp_path / "arg").resolve()
    assert data.resolve_data_root() == (tmp_path / "env").resolve()
    monkeypatch.delenv("VAE_DATA_DIR")
    assert data.resolve_data_root() == data.REPO_ROOT / "data"


def test_missing_mnist_says_where_and_how(tmp_path):
    with pytest.raises(data.DatasetNotFoundError) as error:
        data.load_mnist("train", tmp_path, download=False)
    message = str(error.value)
    assert "MNIST" in message and str(tmp_path / "MNIST" / "raw") in message
    assert "train-images-idx3-ubyte" in message or "IDX" in message
    assert "VAE_DATA_DIR" in message


def test_missing_cifar_says_where_and_how(tmp_path):
    with pytest.raises(data.DatasetNotFoundError) as error:
        data.load_cifar10("test", tmp_path)
    assert "CIFAR-10" in str(error.value) and "cifar-10-batches-py" in str(error.value) and "cifar-10-python.tar.gz" in str(error.value)


def test_bad_split_and_dataset_names():
    with pytest.raises(ValueError, match="'train' or 'test'"):
        data.load_mnist("validation")
    with pytest.raises(ValueError, match="mnist, cifar10"):
        data.load_dataset("svhn")


@needs_data
def test_mnist_shapes(data_root):
    test = data.load_mnist("test", data_root)
    assert test.images.shape == (10_000, 1, 28, 28) and test.images.dtype == torch.uint8
    assert test.labels.bincount().tolist()[:3] == [980, 1135, 1032]


@needs_data
def test_cifar_reader_and_exact_subset(data_root):
    train = data.load_cifar10("train", data_root)
    assert train.images.shape == (50_000, 3, 32, 32)
    assert train.labels.bincount().tolist() == [5000] * 10
    # the published per-channel means of the CIFAR-10 training set
    means = train.images.float().mean(dim=(0, 2, 3))
    assert torch.allclose(means, torch.tensor([125.30691805, 122.95039414, 113.86538318]), atol=1e-3)
    exact = data.load_cifar10("test", data_root, exact_only=True)
    assert len(exact) == 1000 and exact.description["exact_only"]
    assert torch.equal(exact.images, data.load_cifar10("test", data_root).images[:1000])


def test_subset_and_split_are_seeded_and_disjoint():
    images = torch.arange(100, dtype=torch.uint8).view(100, 1, 1, 1).expand(100, 1, 2, 2).contiguous()
    full = data.ImageTensors(images, torch.arange(100) % 10, {"dataset": "toy"})
    assert torch.equal(data.subset(full, 30, seed=1).images, data.subset(full, 30, seed=1).images)
    assert not torch.equal(data.subset(full, 30, seed=1).images, data.subset(full, 30, seed=2).images)
    rest, held = data.split_off(full, 20, seed=0)
    assert len(rest) == 80 and len(held) == 20
    assert set(rest.images[:, 0, 0, 0].tolist()).isdisjoint(held.images[:, 0, 0, 0].tolist())
    assert rest.description["part"] == "rest" and held.description["size"] == 20
    with pytest.raises(ValueError):
        data.split_off(full, 100)
    assert data.one_per_class(full).tolist() == list(range(10))


def test_batches_cover_every_image_once():
    images = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1)
    seen = torch.cat(list(data.iterate_batches(images, 3, shuffle=True, generator=torch.Generator().manual_seed(0))))
    assert sorted(seen.flatten().tolist()) == list(range(10))
    assert [len(b) for b in data.iterate_batches(images, 4)] == [4, 4, 2]
    with pytest.raises(ValueError, match="batch_size"):
        next(data.iterate_batches(images, 0))


def test_image_tensors_reject_float_images():
    with pytest.raises(ValueError, match="uint8"):
        data.ImageTensors(torch.rand(2, 1, 4, 4), torch.zeros(2))


def test_binarize_is_seeded_and_binary():
    images = torch.full((4, 1, 8, 8), 128, dtype=torch.uint8)
    toy = data.ImageTensors(images, torch.zeros(4, dtype=torch.long), {"dataset": "toy"})
    a, b = data.binarize(toy, seed=1), data.binarize(toy, seed=1)
    assert torch.equal(a.images, b.images) and set(a.images.unique().tolist()) <= {0, 255}
    assert 0.3 < (a.images == 255).float().mean() < 0.7 and a.description["binarized_seed"] == 1


def test_greyscale_is_the_bt601_luma():
    images = torch.zeros(3, 3, 2, 2, dtype=torch.uint8)
    images[0] = 200                      # a grey image stays the same grey
    images[1, 0] = 255                   # pure red -> 0.299 * 255 = 76.2
    images[2, 1] = 255                   # pure green -> 0.587 * 255 = 149.7
    grey = data.to_greyscale(data.ImageTensors(images, torch.zeros(3, dtype=torch.long), {"dataset": "toy"}))
    assert grey.images.shape == (3, 1, 2, 2) and grey.images.dtype == torch.uint8
    assert grey.images[:, 0, 0, 0].tolist() == [200, 76, 150]
    assert grey.description == {"dataset": "toy", "greyscale": "bt601"}
    with pytest.raises(ValueError, match="colour images"):
        data.to_greyscale(grey)


def write_cifar_batches(root, batch_bytes: dict[str, bytes] | None = None):
    """A cifar-10-batches-py folder of tiny batches (4 images each); batch_bytes replaces named files' contents."""
    import pickle

    import numpy as np

    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {"batch_label": name, "labels": [0, 1, 2, 3], "data": np.arange(4 * 3072, dtype=np.uint8).reshape(4, 3072),
                 "filenames": [f"{i}.png" for i in range(4)]}
        (folder / name).write_bytes((batch_bytes or {}).get(name) or pickle.dumps(batch, protocol=2))
    return folder


class RunsACommand:
    """What a hostile batch pickles: loading it calls os.system."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        import os
        return os.system, (self.command,)


def test_a_hostile_cifar_batch_is_refused_and_runs_nothing(tmp_path):
    import pickle

    marker = tmp_path / "the command ran"
    hostile = pickle.dumps({"data": RunsACommand(f"touch '{marker}'"), "labels": [0]}, protocol=2)
    folder = write_cifar_batches(tmp_path, {"test_batch": hostile})
    assert len(data.load_cifar10("train", tmp_path)) == 20  # well-formed batches still load
    with pytest.raises(data.DamagedDataError) as error:
        data.load_cifar10("test", tmp_path)
    assert not marker.exists()
    message = str(error.value)
    assert str(folder / "test_batch") in message and "posix.system" in message and "cifar-10-python.tar.gz" in message


def test_a_truncated_cifar_batch_names_the_file_and_how_to_restore_it(tmp_path):
    folder = write_cifar_batches(tmp_path)
    whole = (folder / "data_batch_3").read_bytes()
    (folder / "data_batch_3").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(data.DamagedDataError, match="data_batch_3 is not a readable CIFAR-10 batch: .*truncated.*"
                                                    "cifar-10-python.tar.gz"):
        data.load_cifar10("train", tmp_path)
    (folder / "data_batch_3").write_bytes(b"<html>quota exceeded</html>")
    with pytest.raises(data.DamagedDataError, match="data_batch_3 is not a readable CIFAR-10 batch"):
        data.load_cifar10("train", tmp_path)


def test_a_mistyped_data_root_is_reported_not_created(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(data.DatasetNotFoundError, match="does not exist; nothing was created"):
        data.load_mnist("test", "5")  # `-p data_dir 5`
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "notes.txt").write_text("")
    with pytest.raises(data.DatasetNotFoundError, match="is a file, not a folder"):
        data.load_mnist("test", tmp_path / "notes.txt")
