"""Notebooks 03 and 03b's tools: the naive cross-entropy, draws from the decoder, decoding as trained, a Fréchet
distance in a principal-component space, per-image colour shift, tables with gaps."""
import math

import pytest
import torch

from vae_utils import losses, metrics
from vae_utils.models import ModelSpec, build_model
from vae_utils.results import markdown_table


def test_naive_cross_entropy_agrees_with_the_stable_one_where_it_can_and_breaks_where_float32_rounds():
    logits = torch.tensor([[0.0, 2.0, -3.0]])
    x = torch.tensor([[0.5, 1.0, 0.0]])
    # by hand: 0.5 log 0.5 * 2 = -0.6931; log sigmoid(2) = -0.1269; log(1 - sigmoid(-3)) = log sigmoid(3) = -0.0486
    expected = -0.693147 - 0.126928 - 0.048587
    assert losses.naive_bernoulli_log_likelihood(logits, x).item() == pytest.approx(expected, abs=1e-5)
    assert losses.bernoulli_log_likelihood(logits, x).item() == pytest.approx(expected, abs=1e-5)
    saturated, white = torch.tensor([[20.0]]), torch.tensor([[1.0]])  # sigmoid(20) rounds to 1 in float32: 0 * log(0)
    assert torch.isnan(losses.naive_bernoulli_log_likelihood(saturated, white)).all()
    assert losses.bernoulli_log_likelihood(saturated, white).item() == pytest.approx(0.0, abs=1e-6)
    assert torch.isinf(losses.naive_bernoulli_log_likelihood(saturated, torch.tensor([[0.5]]))).all()
    assert losses.log_likelihood(logits, x, "bernoulli_naive").item() == pytest.approx(expected, abs=1e-5)


def test_decoder_draws_are_quantised_noise_of_the_decoders_sigma_around_its_mean():
    means = torch.full((20, 3, 32, 32), 0.5)
    draws = metrics.decoder_draws(means, math.log(0.1), torch.Generator().manual_seed(0))
    assert torch.equal(draws * 255, (draws * 255).round())  # on the 8-bit grid
    assert draws.mean().item() == pytest.approx(0.5, abs=0.002)
    assert draws.std().item() == pytest.approx(0.1, rel=0.02)  # rounding adds 1/(255 sqrt 12): negligible
    sharp = metrics.decoder_draws(means, -20.0, torch.Generator().manual_seed(0))
    assert torch.allclose(sharp, torch.full_like(means, 128 / 255))  # 0.5 * 255 = 127.5 rounds to 128


def test_decoding_as_trained_equals_decoding_the_mean_when_the_posterior_is_a_point():
    torch.manual_seed(0)
    model = build_model(ModelSpec("mlp", (3, 32, 32), 8, variational=True))
    images = torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8)
    encode = model.encode
    model.encode = lambda x: (encode(x)[0], torch.full_like(encode(x)[1], -60.0))
    averaged = metrics.posterior_average_reconstructions(model, images, samples=3, seed=0)
    assert torch.allclose(averaged, metrics.reconstructions(model, images), atol=1e-6)
    model.encode = lambda x: (encode(x)[0], torch.full_like(encode(x)[1], 2.0))  # a wide posterior: not the same
    assert not torch.allclose(metrics.posterior_average_reconstructions(model, images, samples=3, seed=0),
                              metrics.reconstructions(model, images), atol=1e-3)


def test_frechet_distance_in_principal_components_is_zero_for_a_set_and_the_squared_shift_for_a_shifted_copy():
    generator = torch.Generator().manual_seed(0)
    reference = torch.rand(300, 1, 4, 4, generator=generator)
    space = metrics.PrincipalComponents(reference, components=5)
    images = torch.rand(200, 1, 4, 4, generator=generator)
    assert metrics.pca_frechet_distance(space, images, images) == pytest.approx(0.0, abs=1e-6)
    shift = torch.full((1, 1, 4, 4), 0.05)
    expected = (shift.flatten().double() @ space.basis).pow(2).sum().item()  # same covariance: only the means differ
    assert metrics.pca_frechet_distance(space, images, images + shift) == pytest.approx(expected, rel=1e-6)
    whitened = space(reference)
    assert torch.allclose(whitened.var(0), torch.ones(5, dtype=torch.float64), atol=1e-6)


