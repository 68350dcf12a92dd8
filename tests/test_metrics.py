import math

import pytest
import torch

from vae_utils import metrics
from vae_utils.losses import gaussian_kl


def test_iwae_bound_is_above_the_elbo_and_rises_with_k(trained_vae, mnist_small):
    _, test = mnist_small
    images = test.images[:200]
    elbo = metrics.evaluate_elbo(trained_vae, images)["elbo"]
    bounds = {k: metrics.iwae_bound(trained_vae, images, k=k, chunk=25).mean().item() for k in (1, 10, 100)}
    assert abs(bounds[1] - elbo) < 1.0  # k = 1 is the ELBO (both are one-sample estimates)
    assert bounds[1] < bounds[10] < bounds[100]
    assert bounds[100] > elbo + 1.0


def test_iwae_is_seeded_and_batching_does_not_matter(trained_vae, mnist_small):
    images = mnist_small[1].images[:20]
    a = metrics.iwae_bound(trained_vae, images, k=20, batch_size=20, chunk=20)
    b = metrics.iwae_bound(trained_vae, images, k=20, batch_size=20, chunk=20)
    assert torch.equal(a, b)
    c = metrics.iwae_bound(trained_vae, images, k=20, batch_size=7, chunk=5)
    assert torch.allclose(a.mean(), c.mean(), atol=1.0)


def test_active_units_counts_dims_whose_mean_varies(trained_vae, mnist_small):
    count, variance = metrics.active_units(trained_vae, mnist_small[1].images)
    assert variance.shape == (8,) and count == int((variance > 0.01).sum())
    assert 1 <= count <= 8


def test_laplacian_variance_by_hand():
    flat = torch.full((1, 1, 6, 6), 0.5)
    assert metrics.laplacian_variance(flat).item() == 0.0
    checker = (torch.arange(6).view(-1, 1) + torch.arange(6)).remainder(2).float().view(1, 1, 6, 6)
    # every valid Laplacian response is +-4, alternating: variance 16 (unbiased over 16 values: 16 * 16/15)
    assert math.isclose(metrics.laplacian_variance(checker).item(), 16 * 16 / 15, rel_tol=1e-6)
    blurred = torch.nn.functional.avg_pool2d(torch.rand(4, 3, 32, 32), 3, stride=1, padding=1)
    assert (metrics.laplacian_variance(blurred) < metrics.laplacian_variance(torch.rand(4, 3, 32, 32))).all()


def test_high_frequency_share():
    x = torch.arange(16).float()
    smooth = torch.sin(2 * math.pi * x / 16).view(1, 1, 1, 16).expand(1, 1, 16, 16)  # 1/16 cycles/pixel
    sharp = torch.sin(2 * math.pi * x * 7 / 16).view(1, 1, 1, 16).expand(1, 1, 16, 16)  # 7/16 cycles/pixel
    assert metrics.high_frequency_share(smooth).item() < 1e-6
    assert metrics.high_frequency_share(sharp).item() > 1 - 1e-6


def test_bits_per_dim():
    # a fair coin per pixel: log 2 nats per dim = 1 bit/dim
    assert math.isclose(metrics.bits_per_dim(784 * math.log(2), 784), 1.0)
    # a uniform density on [0, 1] (nll 0) on 8-bit data is 8 bits/dim
    assert math.isclose(metrics.bits_per_dim(0.0, 3072, pixel_levels=256), 8.0)


def test_mse_and_nearest_neighbour():
    references = torch.rand(50, 1, 4, 4)
    assert torch.allclose(metrics.nearest_neighbour_mse(references[:5], references), torch.zeros(5), atol=1e-6)
    shifted = (references[:5] + 0.1)
    assert (metrics.nearest_neighbour_mse(shifted, references) <= metrics.mse_per_pixel(shifted, references[:5]) + 1e-6).all()
    assert torch.allclose(metrics.mse_per_pixel(torch.zeros(2, 1, 2, 2), torch.ones(2, 1, 2, 2)), torch.ones(2))


