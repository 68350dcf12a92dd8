import math

import pytest
import torch

from vae_utils import losses


def test_kl_of_the_prior_is_zero_and_a_shifted_mean_costs_half_its_square():
    zeros = torch.zeros(4, 3)
    assert torch.allclose(losses.gaussian_kl(zeros, zeros), torch.zeros(4))
    # N(2, 1) vs N(0, 1): 1/2 * 2^2 = 2 nats per dimension
    assert torch.allclose(losses.gaussian_kl(torch.full((1, 5), 2.0), torch.zeros(1, 5)), torch.tensor([10.0]))


def test_kl_closed_form_matches_monte_carlo():
    torch.manual_seed(0)
    mu, logvar = torch.randn(3, 4), torch.randn(3, 4) * 0.5
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    z = q.sample((200_000,))
    p = torch.distributions.Normal(0.0, 1.0)
    monte_carlo = (q.log_prob(z) - p.log_prob(z)).sum(-1).mean(0)
    assert torch.allclose(losses.gaussian_kl(mu, logvar), monte_carlo, atol=0.03)
    assert (losses.gaussian_kl(mu, logvar) >= 0).all()


def test_log_likelihoods_against_torch_distributions():
    torch.manual_seed(0)
    x = torch.rand(2, 1, 4, 4)
    logits = torch.randn(2, 1, 4, 4)
    binary = (x > 0.5).float()
    expected = torch.distributions.Bernoulli(logits=logits).log_prob(binary).flatten(1).sum(1)
    assert torch.allclose(losses.bernoulli_log_likelihood(logits, binary), expected, atol=1e-5)
    mean = torch.rand(2, 1, 4, 4)
    expected = torch.distributions.Normal(mean, 0.3).log_prob(x).flatten(1).sum(1)
    assert torch.allclose(losses.gaussian_log_likelihood(mean, x, math.log(0.3)), expected, atol=1e-4)
    # a fair coin per pixel: exactly log 2 nats per pixel
    assert torch.allclose(losses.bernoulli_log_likelihood(torch.zeros(1, 784), binary.new_ones(1, 784)),
                          torch.tensor([-784 * math.log(2)]))


def _output(batch: int, pixels: int, latent: int = 3) -> tuple[dict, torch.Tensor]:
    torch.manual_seed(1)
    output = {"logits": torch.randn(batch, 1, 1, pixels), "mu": torch.randn(batch, latent), "logvar": torch.randn(batch, latent)}
    return output, torch.rand(batch, 1, 1, pixels)


def test_reductions_are_over_the_batch_only():
    output, x = _output(batch=8, pixels=10)
    per_sample = losses.elbo_terms(output, x, reduction="none")
    mean = losses.elbo_terms(output, x, reduction="mean")
    summed = losses.elbo_terms(output, x, reduction="sum")
    assert per_sample["recon"].shape == (8,)
    for name in ("recon", "kl", "loss", "elbo"):
        assert torch.allclose(summed[name], mean[name] * 8)  # the documented ratio: the batch size
    with pytest.raises(ValueError, match="none, mean, sum"):
        losses.elbo_terms(output, x, reduction="pixel_mean")


def test_recon_is_summed_over_pixels_so_it_scales_with_image_size():
    output, x = _output(batch=4, pixels=10)
    doubled = {**output, "logits": output["logits"].repeat(1, 1, 1, 2)}
    one = losses.elbo_terms(output, x)
    two = losses.elbo_terms(doubled, x.repeat(1, 1, 1, 2))
    assert torch.allclose(two["recon"], 2 * one["recon"])
    assert torch.allclose(two["kl"], one["kl"])


def test_beta_weights_only_the_kl_and_the_elbo_ignores_beta():
    output, x = _output(batch=4, pixels=10)
    plain, weighted = losses.elbo_terms(output, x, beta=1.0), losses.elbo_terms(output, x, beta=4.0)
    assert torch.allclose(weighted["loss"], plain["recon"] + 4 * plain["kl"])
    assert torch.allclose(weighted["elbo"], plain["elbo"])