def test_mean_colour_delta_e_is_per_image_blind_to_where_pixels_sit():
    images = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    shuffled = images.flatten(2)[:, :, torch.randperm(64)].view_as(images)
    assert torch.allclose(metrics.mean_colour_delta_e(shuffled, images), torch.zeros(4), atol=1e-4)
    darker = metrics.mean_colour_delta_e((images - 0.1).clamp(0, 1), images)
    assert darker.shape == (4,) and (darker > 2.3).all()  # 25 grey levels darker is a visible shift


def test_markdown_tables_show_a_dash_for_a_missing_cell_or_a_nan():
    table = markdown_table([{"model": "a", "x": 1.23456}, {"model": "b", "y": float("nan")}], {"x": ".2f"})
    assert table.splitlines()[0] == "| model | x | y |"
    assert table.splitlines()[2] == "| a | 1.23 | — |" and table.splitlines()[3] == "| b | — | — |"


def test_halved_copy_keeps_the_size_and_a_flat_image_and_loses_a_checkerboard():
    flat = torch.full((2, 3, 32, 32), 0.3)
    assert torch.allclose(metrics.halved_copy(flat), flat)
    board = (torch.arange(32).view(1, 32) + torch.arange(32).view(32, 1)) % 2
    board = board.float().expand(1, 3, 32, 32)
    halved = metrics.halved_copy(board)
    assert halved.shape == board.shape
    assert metrics.laplacian_variance(halved).item() < 0.01 * metrics.laplacian_variance(board).item()


def test_frechet_baselines_rank_unseen_real_images_first_and_flat_images_last():
    generator = torch.Generator().manual_seed(0)
    smooth = torch.nn.functional.avg_pool2d(torch.rand(600, 1, 16, 16, generator=generator), 3, 1, 1)
    images = (smooth - smooth.mean()) * 4 + 0.5  # textured images with structure at every scale
    images = images.clamp(0, 1)
    train, test, other = images[:300], images[300:450], images[450:]
    space = metrics.PrincipalComponents(train, components=16)
    scores = metrics.frechet_baselines(space, test, other, train, seed=0)
    assert list(scores) == ["held-out real images", "held-out, halved and re-enlarged",
                            "noise with the data's pixel mean and std", "flat (mean colour)"]
    assert scores["held-out real images"] == min(scores.values())
    assert scores["flat (mean colour)"] == max(scores.values())


def test_fitted_sigma_recovers_the_noise_of_decoder_means_and_beats_any_other_sigma():
    class NoisyEcho(torch.nn.Module):
        """A stand-in decoder whose means are the image plus Gaussian noise of std 0.05 (mid-grey pixels: no edge bins)."""
        def __init__(self):
            super().__init__()
            self.anchor = torch.nn.Parameter(torch.zeros(()))

        def forward(self, x):
            noise = 0.05 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1))
            return {"logits": torch.logit(x + noise)}

    images = torch.randint(80, 176, (200, 1, 8, 8), dtype=torch.uint8)
    model = NoisyEcho()
    log_sigma = metrics.fitted_log_scale(model, images)
    assert math.exp(log_sigma) == pytest.approx(0.05, rel=0.03)
    means = torch.sigmoid(model(images.float() / 255)["logits"])
    cost = lambda s: -losses.discretized_gaussian_log_likelihood(means, images.float() / 255, s).sum().item()
    assert cost(log_sigma) <= min(cost(log_sigma - 0.1), cost(log_sigma + 0.1))
