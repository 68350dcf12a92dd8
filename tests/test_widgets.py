import pytest
import torch

from vae_utils.widgets import LatentExplorer, decode_to_png


def decoder(z: torch.Tensor) -> torch.Tensor:
    """A toy decoder: image brightness follows z[0], a bar's position follows z[1]."""
    image = torch.full((1, 1, 8, 8), float(torch.sigmoid(z[0, 0])))
    image[0, 0, :, int(torch.clamp((z[0, 1] + 2) * 2, 0, 7))] = 1.0
    return image


def test_png_bytes():
    png = decode_to_png(decoder, torch.zeros(2), scale=3)
    assert png.startswith(b"\x89PNG")


def test_slider_change_redraws_the_image():
    explorer = LatentExplorer(decoder, torch.zeros(2), dims=[0, 1], limits=[(-3, 3), (-2, 2)])
    before = explorer.image.value
    explorer.sliders[0].value = 2.5  # the observer calls update() as JupyterLab would
    assert explorer.current_code().tolist() == [2.5, 0.0]
    assert explorer.image.value != before
    explorer.sliders[0].value = 0.0
    assert explorer.image.value == before  # same code, same picture


def test_bad_explorer_arguments():
    with pytest.raises(ValueError, match="one \\(low, high\\) per slider"):
        LatentExplorer(decoder, torch.zeros(2), dims=[0, 1], limits=[(-1, 1)])
    with pytest.raises(ValueError, match="dims must be in 0..1"):
        LatentExplorer(decoder, torch.zeros(2), dims=[5], limits=[(-1, 1)])


@pytest.mark.parametrize("prefix, dims", [("01_mnist_conv_z2-", [0, 1]), ("02_s1_conv_z2-490d45b2a4742248", [0, 1]),
                                          ("02_s1_conv_z20-56f51b0bbb11a094", [0, 5, 12])])  # 02's 10-epoch runs, by key
def test_the_notebooks_explorers_redraw_from_their_committed_decoders(prefix, dims):
    """The explorers of notebooks 01 and 02, headless: the committed decoder behind the sliders redraws the image."""
    from pathlib import Path

    from vae_utils.train import load_trained

    paths = list((Path(__file__).resolve().parents[1] / "checkpoints").glob(f"{prefix}*.pt"))
    assert len(paths) == 1, f"expected one committed checkpoint {prefix}*.pt, found {paths}"
    model = load_trained(paths[0], device="cpu")
    explorer = LatentExplorer(lambda z: torch.sigmoid(model.decode(z)), torch.zeros(model.latent_dim), dims=dims,
                              limits=[(-3, 3)] * len(dims))
    before = explorer.image.value
    explorer.sliders[0].value = 2.5
    assert bytes(explorer.image.value).startswith(b"\x89PNG") and bytes(explorer.image.value) != bytes(before)


