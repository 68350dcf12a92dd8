"""The loss-convention translator against numbers worked out by hand, the ELBO computed on tensors, and the measured
runs behind its collapse threshold."""
import json
import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from conftest import needs_data
from vae_utils import losses
from vae_utils.loss_convention import (ACTIVE_UP_TO, COLLAPSED_FROM, DATA_SPECTRA, MEASURED_RUNS, LossConvention,
                                       collapse_check, collapse_evidence, convention_table, data_spectrum,
                                       loss_as_written, translate)

REPO = Path(__file__).resolve().parents[1]
CIFAR_MEAN_MSE = LossConvention("mse", "mean", "mean", image_shape=(3, 32, 32), dataset="cifar10")  # S0's loss


def test_mean_mse_plus_summed_kl_on_cifar_is_a_gaussian_of_sigma_39():
    t = translate(CIFAR_MEAN_MSE)
    assert t.decoder == "gaussian" and t.beta == 1
    assert t.scale_unit == pytest.approx(math.sqrt(3072 / 2)) == pytest.approx(39.19, abs=0.01)
    assert t.grey_levels == pytest.approx(9994, abs=1)  # 255 x 39.19
    assert t.weight_w == pytest.approx(1.0)  # notebooks 04/05's w
    # D (log sigma + log(2 pi) / 2) = 3072 x (3.668467 + 0.918939) = 14,092.5 nats
    assert t.loss_to_nats == pytest.approx(1.0) and t.nats_offset == pytest.approx(14092.5, abs=0.1)
    assert t.collapse.verdict == "collapse expected" and t.collapse.warns
    assert "0.92 λ₁" in t.collapse.text and "Lucas et al. 2019" in t.collapse.text
    fix = translate(replace(CIFAR_MEAN_MSE, recon_weight=6000.0))  # S0's x6000: sigma = sqrt(3072 / 12000)
    assert fix.scale_unit == pytest.approx(0.5060, abs=1e-4) and not fix.collapse.warns


def test_printed_losses_convert_to_the_nats_notebook_04_measured():
    """Notebook 04's equivalence check: the trained runs' printed w * MSE + KL against their Gaussian -ELBO."""
    check = json.loads((REPO / "results" / "04_posterior_collapse.json").read_text())["results"]["equivalence_check"]
    for row in check:
        t = translate(replace(CIFAR_MEAN_MSE, recon_weight=row["w"]))
        assert t.scale_unit == pytest.approx(row["σ = √(D/2w)"])
        assert t.nats_per_image(row["w·MSE + KL"]) == pytest.approx(row["−ELBO(σ)"], abs=1e-3)
    assert translate(CIFAR_MEAN_MSE).nats_per_image(0.0665094) == pytest.approx(14092.58, abs=0.01)


def test_summed_bce_plus_summed_kl_is_the_bernoulli_elbo_with_beta_1():
    pytorch_examples = LossConvention("bce", "sum", "sum", kl_batch_reduction="sum", batch_size=128,
                                      image_shape=(1, 28, 28), data_range="{0, 1}", dataset="mnist")
    t = translate(pytorch_examples)
    assert t.decoder == "bernoulli" and t.beta == 1 and t.nats_offset == 0
    # a batch of 128 printing 13,440 is 105 nats per image; on binary data 105 / (784 ln 2) = 0.1932 bits/dim
    assert t.nats_per_image(13440) == pytest.approx(105.0)
    assert t.nats_per_image(13440) * t.bits_per_dim == pytest.approx(0.1932, abs=1e-4)
    keras = LossConvention("bce", "sum", "mean", image_shape=(1, 28, 28), dataset="mnist")
    assert translate(keras).beta == 1 and translate(keras).loss_to_nats == 1
    assert translate(keras).bits_per_dim is None and "not a normalised likelihood" in translate(keras).text  # grey levels
    mean_bce = translate(replace(keras, pixel_reduction="mean"))  # the per-pixel mean: the KL weighted D-fold
    assert mean_bce.beta == pytest.approx(784) and "β = 784 > 1" in mean_bce.text