def test_plain_autoencoder_has_no_kl_and_unknown_likelihood_is_refused():
    output, x = _output(batch=2, pixels=5)
    terms = losses.elbo_terms({"logits": output["logits"]}, x, likelihood="gaussian")
    assert terms["kl"] == 0 and torch.allclose(terms["loss"], terms["recon"])
    with pytest.raises(ValueError, match="bernoulli, gaussian"):
        losses.elbo_terms(output, x, likelihood="laplace")


@pytest.mark.parametrize("mean,log_scale", [(0.5, -3.0), (0.0, -6.0), (1.0, 0.0), (0.3, -8.0), (0.97, 1.5)])
def test_discretized_gaussian_is_a_distribution_over_the_256_levels(mean, log_scale):
    levels = (torch.arange(256, dtype=torch.float64) / 255).view(256, 1)
    log_p = losses.discretized_gaussian_log_likelihood(torch.full_like(levels, mean), levels, log_scale)
    assert log_p.shape == (256,) and (log_p <= 0).all()
    assert log_p.exp().sum().item() == pytest.approx(1.0, abs=1e-6)


def test_discretized_gaussian_by_hand():
    # a bin of width 1/255 centred on the mean, sigma = 1/255: P = Phi(0.5) - Phi(-0.5) = 0.38292
    x = torch.full((1, 1), 128 / 255, dtype=torch.float64)
    log_p = losses.discretized_gaussian_log_likelihood(x, x, math.log(1 / 255))
    assert log_p.exp().item() == pytest.approx(0.38292492, rel=1e-5)
    # the edge levels take the tails: level 0 with the mean at the first bin's upper edge has P = 1/2
    zero = torch.zeros(1, 1)
    assert losses.discretized_gaussian_log_likelihood(zero + 0.5 / 255, zero, -2.0).exp().item() == pytest.approx(0.5, abs=1e-6)
    # summed over pixels: two identical pixels give twice the log-probability
    assert losses.discretized_gaussian_log_likelihood(x.repeat(1, 2), x.repeat(1, 2), math.log(1 / 255)).item() == \
        pytest.approx(2 * log_p.item(), rel=1e-6)


def test_discretized_gaussian_is_finite_with_gradients_far_in_the_tails():
    mean = torch.tensor([[0.0, 1.0]], requires_grad=True)
    x = torch.tensor([[1.0, 0.0]])
    log_p = losses.discretized_gaussian_log_likelihood(mean, x, -7.0)
    log_p.backward()
    assert torch.isfinite(log_p).all() and torch.isfinite(mean.grad).all()
    assert losses.log_likelihood(torch.zeros(1, 3), torch.full((1, 3), 0.5), "discretized_gaussian", -2.0).shape == (1,)


def test_mean_reduction_is_the_sum_divided_by_the_pixel_count():
    output, x = _output(batch=4, pixels=12)
    for likelihood in ("bernoulli", "gaussian", "squared_error"):
        summed = losses.training_loss(output, x, likelihood, beta=0.0, recon_reduction="sum")
        mean = losses.training_loss(output, x, likelihood, beta=0.0, recon_reduction="mean")
        assert torch.allclose(mean["loss"], summed["loss"] / 12)
        assert torch.allclose(mean["recon"], summed["recon"])  # the reported term stays per image, unweighted
    with pytest.raises(ValueError, match="sum, mean"):
        losses.training_loss(output, x, recon_reduction="pixel")


def test_default_training_loss_is_the_negative_elbo_bit_for_bit():
    output, x = _output(batch=8, pixels=10)
    assert torch.equal(losses.training_loss(output, x, "bernoulli", 0.7)["loss"],
                       losses.elbo_terms(output, x, "bernoulli", 0.7)["loss"])