def test_knn_accuracy_separable_and_random():
    codes = torch.cat([torch.randn(50, 2) * 0.1, torch.randn(50, 2) * 0.1 + 5])
    labels = torch.cat([torch.zeros(50), torch.ones(50)]).long()
    assert metrics.knn_accuracy(codes, labels, codes + 0.01, labels, k=3) == 1.0
    assert metrics.knn_accuracy(codes, labels, codes, 1 - labels, k=3) == 0.0


def test_iwae_estimate_is_cached(trained_vae, mnist_small, tmp_path):
    images = mnist_small[1].images[:10]
    first = metrics.iwae_estimate(trained_vae, images, k=5, cache_path=tmp_path / "c.json", cache_config={"model": "m"})
    assert (tmp_path / "c.json").is_file() and first["images"] == 10 and first["stderr"] > 0
    again = metrics.iwae_estimate(torch.nn.Linear(1, 1), images, k=5, cache_path=tmp_path / "c.json", cache_config={"model": "m"})
    assert again == first  # served from the cache: the (wrong) model was never called


def test_sample_quality_tells_copies_from_a_varied_set():
    classifier = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))
    torch.manual_seed(0)
    references = torch.rand(40, 1, 4, 4)
    varied = metrics.sample_quality(references, classifier, references)
    same = metrics.sample_quality(references[:1].expand(40, 1, 4, 4), classifier, references)
    assert varied["nearest_mse"] < 1e-6 and same["diversity"] == 0.0 < varied["diversity"]
    assert same["class_entropy_bits"] == 0.0 and 0 < same["confidence"] <= 1


def test_kl_per_dimension_sums_to_the_kl(trained_vae, mnist_small):
    images = mnist_small[1].images[:100]
    per_dim = metrics.kl_per_dimension(trained_vae, images)
    mu, logvar = trained_vae.encode(images.float() / 255)
    assert per_dim.shape == (8,) and (per_dim >= 0).all()
    assert torch.allclose(per_dim.sum(), gaussian_kl(mu, logvar).mean(), rtol=1e-4)


def test_paired_difference_mean_and_standard_error():
    gap = metrics.paired_difference(torch.tensor([3.0, 5.0, 7.0, 9.0]), torch.tensor([1.0, 2.0, 3.0, 4.0]))
    # differences 2, 3, 4, 5: mean 3.5, sample std sqrt(5/3), s.e. sqrt(5/3)/2
    assert gap["difference"] == pytest.approx(3.5) and gap["stderr"] == pytest.approx((5 / 3) ** 0.5 / 2) and gap["pairs"] == 4
    with pytest.raises(ValueError, match="equal-length"):
        metrics.paired_difference(torch.ones(3), torch.ones(4))


def test_bits_per_dim_of_a_discretized_gaussian_worked_by_hand():
    from vae_utils.losses import discretized_gaussian_log_likelihood
    # sigma = 1/255 centred on every pixel: -log2 P = -log2(0.38292) = 1.3848 bits per value, whatever the size
    x = torch.full((1, 3, 4, 4), 100 / 255, dtype=torch.float64)
    nll = -discretized_gaussian_log_likelihood(x, x, math.log(1 / 255))
    assert metrics.bits_per_dim(nll, 48).item() == pytest.approx(-math.log2(0.38292492), rel=1e-5)
    # a uniform distribution over 256 levels costs 8 bits per value
    assert metrics.bits_per_dim(48 * math.log(256), 48) == pytest.approx(8.0)