def test_a_batch_size_scaled_kl_weight_is_reported_as_such():
    antixk = LossConvention("mse", "mean", "mean", kl_weight_scaling="batch_size/dataset_size", batch_size=144,
                            dataset_size=162_770, image_shape=(3, 64, 64), data_range="[-1, 1]", dataset="celeba64")
    t = translate(antixk)
    assert t.scales_with == {"batch_size": 1.0, "dataset_size": -1.0}
    assert "depends on the batch size (144)" in t.text and "another batch_size" in t.text
    # sigma^2 = D B / (2 N) in [-1, 1] units = 12288 x 144 / 325,540 = 5.4355; halved for [0, 1] units: 1.1657
    assert t.scale == pytest.approx(2.3314, abs=1e-4) and t.scale_unit == pytest.approx(1.1657, abs=1e-4)
    assert t.loss_to_nats == pytest.approx(162_770 / 144)
    doubled = translate(replace(antixk, batch_size=288))
    assert doubled.scale_unit ** 2 == pytest.approx(2 * t.scale_unit ** 2)
    assert translate(CIFAR_MEAN_MSE).scales_with == {}


def test_data_in_minus_one_to_one_halves_sigma_in_grey_levels():
    """The same code on [-1, 1] data: the same sigma in the data's units, but a grey level is 2/255 there, not 1/255,
    so sigma in grey levels (and in [0, 1] units) halves, and w on [0, 1]-unit MSE is 4x (the MSE is 4x)."""
    unit, wide = translate(CIFAR_MEAN_MSE), translate(replace(CIFAR_MEAN_MSE, data_range="[-1, 1]"))
    assert wide.scale == pytest.approx(unit.scale)
    assert wide.grey_levels == pytest.approx(unit.grey_levels / 2) == pytest.approx(4997, abs=1)
    assert wide.weight_w == pytest.approx(4 * unit.weight_w)


def test_other_decoders_and_the_plain_autoencoder():
    laplace = translate(LossConvention("l1", "sum", "mean", image_shape=(1, 28, 28)))
    assert laplace.decoder == "laplace" and laplace.scale_unit == 1.0 and laplace.grey_levels == 255
    assert laplace.nats_offset == pytest.approx(784 * math.log(2))  # D log(2b)
    cb = translate(LossConvention("continuous_bernoulli", "sum", "mean", image_shape=(1, 28, 28)))
    assert cb.decoder == "continuous_bernoulli" and cb.beta == 1 and "a density" in cb.text
    autoencoder = translate(replace(CIFAR_MEAN_MSE, kl_weight=0.0))
    assert autoencoder.decoder == "none" and autoencoder.loss_to_nats is None
    with pytest.raises(ValueError, match="not an ELBO"):
        autoencoder.nats_per_image(1.0)
    half = translate(replace(CIFAR_MEAN_MSE, recon_weight=6000.0))
    assert half.beta_at(half.scale_unit) == pytest.approx(1.0)
    assert half.beta_at(2 * half.scale_unit) == pytest.approx(0.25)  # a decoder stated twice as noisy: beta 1/4


CONVENTIONS = [
    CIFAR_MEAN_MSE,
    replace(CIFAR_MEAN_MSE, recon_weight=6000.0, data_range="[-1, 1]"),
    LossConvention("mse", "sum", "sum", kl_weight=0.5, kl_batch_reduction="mean", batch_size=4, image_shape=(3, 32, 32)),
    LossConvention("mse", "mean", "mean", kl_weight=2.0, kl_dim_reduction="mean", kl_batch_reduction="sum",
                   kl_weight_scaling="batch_size/dataset_size", batch_size=4, dataset_size=1000, latent_dim=6,
                   image_shape=(3, 32, 32), data_range="[-1, 1]"),
    LossConvention("l1", "mean", "mean", recon_weight=3.0, image_shape=(3, 32, 32)),
    LossConvention("bce", "sum", "sum", kl_batch_reduction="sum", batch_size=4, image_shape=(3, 32, 32)),
    LossConvention("bce", "mean", "mean", recon_weight=10.0, image_shape=(3, 32, 32)),
]