def test_weighted_mean_mse_is_the_gaussian_elbo_with_sigma_squared_d_over_2w():
    output, x = _output(batch=5, pixels=48)
    d, w = 48, 6000.0
    loss = losses.training_loss(output, x, "squared_error", recon_weight=w, recon_reduction="mean")["loss"]
    log_sigma = 0.5 * math.log(d / (2 * w))
    negative_elbo = -losses.elbo_terms(output, x, "gaussian", gaussian_log_scale=log_sigma)["elbo"]
    constant = d * (log_sigma + 0.5 * math.log(2 * math.pi))
    assert torch.allclose(negative_elbo - constant, loss, rtol=1e-5)


def test_squared_error_is_the_summed_squared_difference():
    x, mean = torch.full((1, 1, 2, 2), 0.5), torch.zeros(1, 1, 2, 2)
    assert torch.allclose(losses.squared_error(mean, x), torch.tensor([1.0]))


def test_free_bits_clamp_each_dimension_of_the_batch_mean():
    kl_dims = torch.tensor([[0.1, 2.0, 0.0], [0.3, 4.0, 0.0]])  # batch means 0.2, 3.0, 0.0
    assert losses.free_bits_kl(kl_dims, 0.5).item() == pytest.approx(0.5 + 3.0 + 0.5)
    assert losses.free_bits_kl(kl_dims, 0.0).item() == pytest.approx(kl_dims.sum(1).mean().item())
    kl_dims.requires_grad_(True)
    losses.free_bits_kl(kl_dims, 0.5).backward()
    assert kl_dims.grad[:, 0].eq(0).all() and kl_dims.grad[:, 1].eq(0.5).all()  # clamped dims get no gradient
    with pytest.raises(ValueError, match="free_bits"):
        losses.free_bits_kl(kl_dims, -1.0)


def test_kl_annealing_schedule_values():
    assert [losses.kl_weight(step, 4) for step in range(6)] == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    assert losses.kl_weight(2, 4, beta=0.5) == 0.25
    assert losses.kl_weight(0, 0, beta=0.5) == 0.5
    with pytest.raises(ValueError):
        losses.kl_weight(-1, 4)


def test_discretized_gaussian_is_a_probability_over_the_256_levels():
    levels = torch.arange(256.0).view(256, 1) / 255
    for mean, log_scale in ((0.3, math.log(0.1)), (0.0, math.log(0.01)), (0.9, math.log(2.0)), (0.5, -9.0)):
        log_p = losses.discretized_gaussian_log_likelihood(torch.full_like(levels, mean), levels, log_scale)
        assert log_p.exp().sum().item() == pytest.approx(1.0, abs=1e-4)
        assert (log_p <= 1e-6).all()


def test_optimal_log_scale_is_half_the_log_mse_and_maximises_the_likelihood():
    torch.manual_seed(0)
    x, mean = torch.rand(4, 3, 2, 2), torch.rand(4, 3, 2, 2)
    best = losses.optimal_log_scale(mean, x)
    assert best.item() == pytest.approx(0.5 * math.log((x - mean).pow(2).mean().item()), rel=1e-5)
    at_best = losses.gaussian_log_likelihood(mean, x, best).sum()
    for shift in (-0.1, 0.1):
        assert losses.gaussian_log_likelihood(mean, x, best + shift).sum() < at_best
    logits = torch.logit(mean)
    assert torch.allclose(losses.log_likelihood(logits, x, "gaussian", "optimal"), losses.gaussian_log_likelihood(mean, x, best), atol=1e-4)


def test_gaussian_nll_to_mse_inverts_the_gaussian_log_likelihood():
    torch.manual_seed(0)
    x, mean = torch.rand(3, 1, 4, 4), torch.rand(3, 1, 4, 4)
    for log_scale in (0.0, -1.5):
        nats = -losses.gaussian_log_likelihood(mean, x, log_scale)
        mse = (x - mean).pow(2).flatten(1).mean(1)
        recovered = [losses.gaussian_nll_to_mse(v, 16, log_scale) for v in nats.tolist()]
        assert recovered == pytest.approx(mse.tolist(), rel=1e-4)