def test_reconstruction_explorer_redraws_and_scores_the_chosen_image_and_model():
    from vae_utils.widgets import ReconstructionExplorer
    images = torch.rand(5, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    models = {"identity": lambda x: x, "grey": lambda x: torch.full_like(x, 0.5)}
    score = lambda recon, original: {"mse": (recon - original).pow(2).mean().item()}
    explorer = ReconstructionExplorer(images, models, score, start=2)
    assert explorer.index.value == 2 and explorer.model.value == "identity"
    assert explorer.update() == {"mse": 0.0} and bytes(explorer.image.value).startswith(b"\x89PNG")
    before = explorer.image.value
    explorer.model.value = "grey"  # the observer redraws, as in JupyterLab
    assert explorer.image.value != before and "mse" in explorer.scores.value
    assert explorer.update()["mse"] == pytest.approx((images[2] - 0.5).pow(2).mean().item())
    explorer.index.value = 4
    assert explorer.update()["mse"] == pytest.approx((images[4] - 0.5).pow(2).mean().item())
    with pytest.raises(ValueError, match="start must be"):
        ReconstructionExplorer(images, models, score, start=9)


class ToyVAE(torch.nn.Module):
    """Decodes z to a flat image of brightness sigmoid(gain * z[0]); its code is the image's mean brightness."""

    def __init__(self, gain: float):
        super().__init__()
        self.gain, self.latent_dim = torch.nn.Parameter(torch.tensor(gain)), 2

    def decode(self, z):
        return (self.gain * z[:, :1]).view(-1, 1, 1, 1).expand(-1, 1, 4, 4)

    def reconstruct(self, x):
        return torch.sigmoid(self.decode(torch.logit(x.mean((1, 2, 3)).clamp(0.01, 0.99)).view(-1, 1).repeat(1, 2) / self.gain))


def test_decode_comparer_redraws_on_every_control():
    from vae_utils.widgets import DecodeComparer
    images = torch.stack([torch.full((1, 4, 4), v) for v in (0.2, 0.5, 0.9)])
    comparer = DecodeComparer({"sharp": ToyVAE(5.0), "collapsed": ToyVAE(0.0001)}, images, first=0, second=2)
    row = comparer.current_row()
    assert row.shape == (5, 1, 4, 4)
    assert torch.allclose(row[1], images[0], atol=1e-3) and torch.allclose(row[3], images[2], atol=1e-3)
    before = comparer.image.value
    comparer.model_menu.value = "collapsed"
    assert comparer.image.value != before
    assert torch.allclose(comparer.current_row()[4], torch.full((1, 4, 4), 0.5), atol=1e-3)  # noise decodes to grey
    comparer.model_menu.value = "sharp"
    assert comparer.image.value == before
    comparer.second.value = 1
    assert torch.allclose(comparer.current_row()[2], images[1])
    with pytest.raises(ValueError, match="image indices"):
        DecodeComparer({"sharp": ToyVAE(1.0)}, images, first=5)


def test_sweep_explorer_redraws_when_the_slider_moves():
    from vae_utils.widgets import SweepExplorer
    images = torch.stack([torch.full((1, 4, 4), v) for v in (0.2, 0.9)])
    explorer = SweepExplorer({"w = 1": ToyVAE(0.0001), "w = 6000": ToyVAE(5.0)}, images, samples=3)
    reconstructions, samples = explorer.current_rows()
    assert reconstructions.shape == (2, 1, 4, 4) and samples.shape == (3, 1, 4, 4)
    assert torch.allclose(samples, torch.full_like(samples, 0.5), atol=1e-3)  # the collapsed toy decodes grey
    before = explorer.image.value
    explorer.slider.value = "w = 6000"
    assert explorer.image.value != before and explorer.current_rows()[1].std() > 0.01
    explorer.slider.value = "w = 1"
    assert explorer.image.value == before


def test_generated_digits_explorer_redraws_and_reports_the_classifier_labels():
    from vae_utils.widgets import GeneratedDigitsExplorer
    generate = lambda digit, scale: torch.full((4, 1, 8, 8), min(1.0, 0.1 * digit + 0.1 * scale))
    classify = lambda images: torch.full((len(images),), 3 if images.mean() > 0.25 else 0)
    explorer = GeneratedDigitsExplorer(generate, classify, [0.0, 1.0, 4.0], digits=[0, 3])
    assert explorer.update() == {"predicted": [0, 0, 0, 0], "agree": 1.0}
    before = bytes(explorer.image.value)
    explorer.digit.value = 3  # the observer calls update() as JupyterLab would
    assert bytes(explorer.image.value) != before and "100%" in explorer.predictions.value
    explorer.noise.value = 4.0
    assert "agree with 3" in explorer.predictions.value
    with pytest.raises(ValueError, match="at least one noise scale"):
        GeneratedDigitsExplorer(generate, classify, [])


def test_the_synthetic_notebooks_explorer_redraws_from_its_committed_vae():
    """Notebook 07's explorer, headless: the committed VAE and Table 4 classifier behind the controls."""
    from pathlib import Path

    from vae_utils.classify import predictions
    from vae_utils.models import build_classifier
    from vae_utils.synthetic import perturbed_decodes
    from vae_utils.train import load_trained
    from vae_utils.widgets import GeneratedDigitsExplorer

    folder = Path(__file__).resolve().parents[1] / "checkpoints"
    vaes, classifiers = list(folder.glob("07_s1_conv_vae_half_a-*.pt")), list(folder.glob("07_table4_classifier-*.pt"))
    if not vaes or not classifiers:
        pytest.skip("notebook 07's checkpoints are not committed")
    vae = load_trained(vaes[0], device="cpu")
    classifier = build_classifier((1, 28, 28))
    classifier.load_state_dict(torch.load(classifiers[0], weights_only=True)["model"])
    g = torch.Generator().manual_seed(0)
    images = (torch.rand(10, 1, 28, 28, generator=g) * 255).to(torch.uint8)
    explorer = GeneratedDigitsExplorer(lambda digit, scale: perturbed_decodes(vae, images, scale),
                                       lambda x: predictions(classifier.float(), x), [0.0, 4.0])
    before = bytes(explorer.image.value)
    explorer.noise.value = 4.0
    assert bytes(explorer.image.value).startswith(b"\x89PNG") and bytes(explorer.image.value) != before


def test_loss_convention_explorer_retranslates_on_every_knob():
    """Headless: moving the knobs re-translates the loss, as in JupyterLab; σ, β and the warning follow."""
    from vae_utils.widgets import LossConventionExplorer
    explorer = LossConventionExplorer()  # S0's mean-MSE + KL on CIFAR-10
    start = explorer.update()
    assert start.scale_unit == pytest.approx(39.19, abs=0.01) and start.collapse.warns
    assert "WARNING" in explorer.summary.value and "39.19" in explorer.summary.value
    explorer.recon_weight.value = 6000.0  # the observer re-translates
    assert "no total collapse expected" in explorer.summary.value and "WARNING" not in explorer.summary.value
    assert explorer.update().scale_unit == pytest.approx(0.506, abs=1e-3)
    explorer.data_range.value = "[-1, 1]"
    assert explorer.update().grey_levels == pytest.approx(129.0 / 2, abs=0.5)
    explorer.reconstruction.value = "bce"  # a cross-entropy on [-1, 1] data: refused, with the reason
    assert explorer.update() is None and "needs targets in [0, 1]" in explorer.summary.value
    explorer.data_range.value = "[0, 1]"
    explorer.pixel_reduction.value = "sum"
    assert explorer.update().beta == pytest.approx(1 / 6000)
    explorer.kl_weight_scaling.value = "batch_size/dataset_size"
    assert "depends on the batch size" in explorer.summary.value