def test_lab_and_delta_e_by_hand():
    white, black = torch.ones(1, 3, 2, 2), torch.zeros(1, 3, 2, 2)
    assert metrics.rgb_to_lab(white)[0, :, 0, 0].tolist() == pytest.approx([100.0, 0.0, 0.0], abs=0.01)
    assert metrics.rgb_to_lab(black)[0, :, 0, 0].tolist() == pytest.approx([0.0, 0.0, 0.0], abs=0.01)
    red = torch.zeros(1, 3, 2, 2)
    red[:, 0] = 1.0
    assert metrics.rgb_to_lab(red)[0, :, 0, 0].tolist() == pytest.approx([53.24, 80.09, 67.20], abs=0.05)
    images = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    assert metrics.delta_e(images, images).tolist() == [0.0] * 4
    assert metrics.delta_e(white, black).item() == pytest.approx(100.0, abs=0.01)
    assert metrics.rgb_to_lab((images * 255).round().to(torch.uint8)).shape == (4, 3, 8, 8)
    with pytest.raises(ValueError, match="colour images"):
        metrics.rgb_to_lab(torch.rand(1, 1, 4, 4))


def test_colour_shift_sees_a_tint_but_not_a_blur():
    g = torch.Generator().manual_seed(0)
    images = torch.rand(8, 3, 16, 16, generator=g) * 0.5 + 0.25
    same = metrics.colour_shift(images, images)
    assert same["mean_colour_delta_e"] == 0.0 and same["pixel_delta_e"] == 0.0 and same["r_shift"] == 0.0
    tinted = images.clone()
    tinted[:, 0] += 0.1  # redder by 25.5 levels
    shift = metrics.colour_shift(tinted, images)
    assert shift["r_shift"] == pytest.approx(25.5, abs=1e-3) and shift["g_shift"] == pytest.approx(0.0, abs=1e-4)
    assert shift["mean_colour_delta_e"] > 2.3
    blurred = torch.nn.functional.avg_pool2d(images, 3, stride=1, padding=1, count_include_pad=False)
    blur = metrics.colour_shift(blurred, images)
    assert blur["mean_colour_delta_e"] < 0.2 * blur["pixel_delta_e"]


def test_blur_scores_are_one_for_the_reference_and_lower_when_blurred():
    images = torch.rand(8, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    assert metrics.blur_scores(images, images) == pytest.approx({"laplacian_ratio": 1.0, "high_frequency_ratio": 1.0})
    blurred = torch.nn.functional.avg_pool2d(images, 3, stride=1, padding=1)
    scores = metrics.blur_scores(blurred, images)
    assert scores["laplacian_ratio"] < 0.5 and scores["high_frequency_ratio"] < 0.5


def test_encoder_extremes(trained_vae, mnist_small):
    _, test = mnist_small
    extremes = metrics.encoder_extremes(trained_vae, test.images[:50])
    assert extremes["min_logvar"] <= extremes["max_logvar"] and extremes["max_abs_mu"] >= 0
    mu, logvar = trained_vae.encode(test.as_float()[:50])
    assert extremes["max_logvar"] == pytest.approx(logvar.max().item())


def test_mutual_information_of_a_linear_gaussian_encoder():
    # x ~ N(0, 1), q(z|x) = N(x, 1) per dimension: I(x; z) = 1/2 log(1 + 1/1) per dimension
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2000, 2, generator=generator)
    estimate = metrics.mutual_information_from_posteriors(x, torch.zeros_like(x))
    assert estimate == pytest.approx(2 * 0.5 * math.log(2), abs=0.05)


def test_mutual_information_of_a_collapsed_encoder_is_zero_and_is_capped_at_log_n():
    assert metrics.mutual_information_from_posteriors(torch.zeros(100, 4), torch.zeros(100, 4)) == pytest.approx(0.0, abs=1e-9)
    # codes far apart with tiny variance: the true I is log N (every image identified), never more
    mu = torch.arange(50.0).view(50, 1) * 10
    assert metrics.mutual_information_from_posteriors(mu, torch.full((50, 1), -10.0)) == pytest.approx(math.log(50), abs=1e-6)


def test_mutual_information_of_a_trained_vae(trained_vae, mnist_small):
    _, test = mnist_small
    assert 0.5 < metrics.mutual_information(trained_vae, test.images) <= math.log(len(test)) + 1e-6