@pytest.mark.parametrize("loss", CONVENTIONS, ids=lambda c: f"{c.reconstruction}-{c.pixel_reduction}-{c.data_range}")
def test_the_printed_loss_converts_to_the_objective_computed_from_the_package_log_likelihoods(loss):
    """On random tensors: printed loss x loss_to_nats + offset = mean over images of -log p(x|z) + beta KL, with p the
    translated decoder (a density of x in [0, 1]^D), computed by vae_utils.losses."""
    g = torch.Generator().manual_seed(0)
    x, logits = torch.rand(4, 3, 32, 32, generator=g), torch.randn(4, 3, 32, 32, generator=g)
    mu, logvar = torch.randn(4, 6, generator=g), torch.randn(4, 6, generator=g) * 0.3
    x_hat = torch.sigmoid(logits)
    t = translate(loss)
    kl = losses.gaussian_kl(mu, logvar)
    if t.decoder == "gaussian":
        nll = -losses.gaussian_log_likelihood(x_hat, x, math.log(t.scale_unit))
    elif t.decoder == "laplace":
        nll = -torch.distributions.Laplace(x_hat, t.scale_unit).log_prob(x).flatten(1).sum(1)
    else:
        nll = -losses.bernoulli_log_likelihood(logits, x)
    wide = loss.data_range == "[-1, 1]"
    printed = loss_as_written(loss, 2 * x - 1 if wide else x, 2 * x_hat - 1 if wide else x_hat, mu, logvar)
    assert t.nats_per_image(printed.item()) == pytest.approx((nll + t.beta * kl).mean().item(), rel=1e-5)


def test_the_printed_terms_convert_separately():
    """AntixK logs its two terms unweighted: F.mse_loss (a mean over all values) and the batch-mean KL."""
    loss = LossConvention("mse", "mean", "mean", kl_weight_scaling="batch_size/dataset_size", batch_size=4,
                          dataset_size=1000, image_shape=(3, 32, 32))
    g = torch.Generator().manual_seed(1)
    x, x_hat = torch.rand(4, 3, 32, 32, generator=g), torch.rand(4, 3, 32, 32, generator=g)
    mu, logvar = torch.randn(4, 5, generator=g), torch.randn(4, 5, generator=g)
    t = translate(loss)
    recon_printed, kl_printed = torch.nn.functional.mse_loss(x_hat, x), losses.gaussian_kl(mu, logvar).mean()
    nll = -losses.gaussian_log_likelihood(x_hat, x, math.log(t.scale_unit)).mean()
    constant = 3072 * (math.log(t.scale_unit) + 0.5 * math.log(2 * math.pi))
    assert recon_printed.item() * t.recon_to_nats + constant == pytest.approx(nll.item(), rel=1e-6)
    assert kl_printed.item() * t.kl_to_nats == pytest.approx(kl_printed.item())


@pytest.mark.parametrize("change, message", [
    ({"pixel_reduction": "avg"}, "Unknown pixel_reduction 'avg': expected one of 'mean', 'sum'. Say how"),
    ({"kl_batch_reduction": "batchmean"}, "Unknown kl_batch_reduction 'batchmean'"),
    ({"reconstruction": "ssim"}, "Unknown reconstruction 'ssim'"),
    ({"kl_weight": -2.0}, "kl_weight is -2.0: expected a finite number >= 0.*restore the -0.5"),
    ({"recon_weight": -1.0}, "recon_weight is -1.0: expected a finite number >= 0"),
    ({"recon_weight": 0.0}, "recon_weight is 0: expected a positive weight"),
    ({"image_shape": (1, 28, 28)}, r"image_shape \(1, 28, 28\) does not match dataset 'cifar10', whose images are \(3, 32, 32\)"),
    ({"image_shape": (3, 32), "dataset": None}, r"expected \(C, H, W\), three positive integers"),
    ({"dataset": "imagenet"}, "Unknown dataset 'imagenet'"),
    ({"batch_reduction": "sum"}, "batch_size is missing: a term is summed over the batch.*Give batch_size="),
    ({"kl_weight_scaling": "batch_size/dataset_size", "batch_size": 64}, "dataset_size is missing"),
    ({"kl_dim_reduction": "mean"}, "latent_dim is missing"),
    ({"reconstruction": "bce", "data_range": "[-1, 1]"}, "a cross-entropy needs targets in \\[0, 1\\]"),
    ({"data_range": "0-255"}, "Unknown data_range '0-255'"),
])
def test_bad_input_says_what_went_wrong_what_was_expected_and_what_to_do(change, message):
    with pytest.raises(ValueError, match=message):
        replace(CIFAR_MEAN_MSE, **change)


