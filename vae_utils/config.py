"""Run profiles: a notebook's `smoke` and `full` settings, the parameters a user overrides, and where it writes."""
from __future__ import annotations

import os

PROFILES = ("smoke", "full")
COUNT_SUFFIXES = ("epochs", "_k", "_size", "_steps")  # knobs that count something: positive integers (or None: all)
COUNT_NAMES = ("eval_images", "monitor_images", "seeds", "passes")  # the same, by name


def select_profile(profile: str, settings: dict[str, dict], **overrides) -> dict:
    """The settings of `profile`, with every override that is not None applied on top.

    settings: profile name -> dict of knobs. An unknown profile or knob is an error naming the allowed values."""
    if profile not in settings:
        raise ValueError(f"Unknown profile {profile!r}; choose one of {', '.join(settings)}.")
    chosen = dict(settings[profile])
    for knob, value in overrides.items():
        if knob not in chosen:
            raise ValueError(f"Unknown setting {knob!r}; this notebook's settings are {', '.join(chosen)}.")
        if value is not None:
            chosen[knob] = value
    for knob, value in chosen.items():
        counts = knob.endswith(COUNT_SUFFIXES) or knob in COUNT_NAMES
        if counts and value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
            raise ValueError(f"{knob} must be a positive integer, got {value!r}")
    return chosen


# What each notebook's parameters may be, beyond their type: (smallest, largest or None, why). The runner checks
# every -p value against these before a kernel starts; None (the profile's default) always passes. A knob that
# counts something (COUNT_SUFFIXES, seeds, steps) must be at least 1 even where it is not listed here.
TRAIN_BATCH = 128  # TrainConfig's default batch size: a training subset smaller than one batch trains on nothing useful
SEEDS_COMPARED = (2, None, "its verdicts compare seeds with a standard error, which needs at least two")
AT_LEAST_A_BATCH = (TRAIN_BATCH, None, f"fewer than one training batch ({TRAIN_BATCH} images)")
PARAMETER_RANGES: dict[str, dict[str, tuple[float | None, float | None, str]]] = {
    "01_autoencoder_basics": {"seeds": SEEDS_COMPARED, "train_size": AT_LEAST_A_BATCH},
    "02_vae_mnist": {"seeds": SEEDS_COMPARED},
    "03_cifar_blur": {"seeds": SEEDS_COMPARED, "sweep_seeds": SEEDS_COMPARED, "train_size": AT_LEAST_A_BATCH},
    "03b_cifar_side_claims": {"seeds": SEEDS_COMPARED, "train_size": AT_LEAST_A_BATCH},
    "04_posterior_collapse": {"seeds": SEEDS_COMPARED, "train_size": AT_LEAST_A_BATCH},
    "05_reconstruction_weighting": {"seeds": SEEDS_COMPARED, "train_size": AT_LEAST_A_BATCH},
    "06_celeba_faces": {"train_size": AT_LEAST_A_BATCH},
    "07_synthetic_augmentation": {"seeds": SEEDS_COMPARED, "long_seeds": SEEDS_COMPARED,
                                  "scarce_seeds": SEEDS_COMPARED, "noise_scale": (0, None, "a standard deviation"),
                                  "portion": (0, 1, "a share of the code's coordinates")},
}
COUNTING = (1, None, "it counts something")