def test_decoder_jacobian_norm_of_a_linear_decoder():
    weight = torch.tensor([[1.0, 2.0], [0.0, 3.0], [4.0, 0.0]])
    norms = metrics.decoder_jacobian_norm(lambda z: z @ weight.T, torch.randn(5, 2))
    assert torch.allclose(norms, torch.full((5,), weight.norm().item()))
    assert torch.allclose(metrics.decoder_jacobian_norm(lambda z: torch.zeros(len(z), 3) + z.sum() * 0, torch.randn(4, 2)), torch.zeros(4))


def test_frechet_distance_of_identical_sets_is_zero_and_grows_with_a_shift():
    from vae_utils.models import build_classifier
    torch.manual_seed(0)
    features = metrics.ClassifierFeatures(build_classifier((3, 8, 8), 10))
    images = torch.rand(300, 3, 8, 8)
    assert features(images).shape == (300, 32)
    assert metrics.frechet_distance(features, images, images) == pytest.approx(0.0, abs=1e-3)
    darker = metrics.frechet_distance(features, images, images * 0.5)
    assert darker > 1e-4 and 0 < metrics.frechet_distance(features, images, images * 0.9) < darker


def test_discrete_bits_per_dim_of_a_trained_vae(trained_vae, mnist_small):
    _, test = mnist_small
    bits = metrics.discrete_bits_per_dim(trained_vae, test.images[:100], math.log(0.1))
    assert 0 < bits["mean"] < 8 and bits["stderr"] > 0
    again = metrics.discrete_bits_per_dim(trained_vae, test.images[:100], math.log(0.1), batch_size=30)
    assert again["mean"] == pytest.approx(bits["mean"], rel=0.05)  # another z per image, same model


def test_code_space_2d_on_an_encoder_built_by_hand():
    """Codes are two pixels shifted to [-0.5, 0.5]; labels are their quadrant: the 5-NN vote is right for nearly every
    image and the share in the upper-right quadrant is the share of images labelled 3."""
    from torch import nn
    from vae_utils.data import ImageTensors
    from vae_utils.models import Autoencoder, VAE
    pick = nn.Linear(16, 2)
    with torch.no_grad():
        pick.weight.zero_(); pick.weight[0, 0] = pick.weight[1, 1] = 1.0; pick.bias.fill_(-0.5)
    encoder, decoder = nn.Sequential(nn.Flatten(), pick), nn.Sequential(nn.Linear(2, 16), nn.Unflatten(1, (1, 4, 4)))
    generator = torch.Generator().manual_seed(0)
    def dataset(n):
        images = torch.randint(0, 256, (n, 1, 4, 4), generator=generator, dtype=torch.uint8)
        labels = (images[:, 0, 0, 0] > 127).long() + 2 * (images[:, 0, 0, 1] > 127).long()
        return ImageTensors(images, labels, {"name": "quadrants"})
    reference, test = dataset(2000), dataset(500)
    summary = metrics.code_space_2d(Autoencoder(encoder, decoder, (1, 4, 4), 2), reference, test)
    assert summary["5-NN accuracy"] > 0.95
    assert summary["share in z1>0, z2>0"] == pytest.approx((test.labels == 3).float().mean().item())
    assert "posterior std" not in summary
    # a VAE's encoder gives (mean, log variance): log variance 2 log 0.3 everywhere -> posterior std 0.3
    both = nn.Linear(16, 4)
    with torch.no_grad():
        both.weight.zero_(); both.weight[0, 0] = both.weight[1, 1] = 1.0; both.bias.copy_(torch.tensor([-0.5, -0.5, 2 * math.log(0.3), 2 * math.log(0.3)]))
    vae = VAE(nn.Sequential(nn.Flatten(), both), decoder, (1, 4, 4), 2)
    assert metrics.code_space_2d(vae, reference, test)["posterior std"] == pytest.approx(0.3, rel=1e-5)
    with pytest.raises(ValueError, match="2-D code"):
        metrics.code_space_2d(Autoencoder(nn.Sequential(nn.Flatten(), nn.Linear(16, 3)), decoder, (1, 4, 4), 3), reference, test)