def test_tensors_of_the_wrong_shape_are_refused():
    x = torch.rand(2, 1, 28, 28)
    with pytest.raises(ValueError, match=r"expected both \(B, 3, 32, 32\)"):
        loss_as_written(CIFAR_MEAN_MSE, x, x, torch.zeros(2, 4), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="x holds 2 images but the loss says batch_size=8"):
        loss_as_written(replace(CIFAR_MEAN_MSE, batch_size=8), torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32),
                        torch.zeros(2, 4), torch.zeros(2, 4))


def test_the_reports_and_peers_table():
    rows = {example.label: example for example in convention_table()}
    s1 = rows["S1 as written: ‖x − x̂‖² + Σ(1 + log σ² − μ² − σ²)"]
    assert s1.convention is None and "restore the -0.5" in s1.problem and s1.row()["decoder"].startswith("none")
    corrected = rows["S1 with the KL's −½ restored: ‖x − x̂‖² + KL"].translation
    assert corrected.scale_unit == pytest.approx(math.sqrt(0.5)) and corrected.weight_w == pytest.approx(784)
    assert rows["S3: MSE + 0.5·KL, MSE a mean (PyTorch's default)"].translation.weight_w == pytest.approx(2)
    assert rows["S3: MSE + 0.5·KL, MSE summed over pixels"].translation.scale_unit == pytest.approx(0.5)
    assert rows["S0's fix: 6000 × mean-MSE + KL, data in [0, 1]"].translation.weight_w == pytest.approx(6000)
    antixk = rows["AntixK vanilla_vae (2946d7a): mean-MSE + (batch/N)·KL, data in [−1, 1]"]
    assert antixk.translation.scales_with and "batch size" in antixk.row()["depends on"]
    assert rows["Keras example: summed BCE + KL, batch means"].translation.beta == 1
    for example in rows.values():
        assert example.quotes and all(quote.lines for quote in example.quotes)
        assert all(len(quote.commit) == 40 for quote in example.quotes if quote.repo != "seeds")


def test_the_reports_are_quoted_verbatim():
    folder = REPO.parent / "shared" / "seeds"
    if not folder.is_dir():
        pytest.skip("the reports (shared/seeds/) are not beside the repository")
    for example in convention_table():
        for quote in example.quotes:
            if quote.repo == "seeds":
                text = " ".join((folder / quote.path).read_text().split())
                for line in quote.lines:
                    assert " ".join(line.split()) in text, (quote.path, line)


def test_the_measured_runs_are_the_results_files_numbers():
    for run in MEASURED_RUNS:
        node = json.loads((REPO / "results" / run.results_file).read_text())["results"]
        for key in run.results_keys:
            node = node[key]
        assert node["active units"]["mean"] == run.active_units and node["active units"]["n"] == run.seeds, run.source
        if "sigma" in node:
            assert node["sigma"] == pytest.approx(math.sqrt(run.sigma_squared))


def test_the_collapse_threshold_is_where_the_measured_runs_put_it():
    """Every measured run at sigma^2 >= 0.925 lambda_1 lost all units; every one at <= 0.255 lambda_1 kept some."""
    assert COLLAPSED_FROM == pytest.approx((3072 / 60) / 55.36, rel=1e-6)  # CIFAR-10, w = 30
    assert ACTIVE_UP_TO == pytest.approx((784 / 600) / 5.117, rel=1e-6)  # MNIST, w = 300
    assert ACTIVE_UP_TO < COLLAPSED_FROM < 1
    for row in collapse_evidence():
        if row["verdict"] == "collapse expected":
            assert row["active units (measured)"] == 0, row
        else:
            assert row["verdict"] == "no total collapse expected" and row["active units (measured)"] >= 1, row
    between = collapse_check(0.5 * DATA_SPECTRA["cifar10"].top_eigenvalues[0], DATA_SPECTRA["cifar10"], 32)
    assert between.verdict == "collapse possible" and between.warns and "WARNING" in between.text
    partial = collapse_check(5.12, DATA_SPECTRA["cifar10"], 32)  # w = 300: 7 eigenvalues above sigma^2; 9 units measured
    assert partial.linear_active_dims == 7 and "Only 7 of its 32 latent dims" in partial.text


