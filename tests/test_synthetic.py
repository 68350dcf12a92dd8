"""VAE-made training data (vae_utils.synthetic), the conditional VAE and the step-budget classifier (vae_utils.classify)."""
import pytest
import torch

from vae_utils import synthetic
from vae_utils.classify import (ClassifierConfig, affine_augmenter, batch_indices, classifier_record,
                                fit_classifier_steps, per_class_accuracy, predictions)
from vae_utils.data import ImageTensors
from vae_utils.models import ConditionalVAE, ModelSpec, build_model
from vae_utils.train import TrainConfig


def halves(count: int = 128, seed: int = 0) -> ImageTensors:
    """Two classes on 8x8 images: class 1 has a bright top half, class 0 a bright bottom half."""
    labels = torch.randint(0, 2, (count,), generator=torch.Generator().manual_seed(seed))
    images = torch.zeros(count, 1, 8, 8, dtype=torch.uint8)
    images[labels == 1, :, :4] = 255
    images[labels == 0, :, 4:] = 255
    return ImageTensors(images, labels, {"dataset": "halves", "seed": seed, "size": count})


def small_vae():
    torch.manual_seed(0)
    return build_model(ModelSpec("s1_conv", (1, 8, 8), 4, variational=True)).eval()


def test_noise_scale_zero_gives_the_reconstructions_and_noise_moves_them():
    vae, images = small_vae(), halves(16).images
    plain = synthetic.perturbed_decodes(vae, images, 0.0)
    assert plain.shape == (16, 1, 8, 8) and 0 <= plain.min() and plain.max() <= 1
    assert torch.allclose(plain, vae.reconstruct(images.float() / 255), atol=1e-6)
    noisy = synthetic.perturbed_decodes(vae, images, 3.0, portion=1.0, seed=1)
    assert not torch.allclose(noisy, plain)
    assert torch.equal(noisy, synthetic.perturbed_decodes(vae, images, 3.0, portion=1.0, seed=1))  # seeded
    assert torch.allclose(synthetic.perturbed_decodes(vae, images, 3.0, portion=0.0), plain, atol=1e-6)  # no coordinate chosen


def test_perturbed_codes_change_only_the_chosen_portion(monkeypatch):
    vae, images = small_vae(), halves(200).images
    seen = []
    original_decode = vae.decode
    monkeypatch.setattr(vae, "decode", lambda z: seen.append(z) or original_decode(z))
    synthetic.perturbed_decodes(vae, images, 1.0, portion=0.25, seed=0)
    changed = (torch.cat(seen) != vae.code(images.float() / 255)).float().mean().item()
    assert 0.2 < changed < 0.3


def test_bad_generation_arguments_are_clear_errors():
    vae, images = small_vae(), halves(4).images
    with pytest.raises(ValueError, match="noise_scale must be >= 0"):
        synthetic.perturbed_decodes(vae, images, -1.0)
    with pytest.raises(ValueError, match="portion in \\[0, 1\\]"):
        synthetic.perturbed_decodes(vae, images, 1.0, portion=1.5)
    with pytest.raises(ValueError, match="needs a VAE"):
        synthetic.perturbed_decodes(build_model(ModelSpec("s1_conv", (1, 8, 8), 4)), images, 1.0)


def test_generated_sets_keep_their_labels_and_describe_themselves_before_being_made():
    vae, source = small_vae(), halves(10)
    made = synthetic.perturbed_dataset(vae, "vae.pt", source, 0.5, 0.5, seed=3)
    assert made.images.dtype == torch.uint8 and torch.equal(made.labels, source.labels)
    assert made.description == synthetic.perturbed_description("vae.pt", source, 0.5, 0.5, 3)
    assert made.description["source"] == source.description and made.description["size"] == 10