# The knobs of each re-written notebook's two profiles (vae_utils.notebook.start selects one): "full" is the real
# experiment, "smoke" runs every cell in well under a minute. Their papermill parameters override these.
NOTEBOOK_PROFILES: dict[str, dict[str, dict]] = {
    "01_autoencoder_basics": {
        "full": dict(loop_epochs=2, mnist_epochs=5, cifar_epochs=8, classifier_epochs=3, train_size=None, held_out=5000,
                     test_size=None, seeds=3, factor_train_size=5_000, factor_epochs=4),
        "smoke": dict(loop_epochs=1, mnist_epochs=1, cifar_epochs=1, classifier_epochs=1, train_size=512, held_out=256,
                      test_size=200, seeds=2, factor_train_size=256, factor_epochs=1)},
    "02_vae_mnist": {
        "full": dict(loop_epochs=1, epochs=10, example_epochs=50, iwae_k=100, literature_k=1000, eval_images=1000, train_size=None,
                     test_size=None, held_out=5000, monitor_images=500, probe_size=10_000, classifier_epochs=3, seeds=3, long_epochs=12),
        "smoke": dict(loop_epochs=1, epochs=1, example_epochs=2, iwae_k=5, literature_k=10, eval_images=50, train_size=512, test_size=300,
                      held_out=256, monitor_images=50, probe_size=500, classifier_epochs=1, seeds=2, long_epochs=2)},
    "03_cifar_blur": {
        "full": dict(epochs=10, train_size=10_000, seeds=3, sweep_seeds=3, iwae_k=100, val_size=1000, ae_epochs=8, held_out=5000,
                     split_size=None, test_size=None),
        "smoke": dict(epochs=1, train_size=256, seeds=2, sweep_seeds=2, iwae_k=4, val_size=64, ae_epochs=1, held_out=256,
                      split_size=512, test_size=100)},
    "03b_cifar_side_claims": {
        "full": dict(epochs=10, train_size=10_000, seeds=3, passes=6, nan_epochs=30, val_size=1000, held_out=5000, split_size=None,
                     test_size=None, ae_epochs=8, tiny_steps=400, pair_steps=300, nan_size=2000, posterior_samples=8),
        "smoke": dict(epochs=1, train_size=256, seeds=2, passes=2, nan_epochs=2, val_size=64, held_out=256, split_size=512,
                      test_size=100, ae_epochs=1, tiny_steps=4, pair_steps=3, nan_size=128, posterior_samples=2)},
    "04_posterior_collapse": {  # full: the settings every cached checkpoint and evaluation in checkpoints/04_* was made with
        "full": dict(epochs=12, seeds=3, train_size=10_000, held_out=1000, eval_size=1000, warmup_epochs=4, jacobian_codes=100),
        "smoke": dict(epochs=1, seeds=2, train_size=128, held_out=64, eval_size=64, warmup_epochs=1, jacobian_codes=2)},
    "05_reconstruction_weighting": {  # full: the settings of every cached checkpoint and evaluation in checkpoints/05_*
        "full": dict(epochs=12, mnist_epochs=5, seeds=3, cifar_seeds=3, sigma_seeds=5, train_size=10_000, held_out=1000,
                     eval_size=1000, check_epochs=3, weights=(1.0, 30.0, 300.0, 1000.0, 6000.0, 30000.0, 300000.0)),
        "smoke": dict(epochs=1, mnist_epochs=1, seeds=2, cifar_seeds=2, sigma_seeds=2, train_size=256, held_out=64,
                      eval_size=100, check_epochs=1, weights=(1.0, 6000.0, 300000.0))},
    "06_celeba_faces": {  # full: the settings of the committed checkpoints and cached evaluations in checkpoints/06_*
        "full": dict(faces_epochs=40, report_epochs=80, classifier_epochs=12, train_size=None, test_size=None, iwae_k=100,
                     iwae_images=1000, path_pairs=500, samples=1000, beta_seeds=5, beta_epochs=12),
        "smoke": dict(faces_epochs=1, report_epochs=1, classifier_epochs=1, train_size=300, test_size=200, iwae_k=2,
                      iwae_images=50, path_pairs=20, samples=100, beta_seeds=2, beta_epochs=1)},
    "07_synthetic_augmentation": {  # full: the settings of every cached run in checkpoints/07_*
        "full": dict(classifier_steps=600, long_steps=1407, vae_epochs=6, table4_epochs=10, seeds=3, long_seeds=5, scarce_seeds=10,
                     split_size=None, test_size=None, low_sizes=(100, 300, 1000), fractions=(0.2, 0.5, 1.0), sweep_size=1000,
                     noise_scales=(0.0, 0.5, 1.0, 2.0, 4.0), label_check_size=5000),
        "smoke": dict(classifier_steps=8, long_steps=8, vae_epochs=1, table4_epochs=1, seeds=2, long_seeds=2, scarce_seeds=2, split_size=1000,
                      test_size=300, low_sizes=(20,), fractions=(0.2, 0.5, 1.0), sweep_size=20, noise_scales=(0.0, 1.0, 4.0),
                      label_check_size=200)},
}