def test_the_randomised_spectrum_agrees_with_the_exact_one():
    g = torch.Generator().manual_seed(0)
    directions = torch.linalg.qr(torch.randn(4800, 40, generator=g, dtype=torch.float64))[0]  # D = 4800: randomised
    strengths = 0.7 ** torch.arange(40, dtype=torch.float64)  # a decaying spectrum, as images have
    x = 0.5 + (torch.randn(300, 40, generator=g, dtype=torch.float64) * strengths) @ directions.T
    x = x + 0.002 * torch.randn(300, 4800, generator=g, dtype=torch.float64)
    images = x.reshape(300, 3, 40, 40)
    approximate = data_spectrum(images, top=10)
    exact = torch.linalg.svdvals(x - x.mean(0)) ** 2 / 300
    assert approximate.top_eigenvalues == pytest.approx(exact[:10].tolist(), rel=1e-3)
    assert approximate.total_variance == pytest.approx(exact.sum().item(), rel=1e-9)
    # CelebA at 64x64 (randomised) against 32x32 (exact): averaging 2x2 blocks keeps the top direction's variance per pixel
    assert DATA_SPECTRA["celeba64"].top_eigenvalues[0] / DATA_SPECTRA["celeba32"].top_eigenvalues[0] == pytest.approx(4, rel=0.01)


@needs_data
def test_the_stored_spectra_are_the_datas(data_root):
    from vae_utils import data
    mnist = data_spectrum(data.load_dataset("mnist", "train", data_root).images, "mnist")
    assert mnist.top_eigenvalues == pytest.approx(DATA_SPECTRA["mnist"].top_eigenvalues, rel=1e-3)
    assert mnist.total_variance == pytest.approx(DATA_SPECTRA["mnist"].total_variance, rel=1e-5)
    cifar = data_spectrum(data.load_dataset("cifar10", "train", data_root).images[:10_000], "cifar10", top=5)
    assert cifar.top_eigenvalues == pytest.approx(DATA_SPECTRA["cifar10"].top_eigenvalues[:5], rel=0.02)


def test_a_check_run_trains_the_translated_objective(tmp_path):
    from vae_utils.convention_check import check_config, check_run
    from vae_utils.data import ImageTensors

    s1 = LossConvention("mse", "sum", "mean", image_shape=(1, 28, 28), dataset="mnist", latent_dim=20)
    spec, config, words = check_config(s1, epochs=1)
    assert (config.likelihood, config.recon_reduction, config.recon_weight) == ("squared_error", "mean", 784.0)
    assert "σ = 0.7071" in words and spec.image_shape == (1, 28, 28)
    assert check_config(replace(CIFAR_MEAN_MSE, recon_weight=6000.0), 12)[1].recon_weight == 6000.0  # notebook 04's
    carried = check_config(s1, 1, onto="cifar10")[1]
    assert carried.recon_weight == pytest.approx(3072.0)  # the same sigma on 3,072 values
    bernoulli = check_config(LossConvention("bce", "sum", "mean", kl_weight=4.0, dataset="mnist"), 1)[1]
    assert bernoulli.likelihood == "bernoulli" and bernoulli.beta == 4.0
    with pytest.raises(ValueError, match="no TrainConfig"):
        check_config(LossConvention("l1", "sum", "mean", dataset="mnist"), 1)
    with pytest.raises(ValueError, match="No check run for dataset 'celeba64'"):
        check_config(LossConvention("mse", "mean", "mean", image_shape=(3, 64, 64), dataset="celeba64"), 1)
    images = (torch.rand(16, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 255).to(torch.uint8)
    tiny = ImageTensors(images, torch.zeros(16, dtype=torch.long), {"dataset": "random", "size": 16})
    run = check_run(s1, tiny, epochs=1, batch_size=8, name="check", checkpoint_dir=tmp_path, progress=False)
    assert len(run.history["first_epoch_loss"]) == 2 and run.config.recon_weight == 784.0