def test_combine_concatenates_and_rejects_other_shapes():
    a, b = halves(5, seed=0), halves(7, seed=1)
    both = synthetic.combine(a, b)
    assert len(both) == 12 and torch.equal(both.labels[5:], b.labels)
    assert both.description == synthetic.combine_description(a.description, b.description)
    other = ImageTensors(torch.zeros(2, 1, 4, 4, dtype=torch.uint8), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="different image shapes"):
        synthetic.combine(a, other)
    with pytest.raises(ValueError, match="at least one"):
        synthetic.combine()


def test_to_uint8_rounds_and_clamps():
    assert synthetic.to_uint8(torch.tensor([-0.5, 0.0, 0.5, 1.0, 2.0])).tolist() == [0, 0, 128, 255, 255]


def test_conditional_vae_shapes_and_label_errors():
    torch.manual_seed(0)
    model = ConditionalVAE((1, 8, 8), latent_dim=3, classes=2)
    data = halves(6)
    out = model(data.as_float(), data.labels)
    assert out["mu"].shape == (6, 3) and out["logits"].shape == (6, 1, 8, 8)
    assert model.sample(torch.tensor([0, 1, 1])).shape == (3, 1, 8, 8)
    with pytest.raises(ValueError, match="labels must be in 0..1"):
        model.sample(torch.tensor([2]))
    with pytest.raises(ValueError, match="6 images but 2 labels"):
        model.encode(data.as_float(), data.labels[:2])
    with pytest.raises(ValueError, match="at least 2 classes"):
        ConditionalVAE((1, 8, 8), 3, classes=1)


def test_the_conditional_vae_learns_to_draw_the_asked_class(tmp_path):
    data = halves(256)
    run = synthetic.fit_conditional_vae(TrainConfig(epochs=15, batch_size=32, learning_rate=3e-3), data, 2, name="cvae",
                                        checkpoint_dir=tmp_path, progress=False)
    assert run.history["train_loss"][-1] < run.history["train_loss"][0]
    made = synthetic.conditional_dataset(run.model, run.path.name, data, seed=0)
    assert torch.equal(made.labels, data.labels) and made.description["labels_from"] == data.description
    top_brighter = made.images[:, 0, :4].float().mean((1, 2)) > made.images[:, 0, 4:].float().mean((1, 2))
    assert (top_brighter == (data.labels == 1)).float().mean() > 0.95
    again = synthetic.fit_conditional_vae(TrainConfig(epochs=15, batch_size=32, learning_rate=3e-3), data, 2, name="cvae",
                                          checkpoint_dir=tmp_path, progress=False)
    assert again.from_cache and torch.equal(synthetic.conditional_dataset(again.model, "x", data).images, made.images)


def test_classifier_config_checks_its_values():
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        ClassifierConfig(steps=0)
    with pytest.raises(ValueError, match="Unknown schedule"):
        ClassifierConfig(schedule="step")
    with pytest.raises(ValueError, match="affine_translate in \\[0, 1\\)"):
        ClassifierConfig(affine_translate=1.5)


def test_batches_run_for_exactly_the_steps_asked_and_cover_each_pass():
    batches = list(batch_indices(10, 4, 7, torch.Generator().manual_seed(0)))
    assert len(batches) == 7 and [len(b) for b in batches[:3]] == [4, 4, 2]
    assert sorted(torch.cat(batches[:3]).tolist()) == list(range(10))
    assert [len(b) for b in batch_indices(3, 128, 2, torch.Generator())] == [3, 3]  # a set smaller than a batch


def test_affine_augmentation_moves_each_image_differently():
    assert affine_augmenter(ClassifierConfig()) is None
    torch.manual_seed(0)
    augment = affine_augmenter(ClassifierConfig(affine_degrees=30, affine_translate=0.2))
    batch = halves(8).images.clone()
    batch[:] = batch[0]  # eight copies of one image
    moved = augment(batch)
    assert moved.shape == batch.shape and moved.dtype == torch.uint8
    assert len({bytes(image.numpy()) for image in moved}) > 4


