"""The CelebA reader on a tiny fixture in the real layout (written here, never the shared data), and its split."""
from pathlib import Path

import pytest
import torch
from PIL import Image

from vae_utils import data

NAMES = ("Eyeglasses", "Male", "Smiling")


def save_jpeg(image: torch.Tensor, path: Path) -> None:
    Image.fromarray(image.permute(1, 2, 0).numpy()).save(path, quality=95)


def write_celeba(root: Path, people=(1, 1, 2, 3, 3, 3, 4, 5, 6, 7), partition=None, side=(20, 24)) -> Path:
    """A CelebA folder under root/celeba with len(people) faces of `side` (w, h), one attribute row each."""
    folder = root / "celeba"
    (folder / "img_align_celeba").mkdir(parents=True)
    names = [f"{i + 1:06d}.jpg" for i in range(len(people))]
    generator = torch.Generator().manual_seed(0)
    for i, name in enumerate(names):
        image = torch.full((3, side[1], side[0]), (20 * i) % 200, dtype=torch.uint8)
        image[:, : side[1] // 2] += torch.randint(0, 30, (3, side[1] // 2, side[0]), generator=generator, dtype=torch.uint8)
        save_jpeg(image, folder / "img_align_celeba" / name)
    rows = [f"{name} " + " ".join("1" if (i + j) % 3 == 0 else "-1" for j in range(len(NAMES))) for i, name in enumerate(names)]
    (folder / "list_attr_celeba.txt").write_bytes(("\r\n".join([str(len(names)), " ".join(NAMES)] + rows) + "\r\n").encode())
    (folder / "identity_CelebA.txt").write_text("\n".join(f"{n} {p}" for n, p in zip(names, people)) + "\n")
    partition = partition or [0] * len(names)
    (folder / "list_eval_partition.txt").write_bytes("\r\n".join(f"{n} {p}" for n, p in zip(names, partition)).encode())
    return folder


def test_reads_the_layout_crops_and_resizes(tmp_path):
    write_celeba(tmp_path)
    faces = data.load_celeba(8, tmp_path, cache_dir=tmp_path / "cache")
    assert faces.images.shape == (10, 3, 8, 8) and faces.images.dtype == torch.uint8
    assert faces.attribute_names == NAMES and faces.attributes.shape == (10, 3)
    assert faces.attribute("Eyeglasses").tolist() == [i % 3 == 0 for i in range(10)]
    assert faces.labels.tolist() == [1, 1, 2, 3, 3, 3, 4, 5, 6, 7] and faces.filenames[0] == "000001.jpg"
    # the crop is a centred square of 148/178 of the width (17 of 20 pixels): only the noisy top half of a 24-pixel
    # image is cut away partly, so the face's mean stays near its base grey
    assert abs(faces.images[3].float().mean().item() - 60 - 7) < 10
    with pytest.raises(ValueError, match="Unknown attribute 'Beard'"):
        faces.attribute("Beard")


def test_decoded_tensors_are_cached_by_files_and_transform(tmp_path, monkeypatch):
    folder = write_celeba(tmp_path)
    first = data.load_celeba(8, tmp_path, cache_dir=tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("celeba_8-*.pt"))) == 1

    def no_decoding(*args):
        raise AssertionError("decoded although the cache holds these faces")

    monkeypatch.setattr(data, "_decode_face", no_decoding)
    assert torch.equal(data.load_celeba(8, tmp_path, cache_dir=tmp_path / "cache").images, first.images)
    with pytest.raises(AssertionError, match="decoded although"):  # another transform: another cache entry
        data.load_celeba(16, tmp_path, cache_dir=tmp_path / "cache")
    save_jpeg(torch.zeros(3, 30, 20, dtype=torch.uint8), folder / "img_align_celeba" / "000002.jpg")
    with pytest.raises(AssertionError, match="decoded although"):  # a changed source file: decoded anew
        data.load_celeba(8, tmp_path, cache_dir=tmp_path / "cache")


def test_missing_folder_says_what_where_and_how(tmp_path):
    with pytest.raises(data.DatasetNotFoundError) as error:
        data.load_celeba(8, tmp_path, cache_dir=tmp_path / "cache")
    message = str(error.value)
    assert str(tmp_path / "celeba") in message and "img_align_celeba" in message and "list_eval_partition.txt" in message
    assert "Expected layout" in message and "mmlab.ie.cuhk.edu.hk" in message and "VAE_DATA_DIR" in message


@pytest.mark.parametrize("damage, expected", [
    (lambda f: (f / "identity_CelebA.txt").unlink(), "no identity_CelebA.txt"),
    (lambda f: (f / "img_align_celeba" / "000004.jpg").unlink(), "1 of the 10 images listed"),
    (lambda f: (f / "list_eval_partition.txt").write_text("000001.jpg 0\n"), "list_eval_partition.txt has no row for 9"),
    (lambda f: (f / "list_attr_celeba.txt").write_text("202599\nEyeglasses Male Smiling\n000001.jpg 1 -1 1\n"),
     "announces 202,599 images but holds 1"),
])
def test_a_partial_folder_is_one_clear_error(tmp_path, damage, expected):
    damage(write_celeba(tmp_path))
    with pytest.raises(data.DatasetNotFoundError, match=expected) as error:
        data.load_celeba(8, tmp_path, cache_dir=tmp_path / "cache")
    assert "Expected layout" in str(error.value)


