"""Short training runs of a translated loss convention, to check the translator's collapse verdict on MNIST or CIFAR-10.

A run trains notebook 05's conv VAE with the objective the convention translates to (vae_utils.loss_convention):
a Gaussian decoder as w * mean-MSE + KL (w = D / (2 sigma^2), sigma in [0, 1] units), a Bernoulli decoder with its
beta. A convention for another dataset is carried over at the same sigma (Gaussian) or the same beta (Bernoulli).
"""
from __future__ import annotations

import math
from pathlib import Path

from .data import ImageTensors
from .loss_convention import DATASET_NAMES, LossConvention, translate
from .models import ModelSpec
from .train import TrainConfig, TrainedModel, fit

CHECK_SPECS = {  # notebook 05's models, so that a check sits beside its sweep
    "mnist": ModelSpec("conv", (1, 28, 28), latent_dim=16, variational=True, width=8),
    "cifar10": ModelSpec("conv", (3, 32, 32), latent_dim=32, variational=True, width=16),
}


def check_config(loss: LossConvention, epochs: int, seed: int = 0, onto: str | None = None,
                 batch_size: int | None = None) -> tuple[ModelSpec, TrainConfig, str]:
    """(model spec, train config, what it trains in words) for a short run of `loss` on `onto` ("mnist" | "cifar10";
    default: the convention's own dataset). batch_size: default the convention's, else 128 (the notebooks')."""
    onto = onto or loss.dataset
    if onto not in CHECK_SPECS:
        raise ValueError(f"No check run for dataset {onto!r}: expected onto= one of {', '.join(CHECK_SPECS)} "
                         "(a convention for other data is carried over at the same σ or β).")
    translation = translate(loss)
    spec = CHECK_SPECS[onto]
    carried = "" if onto == loss.dataset else f", carried over from {DATASET_NAMES.get(loss.dataset, 'its data')}"
    batch_size = batch_size or loss.batch_size or 128
    if translation.decoder == "gaussian":
        weight = float(f"{math.prod(spec.image_shape) / (2 * translation.scale_unit ** 2):.12g}")  # 6000, not 5999.999...
        config = TrainConfig(epochs=epochs, batch_size=batch_size, seed=seed, likelihood="squared_error",
                             recon_reduction="mean", recon_weight=weight)
        words = f"w = {weight:,.0f}" if weight >= 1000 else f"w = {weight:.4g}"
        words += f" on mean-MSE + KL, i.e. σ = {translation.scale_unit:.4g} ([0, 1] units){carried}"
    elif translation.decoder == "bernoulli":
        config = TrainConfig(epochs=epochs, batch_size=batch_size, seed=seed, likelihood="bernoulli", beta=translation.beta)
        words = f"Bernoulli decoder, β = {translation.beta:.4g}{carried}"
    else:
        raise ValueError(f"fit trains Gaussian (squared-error) and Bernoulli decoders; this loss translates to a "
                         f"{translation.decoder!r} decoder, which has no TrainConfig. Check an MSE or BCE convention.")
    return spec, config, f"{words}; {DATASET_NAMES[onto]}, seed {seed}, {epochs} epoch(s)"


def check_run(loss: LossConvention, train: ImageTensors, val: ImageTensors | None = None, *, epochs: int, name: str,
              seed: int = 0, onto: str | None = None, batch_size: int | None = None,
              checkpoint_dir: str | Path = "checkpoints", retrain: bool = False, progress: bool = True) -> TrainedModel:
    """Train (or load) the short check run of `loss` on uint8 images `train` of dataset `onto` (see check_config)."""
    spec, config, _ = check_config(loss, epochs, seed, onto, batch_size)
    if train.image_shape != spec.image_shape:
        raise ValueError(f"train holds images of shape {train.image_shape}, but a check on {onto or loss.dataset} trains "
                         f"on {spec.image_shape}: pass that dataset's images.")
    return fit(spec, config, train, val, name=name, checkpoint_dir=checkpoint_dir, retrain=retrain, progress=progress)
