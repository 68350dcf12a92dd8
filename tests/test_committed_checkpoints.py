"""Checks on the weights the notebooks committed: the bounds behave as the maths says on a really trained VAE."""
from pathlib import Path

import pytest

from vae_utils import data, metrics
from vae_utils.train import load_trained

REPO = Path(__file__).resolve().parents[1]


def committed(prefix: str) -> Path:
    paths = [p for p in (REPO / "checkpoints").glob(f"{prefix}*.pt") if not p.name.endswith(".partial.pt")]
    assert len(paths) == 1, f"expected one committed checkpoint {prefix}*.pt, found {[p.name for p in paths]}"
    return paths[0]


# notebook 02's 10-epoch z = 20 VAE (its 12-epoch continuation shares the name, not the key) and PyTorch's example
@pytest.mark.parametrize("prefix", ["02_s1_conv_z20-56f51b0bbb11a094", "02_pytorch_example_z20-"])
def test_iwae_bound_is_above_the_elbo_and_rises_with_k(prefix, data_root):
    model = load_trained(committed(prefix), device="cpu")
    images = data.binarize(data.subset(data.load_mnist("test", data_root), 200, seed=1), seed=1).images
    elbo = metrics.evaluate_elbo(model, images)["elbo"]
    bounds = [metrics.iwae_bound(model, images, k=k, batch_size=50, chunk=50).mean().item() for k in (1, 10, 100)]
    assert abs(bounds[0] - elbo) < 1.0
    assert bounds[0] < bounds[1] < bounds[2]
    assert bounds[2] > elbo + 0.5
    assert -120 < bounds[2] < -80  # a trained binarised-MNIST VAE, not a fresh network (about -540 nats)


@pytest.mark.parametrize("prefix", ["03_mlp_vae_z128_s0-", "03_conv_vae_z128_s0-"])
def test_cifar_vae_is_a_density_model_with_a_sensible_bits_per_dim(prefix, data_root):
    model = load_trained(committed(prefix), device="cpu")
    images = data.load_dataset("cifar10", "test", data_root).images[:50]
    scale = model.log_scale.item()
    assert -4.0 < scale < -1.0  # a learned sigma of a few to tens of grey levels, not the initial 1
    elbo = metrics.evaluate_elbo(model, images, likelihood="discretized_gaussian", gaussian_log_scale=scale)["elbo"]
    bounds = [metrics.iwae_bound(model, images, k=k, likelihood="discretized_gaussian", gaussian_log_scale=scale,
                                 batch_size=50, chunk=50).mean().item() for k in (1, 20)]
    assert abs(bounds[0] - elbo) < 20.0 and bounds[1] > bounds[0]
    assert 3.0 < metrics.bits_per_dim(-bounds[1], 3072) < 8.0  # between the best published models and raw bytes


def test_notebook_07s_classifier_and_vae_make_images_that_keep_their_labels(data_root):
    """Notebook 07's committed Table 4 classifier is a trained one, and its committed VAE's reconstructions of real
    digits are still read as those digits, while heavy noise on the codes loses labels."""
    import torch

    from vae_utils.classify import predictions
    from vae_utils.models import build_classifier
    from vae_utils.synthetic import label_agreement, perturbed_decodes

    classifier = build_classifier((1, 28, 28))
    classifier.load_state_dict(torch.load(committed("07_table4_classifier-"), weights_only=True)["model"])
    vae = load_trained(committed("07_s1_conv_vae_half_a-"), device="cpu")
    test = data.subset(data.load_mnist("test", data_root), 500, seed=1)
    assert (predictions(classifier, test.images) == test.labels).float().mean() > 0.98
    plain = label_agreement(classifier, perturbed_decodes(vae, test.images, 0.0), test.labels)["accuracy"]
    heavy = label_agreement(classifier, perturbed_decodes(vae, test.images, 8.0, portion=1.0), test.labels)["accuracy"]
    assert plain > 0.9 and heavy < plain