def parameter_range(notebook: str, key: str) -> tuple[float | None, float | None, str] | None:
    """(smallest, largest, why) allowed for a notebook parameter, or None when any value of its type goes."""
    declared = PARAMETER_RANGES.get(notebook, {}).get(key)
    if declared is None and (key.endswith(COUNT_SUFFIXES) or key in COUNT_NAMES):
        return COUNTING
    return declared


def check_parameter_range(notebook: str, key: str, value) -> None:
    """Raise ValueError, saying what is allowed and why, when `value` of a notebook parameter is out of its range."""
    allowed = parameter_range(notebook, key)
    if allowed is None or value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    low, high, why = allowed
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"between {low} and {high}" if low is not None and high is not None else \
            f"at least {low}" if low is not None else f"at most {high}"
        raise ValueError(f"parameter {key!r} of {notebook} must be {bounds} ({why}), got {value!r}")


DEFAULT_ARTIFACTS_DIR = ".."  # a notebook's default: the repository root, seen from notebooks/
ARTIFACTS_VARIABLE = "VAE_ARTIFACTS_DIR"


def output_dirs(artifacts_dir: str = DEFAULT_ARTIFACTS_DIR, checkpoint_dir: str | None = None) -> tuple[str, str]:
    """(where results/ and figures/ go, the checkpoint cache) for a notebook's two parameters.

    The cache defaults to `<artifacts_dir>/checkpoints`. When `artifacts_dir` is left at its default and
    $VAE_ARTIFACTS_DIR is set, results and figures go there instead while the cache stays the repository's:
    the tests set it, so that re-executing the committed notebooks reads the committed checkpoints and writes
    nothing into the checkout."""
    cache = checkpoint_dir or f"{artifacts_dir}/checkpoints"
    if artifacts_dir == DEFAULT_ARTIFACTS_DIR and os.environ.get(ARTIFACTS_VARIABLE):
        artifacts_dir = os.environ[ARTIFACTS_VARIABLE]
    return artifacts_dir, cache


# The README's reading order (results.reading_table): each notebook's question and what it teaches, in a line each.
NOTEBOOK_GUIDE: dict[str, tuple[str, str]] = {
    "01_autoencoder_basics": ("What does a plain autoencoder learn, and can its codes make new images?",
                              "an autoencoder and its training loop in PyTorch; blur measured against baselines; why a "
                              "code space with holes cannot be sampled"),
    "02_vae_mnist": ("What does a VAE cost and gain on MNIST, measured as the literature does?",
                     "the ELBO, the reparameterisation trick and the closed-form KL in code; the IWAE bound; latent size"),
    "03_cifar_blur": ("Why do CIFAR-10 reconstructions blur, and what is the blur?",
                      "the decoder mean against its draws; bits/dim; a sample distance checked against baselines"),
    "03b_cifar_side_claims": ("Which of the reports' side claims about CIFAR-10 hold?",
                              "testing a claim under the report's own conditions; float32 overflow in a naive loss"),
    "04_posterior_collapse": ("What is posterior collapse, and what fixes it?",
                              "KL per dimension, active units and I(x;z); why mean-MSE + KL collapses; KL annealing, "
                              "free bits, reweighting"),
    "05_reconstruction_weighting": ("What does the weight on a VAE loss mean, and can the decoder choose it?",
                                    "any VAE loss read as a decoder noise σ and a β; rate against distortion; the σ-VAE"),
    "06_celeba_faces": ("Do face VAEs lose glasses and gain smiles, and how do faces mix?",
                        "spherical interpolation, attribute vectors, and judging a bias claim with a classifier and "
                        "a blur control"),
    "07_synthetic_augmentation": ("Is a VAE-made digit worth a real one to a classifier?",
                                  "generated training data against the right baselines: real images, augmentation, "
                                  "a conditional VAE"),
}