def test_split_by_identity_keeps_each_person_on_one_side(tmp_path):
    write_celeba(tmp_path, people=tuple(i // 3 for i in range(60)))
    faces = data.load_celeba(8, tmp_path, cache_dir=tmp_path / "cache")
    train, val, test = data.celeba_splits(faces, fractions=(0.2, 0.2), seed=1)
    assert len(train) + len(val) + len(test) == 60 and len(test) == 12 and len(val) == 12
    people = [set(part.labels.tolist()) for part in (train, val, test)]
    assert not (people[0] & people[1] or people[0] & people[2] or people[1] & people[2])
    assert test.description["split_rule"] == "identity" and test.description["split"] == "test"
    again = data.celeba_splits(faces, fractions=(0.2, 0.2), seed=1)[2]
    assert again.filenames == test.filenames  # deterministic
    assert data.celeba_splits(faces, fractions=(0.2, 0.2), seed=2)[2].filenames != test.filenames
    with pytest.raises(ValueError, match="fractions"):
        data.celeba_splits(faces, fractions=(0.5, 0.5))


def test_official_partition_is_used_when_present(tmp_path):
    write_celeba(tmp_path, partition=[0, 0, 0, 0, 0, 0, 1, 1, 2, 2])
    train, val, test = data.celeba_splits(data.load_celeba(8, tmp_path, cache_dir=tmp_path / "cache"))
    assert (len(train), len(val), len(test)) == (6, 2, 2) and test.description["split_rule"] == "official"
    assert test.filenames == ("000009.jpg", "000010.jpg")


def test_subset_and_select_keep_attributes_aligned(tmp_path):
    write_celeba(tmp_path)
    faces = data.load_celeba(8, tmp_path, cache_dir=tmp_path / "cache")
    part = faces.subset(4, seed=0)
    assert len(part) == 4 and part.description["subset_seed"] == 0
    for i, name in enumerate(part.filenames):
        j = faces.filenames.index(name)
        assert torch.equal(part.images[i], faces.images[j]) and torch.equal(part.attributes[i], faces.attributes[j])
    assert faces.subset(None) is faces
    picked = faces.select(faces.attribute("Eyeglasses"))
    assert picked.attribute("Eyeglasses").all() and len(picked) == 4


def test_the_shared_subset_when_present(tmp_path):
    """Our offline copy (SOURCE.md's facts): 10,000 faces, 5,429 people, Male on 42.17%, no person on two sides."""
    from conftest import real_data_root

    root = real_data_root()
    if root is None or not (root / "celeba" / "list_attr_celeba.txt").is_file():
        pytest.skip("the CelebA subset is not under the data root")
    faces = data.load_celeba(32, root, cache_dir=tmp_path)
    assert faces.images.shape == (10_000, 3, 32, 32) and faces.labels.unique().numel() == 5_429
    assert faces.attribute("Male").sum().item() == 4_217 and faces.attribute("Eyeglasses").sum().item() == 674
    train, val, test = data.celeba_splits(faces)
    assert not set(train.labels.tolist()) & (set(val.labels.tolist()) | set(test.labels.tolist()))
    assert len(train) + len(val) + len(test) == 10_000


def test_a_truncated_jpeg_is_named_with_how_to_restore_it(tmp_path):
    folder = write_celeba(tmp_path)
    jpeg = folder / "img_align_celeba" / "000007.jpg"
    jpeg.write_bytes(jpeg.read_bytes()[:300])
    with pytest.raises(data.DamagedDataError) as error:
        data.load_celeba(8, tmp_path, cache_dir=tmp_path / "cache")
    message = str(error.value)
    assert str(jpeg) in message and "truncated" in message and "img_align_celeba.zip" in message


def test_the_data_readme_describes_the_celeba_layout_that_is_read():
    row, = [line for line in (data.REPO_ROOT / "data" / "README.md").read_text().splitlines() if line.startswith("| CelebA")]
    assert "later" not in row
    assert all(name in row for name in (data.CELEBA_IMAGES, *data.CELEBA_TEXT_FILES))


def test_a_cache_that_cannot_be_written_is_a_warning(tmp_path, monkeypatch):
    """Decoded faces cached on a full disk raised torch's 'unexpected pos' RuntimeError and lost the load."""
    import errno
    write_celeba(tmp_path)

    def full_disk(self, content):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    with pytest.warns(UserWarning, match="could not cache the decoded faces at .*No space left on device"):
        faces = data.load_celeba(8, tmp_path, cache_dir=tmp_path / "cache")
    assert len(faces) == 10 and not list((tmp_path / "cache").iterdir())