def test_step_classifier_learns_is_cached_and_records_only_numbers(tmp_path):
    data = halves(128)
    config = ClassifierConfig(steps=60, batch_size=32, learning_rate=3e-3)
    run = fit_classifier_steps(config, data, data, name="c", checkpoint_dir=tmp_path, progress=False)
    assert run.history["test_accuracy"] == [1.0] and len(run.history["train_loss"]) == 10
    cached = fit_classifier_steps(config, data, data, name="c", checkpoint_dir=tmp_path)
    assert cached.from_cache and torch.equal(predictions(cached.model, data.images), data.labels)
    stored = torch.load(run.path, weights_only=True)["model"]
    assert all(v.dtype == torch.float16 for v in stored.values() if torch.is_floating_point(v))  # half the space
    assert torch.equal(predictions(run.model, data.images), data.labels) and per_class_accuracy(run.model, data) == [1.0, 1.0]
    calls = []

    def make():
        calls.append(1)
        return data

    record = classifier_record(config, make, data.description, data, name="r", checkpoint_dir=tmp_path, progress=False)
    assert record["test_accuracy"] == 1.0 and record["train_images"] == 128 and calls == [1]
    assert classifier_record(config, make, data.description, data, name="r", checkpoint_dir=tmp_path) == record
    assert calls == [1]  # the cached record never builds the training set
    assert not list(tmp_path.glob("r-*.pt"))  # no weights kept
    with pytest.raises(ValueError, match="not \\{'other'"):
        classifier_record(config, make, {"other": 1}, data, name="r", checkpoint_dir=tmp_path)


def test_label_agreement_counts_per_class():
    class Fixed(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(()))

        def forward(self, x):  # always class 1
            return torch.tensor([[0.0, 1.0]]).expand(len(x), 2) + 0 * self.w

    agree = synthetic.label_agreement(Fixed(), torch.rand(4, 1, 8, 8), torch.tensor([0, 1, 1, 1]))
    assert agree["accuracy"] == 0.75 and agree["per_class"] == [0.0, 1.0] and agree["stderr"] > 0


def test_augmentation_grid_builds_each_set_from_the_same_real_and_source_images(tmp_path):
    """Each method's set is described before it is made, its real part is the same n half-B images, and the control
    adds the very half-A images the generated ones are made from."""
    from types import SimpleNamespace
    half_a, half_b, test = halves(40, seed=1), halves(40, seed=2), halves(20, seed=3)
    vae = SimpleNamespace(model=small_vae(), path=tmp_path / "vae.pt")
    cvae = SimpleNamespace(model=ConditionalVAE((1, 8, 8), 4, 2).eval(), path=tmp_path / "cvae.pt")
    grid = synthetic.AugmentationGrid(half_a, half_b, test, vae, cvae, 0.5, tmp_path)
    sets = {m: grid.training_set(m, 10, 0, 1.0) for m in synthetic.GRID_METHODS}
    for method, (description, make) in sets.items():
        assert make().description == description, method
    control, made = sets["real + real (half A)"][1](), sets["real + VAE (S1)"][1]()
    assert torch.equal(control.images[:10], made.images[:10]) and torch.equal(control.labels, made.labels)
    assert len(sets["real only"][1]()) == 10 and len(sets["VAE only"][1]()) == 10
    with pytest.raises(ValueError, match="Unknown method"):
        grid.training_set("real + GAN", 10, 0, 1.0)
    record = grid.record("real + affine", 10, 1, ClassifierConfig(steps=2, batch_size=8), prefix="toy")
    assert 0 <= record["test_accuracy"] <= 1 and len(list(tmp_path.glob("toy_real_affine_n10_s1-*.json"))) == 1
    assert grid.record("real + affine", 10, 1, ClassifierConfig(steps=2, batch_size=8), prefix="toy") == record  # cached