# The README's short ledger (claims.ledger_markdown(short=True)): each claim in a few words, so that 47 rows fit a
# front page. The report's exact words, the protocol and the supporting numbers stay in the results files and on the
# site's claims page. A test checks that every recorded claim has a label here and that no label is stale.
CLAIM_LABELS: dict[str, str] = {
    "S4-v2-sharper": "AE v2 (strides, BatchNorm) is sharper than v1",
    "S4-pooling-loses-resolution": "max pooling causes the loss of resolution",
    "S0-latent-size": "a larger latent space improves images a lot",
    "S1-short-latent-fails": "z = 2 instead of 20 is very bad",
    "S1-pooling-fails": "adding pooling layers is very bad",
    "S1-pooling-and-short-latent-fails": "pooling and z = 2 together are very bad",
    "S2-regions-per-digit": "the 2-D latent space has a region per digit",
    "S2-conv-worse": "a conv VAE does worse than the MLP on CIFAR-10",
    "S4-fewer-latents-detail": "smaller latent spaces lose definition",
    "S2-nan": "beyond 20 epochs the loss can turn nan",
    "S2-greyscale": "greyscale is as poor, so colour is not the cause",
    "S0-tiny-sets": "200, 100 or 25 training images: very blurry",
    "S0-batch-of-2": "a batch of 2 decodes to their average",
    "S0-batch-of-2-why": "… because the gradient is averaged",
    "S4-fewer-latents-colour": "smaller latent spaces change colours too",
    "S4-ae-no-sharpening": "an AE pass does not sharpen VAE output",
    "S4-ae-colour-drift": "repeated AE passes drift the colour more",
    "S0-collapse-mean-mse": "two images and noise decode nearly the same",
    "S0-collapse-flat-reconstruction": "the reconstruction loss stays the same",
    "S0-collapse-recon-level": "the reconstruction loss is about 0.2",
    "S0-collapse-kl-falls": "the KL falls fast to 1 or 2",
    "S0-collapse-kl-hundreds": "the KL starts at a few hundred",
    "S0-collapse-encoder-means": "the codes of two images differ, not ≈ 0",
    "S0-collapse-decoder-at-fault": "so the decoder is at fault",
    "S0-collapse-deeper-decoder": "a deeper decoder does not help",
    "S0-collapse-loss-contrast": "the losses' contrast makes it ignore the input",
    "S0-collapse-weight-6000": "reconstruction ×6000 brings the images back",
    "R21-improves-samples": "a learned σ improves samples",
    "R21-no-tuning": "with a learned σ, no weight to tune",
    "S2-majority-premise": "smiling faces without glasses are the majority",
    "S2-smiles": "reconstructions are all smiling",
    "S2-glasses": "reconstructions lose glasses",
    "S2-majority": "… because rarer attributes are not learned",
    "S3-interpolation": "mixing codes mixes male and female traits",
    "S3-blurry": "the output is blurry",
    "S3-blurry-because-32": "… because the input is 32×32",
    "S3-halved-kl": "halving the KL improves reconstructions",
    "S3-halved-kl-why": "… because the full KL takes the loss drop",
    "S1-table4": "Table 4: the CNN reaches 99.21 %",
    "S1-table5-20": "Table 5: 20 % + VAE images reach 97.50 %",
    "S1-table5-50": "Table 5: 50 % + VAE images reach 98.34 %",
    "S1-table5-100": "Table 5: 100 % + VAE images reach 98.70 %",
    "S1-more-data": "more training data, higher accuracy",
    "S1-below-full": "all stay below the full-MNIST classifier",
    "S1-no-help": "VAE images do not help on MNIST",
    "S1-too-easy": "MNIST is too easy for interference to help",
    "S1-scarce-helps": "VAE images help on harder data",
}
