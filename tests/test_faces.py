"""Faces helpers: the attribute classifier and its cache, rates with Wilson intervals, the model scores, latent paths
and their measures, attribute vectors and their edits, the blur control, the bias test's arithmetic (face_bias, on
hand-made verdicts), and the face explorer's callbacks (headless)."""
import math

import pytest
import torch

from vae_utils import data, face_bias, faces, metrics, stats
from vae_utils.models import ModelSpec, build_model
from vae_utils.train import TrainConfig
from vae_utils.widgets import FaceMixExplorer


def toy_faces(count=64, side=32, seed=0) -> data.FaceTensors:
    """Faces whose 'Bright' attribute is a bright image and 'Red' a red-dominated one: learnable in a few steps."""
    g = torch.Generator().manual_seed(seed)
    bright, red = torch.rand(count, generator=g) < 0.5, torch.rand(count, generator=g) < 0.3
    images = (torch.rand(count, 3, side, side, generator=g) * 60 + 40 + 120 * bright.view(-1, 1, 1, 1)).clamp(0, 255)
    images[:, 0] += 60 * red.view(-1, 1, 1).float()
    return data.FaceTensors(images.clamp(0, 255).to(torch.uint8), torch.arange(count), {"dataset": "toy", "seed": seed},
                            torch.stack([bright, red], 1), ("Bright", "Red"), torch.zeros(count, dtype=torch.long),
                            tuple(f"{i:06d}.jpg" for i in range(count)))


def test_wilson_interval_against_hand_values():
    low, high = stats.wilson_interval(5, 10)
    assert low == pytest.approx(0.2366, abs=1e-4) and high == pytest.approx(0.7634, abs=1e-4)
    assert stats.wilson_interval(0, 20)[0] == 0.0 and 0 < stats.wilson_interval(0, 20)[1] < 0.2
    assert stats.wilson_interval(20, 20)[1] == 1.0
    with pytest.raises(ValueError, match="successes"):
        stats.wilson_interval(3, 2)
    r = faces.rate(torch.tensor([True, False, False, True]))
    assert r["rate"] == 0.5 and r["count"] == 2 and r["n"] == 4 and r["low"] < 0.5 < r["high"]


def test_balanced_accuracy_is_half_for_always_no_on_a_rare_attribute():
    truth = torch.tensor([[True], [False], [False], [False]])
    assert faces.balanced_accuracy(torch.zeros(4, 1, dtype=torch.bool), truth)[0] == 0.5
    assert faces.balanced_accuracy(truth, truth)[0] == 1.0
    assert math.isnan(faces.balanced_accuracy(truth, torch.ones(4, 1, dtype=torch.bool))[0])


def test_classifier_learns_trains_once_and_loads_from_its_cache(tmp_path):
    train, val = toy_faces(128, seed=0), toy_faces(64, seed=1)
    config = TrainConfig(epochs=4, batch_size=32, learning_rate=3e-3)
    first = faces.fit_attribute_classifier(config, train, val, ("Bright", "Red"), name="clf", checkpoint_dir=tmp_path, progress=False)
    assert not first.from_cache and len(first.history["val_balanced_accuracy"]) == 4
    accuracy = faces.balanced_accuracy(first.predict(val.images), val.attributes)
    assert accuracy[0] > 0.9, accuracy
    again = faces.fit_attribute_classifier(config, train, val, ("Bright", "Red"), name="clf", checkpoint_dir=tmp_path, progress=False)
    assert again.from_cache and torch.equal(again.probabilities(val.images), first.probabilities(val.images))
    # a 64x64 face and the same face at 32x32 with its pixels repeated read the same
    big = faces.upsample_to(val.as_float(), 64)
    assert big.shape[-1] == 64 and torch.allclose(first.probabilities(big), first.probabilities(val.images), atol=1e-5)
    with pytest.raises(ValueError, match="multiple of 32"):
        first.model(torch.rand(2, 3, 28, 28))


def test_paths_lerp_and_slerp():
    z0, z1 = torch.tensor([[3.0, 0.0]]), torch.tensor([[0.0, 3.0]])
    alphas = torch.tensor([0.0, 0.5, 1.0])
    linear, spherical = faces.lerp(z0, z1, alphas), faces.slerp(z0, z1, alphas)
    assert linear.shape == spherical.shape == (1, 3, 2)
    assert torch.allclose(linear[0, 1], torch.tensor([1.5, 1.5]))
    assert linear[0, 1].norm() == pytest.approx(3 / math.sqrt(2), rel=1e-5)  # the midpoint of orthogonal codes shrinks
    assert spherical[0].norm(dim=1).tolist() == pytest.approx([3.0, 3.0, 3.0], rel=1e-5)
    assert torch.allclose(spherical[0, 0], z0[0], atol=1e-5) and torch.allclose(spherical[0, 2], z1[0], atol=1e-5)
    same = faces.slerp(z0, 2 * z0, alphas)
    assert torch.allclose(same, faces.lerp(z0, 2 * z0, alphas))  # parallel codes: no angle to turn through
    root, low, high = faces.prior_norm_band(128)
    assert root == pytest.approx(math.sqrt(128)) and low < root < high and high - low == pytest.approx(2 * 1.96 / math.sqrt(2))
    norms = torch.randn(4000, 128, generator=torch.Generator().manual_seed(0)).norm(dim=1)
    assert ((norms > low) & (norms < high)).float().mean() == pytest.approx(0.95, abs=0.02)


def test_attribute_vectors_and_blur_control():
    model = build_model(ModelSpec("s3_conv", (3, 32, 32), 8, variational=True)).eval()
    toy = toy_faces(40)
    vectors = faces.attribute_vectors(model, toy, ("Bright",))
    z = metrics.codes(model, toy.images)
    assert torch.allclose(vectors["Bright"], z[toy.attribute("Bright")].mean(0) - z[~toy.attribute("Bright")].mean(0))
    sharp = toy.as_float()
    target = metrics.laplacian_variance(sharp).mean().item() / 10
    blurred, sigma = faces.blur_to_match(sharp, target)
    assert blurred.shape == sharp.shape and sigma > 0
    assert torch.equal(faces.gaussian_blurred(sharp, sigma), blurred)  # a cached sigma rebuilds the same control (notebook 06)
    assert metrics.laplacian_variance(blurred).mean().item() < metrics.laplacian_variance(sharp).mean().item()
    # the bisection over the Laplacian picks what a scan of every sigma picks, inside and outside the grid's range
    from torchvision.transforms.v2.functional import gaussian_blur
    score = lambda x: metrics.laplacian_variance(x).mean().item()
    for target in (score(sharp) / 10, score(sharp) * 2):
        scan = min(faces.FINE_SIGMAS, key=lambda s: abs(score(gaussian_blur(sharp, 2 * math.ceil(3 * s) + 1, s)) - target))
        assert faces.blur_to_match(sharp, target)[1] == scan


def test_new_architectures_shapes():
    for arch, shape, latent in (("faces_conv", (3, 64, 64), 16), ("s3_conv", (3, 32, 32), 64)):
        model = build_model(ModelSpec(arch, shape, latent, variational=True))
        out = model(torch.rand(2, *shape))
        assert out["logits"].shape == (2, *shape) and out["mu"].shape == (2, latent)
    with pytest.raises(ValueError, match="divisible by 16"):
        build_model(ModelSpec("faces_conv", (3, 40, 40), 8, variational=True))
    with pytest.raises(ValueError, match="divisible by 4"):
        build_model(ModelSpec("s3_conv", (3, 30, 30), 8, variational=True))


def test_fitted_gaussian_scale_is_the_rms_error():
    model = build_model(ModelSpec("s3_conv", (3, 32, 32), 4, variational=True)).eval()
    images = toy_faces(16).images
    log_scale = metrics.fitted_gaussian_log_scale(model, images)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        x = data.to_float(images)
        mean = torch.sigmoid(model(x)["logits"])
    assert math.exp(log_scale) == pytest.approx((x - mean).pow(2).mean().sqrt().item(), rel=1e-5)


def test_face_explorer_callbacks_redraw_headless():
    decode = lambda z: torch.sigmoid(z[:, :3].view(-1, 3, 1, 1).expand(-1, 3, 4, 4))
    codes = torch.tensor([[-3.0, -3.0, -3.0, 0.0], [3.0, 3.0, 3.0, 0.0], [0.0, 3.0, 0.0, 1.0]])
    explorer = FaceMixExplorer(decode, codes, {"linear": faces.lerp, "spherical": faces.slerp}, {"Red": torch.tensor([4.0, 0, 0, 0])},
                               first=0, second=1)
    assert torch.allclose(explorer.current_code(), torch.zeros(4))  # alpha 0.5 on the straight line between opposite codes
    before = bytes(explorer.image.value)
    explorer.alpha.value = 1.0  # the observer redraws, as in JupyterLab
    assert torch.allclose(explorer.current_code(), codes[1]) and bytes(explorer.image.value) != before
    explorer.strengths["Red"].value = 1.0
    assert explorer.current_code()[0].item() == pytest.approx(7.0)
    explorer.second.value, explorer.path.value, explorer.alpha.value = 2, "spherical", 0.5
    assert explorer.current_code().norm().item() == pytest.approx(faces.slerp(codes[:1], codes[2:], torch.tensor([0.5]))[0, 0].add(
        torch.tensor([4.0, 0, 0, 0])).norm().item(), rel=1e-5)
    assert explorer.update().startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="first and second"):
        FaceMixExplorer(decode, codes, {"linear": faces.lerp}, {}, first=5)
    with pytest.raises(ValueError, match="needs 4 numbers"):
        FaceMixExplorer(decode, codes, {"linear": faces.lerp}, {"x": torch.zeros(3)})


def test_the_notebooks_face_explorer_redraws_from_its_committed_decoder():
    """Notebook 06's explorer, headless: the committed face VAE decodes the mix, and moving α or a vector redraws it."""
    from pathlib import Path

    from vae_utils.train import load_trained

    paths = [p for p in (Path(__file__).resolve().parents[1] / "checkpoints").glob("06_face_vae_z128-*.pt") if ".partial" not in p.name]
    assert len(paths) == 1, f"expected one committed checkpoint 06_face_vae_z128-*.pt, found {paths}"
    model = load_trained(paths[0], device="cpu")
    codes = torch.randn(3, model.latent_dim, generator=torch.Generator().manual_seed(0))
    explorer = FaceMixExplorer(lambda z: torch.sigmoid(model.decode(z)), codes, {"linear": faces.lerp, "spherical": faces.slerp},
                               {"Smiling": torch.ones(model.latent_dim)}, first=0, second=1)
    before = bytes(explorer.image.value)
    explorer.alpha.value = 0.9
    after_alpha = bytes(explorer.image.value)
    explorer.strengths["Smiling"].value = 1.5
    assert before.startswith(b"\x89PNG") and after_alpha != before and bytes(explorer.image.value) != after_alpha


def test_late_gain_is_the_share_of_the_drop_in_the_last_epochs():
    curve = [10.0, 8.0, 6.0, 5.0, 4.0, 3.0, 2.5, 2.0]  # dropped 8 in all, 4 of it after epoch 3 (value 6)
    assert faces.late_gain(curve) == pytest.approx(0.5)
    assert faces.late_gain(curve, epochs=1) == pytest.approx(0.5 / 8)
    assert faces.late_gain([3.0, 2.0, 1.0]) == pytest.approx(1.0)  # shorter than the window: the whole drop
    assert faces.late_gain([2.0, 2.0, 2.0]) == 0.0


def test_paired_at_middle_by_hand():
    first = torch.tensor([[0.0, 1.0, 2.0, 3.0, 4.0, 5.0], [9.0, 9.0, 4.0, 4.0, 9.0, 9.0]])
    second = torch.zeros(2, 6)
    middle = faces.paired_at_middle(first, second)  # steps 2 and 3: per pair 2.5 and 4
    assert middle["difference"] == pytest.approx(3.25) and middle["pairs"] == 2
    assert middle["stderr"] == pytest.approx(0.75)  # std of (2.5, 4) is 1.5 / sqrt 2, over sqrt 2 pairs
    assert faces.paired_at_middle(first[:, :5], second[:, :5])["difference"] == pytest.approx(3.0)  # odd T: step 2 alone
    assert faces.paired_at_middle(first, second, steps=(0,))["difference"] == pytest.approx(4.5)
    with pytest.raises(ValueError, match="one shape"):
        faces.paired_at_middle(first, second[:, :5])


def untrained_classifier(names=("Bright", "Male")) -> faces.TrainedAttributeClassifier:
    torch.manual_seed(0)
    return faces.TrainedAttributeClassifier(faces.AttributeClassifier(len(names)).eval(), names, {}, 0.0, False, None)


def test_path_summary_measures_each_path_and_keeps_the_pairs():
    toy = toy_faces(8)
    z = torch.tensor([[3.0, 0.0], [0.0, 3.0]])
    alphas = torch.linspace(0, 1, 5)
    starts, ends = z[[0, 1]], z[[1, 0]]  # two pairs of orthogonal codes, there and back
    paths = {"linear": faces.lerp(starts, ends, alphas), "spherical": faces.slerp(starts, ends, alphas)}
    decoded = {kind: torch.rand(2, 5, 3, 32, 32, generator=torch.Generator().manual_seed(1)) for kind in paths}
    classifier = untrained_classifier()
    summary, per_pair = faces.path_summary(toy, z, paths, decoded, classifier)
    assert summary["d"] == 2 and summary["posterior_mean_norm"] == pytest.approx(3.0)
    assert per_pair["linear"]["norm"].shape == (2, 5)
    assert summary["linear"]["norm"][2] == pytest.approx(3 / math.sqrt(2), rel=1e-5)  # the midpoint of orthogonal codes
    assert summary["linear"]["norm"][0] == pytest.approx(3.0) and summary["spherical"]["norm"] == pytest.approx([3.0] * 5, rel=1e-5)
    male = classifier.probabilities(faces.upsample_to(decoded["linear"][1], 64))[:, 1]
    assert torch.allclose(per_pair["linear"]["p_male"][1], male)
    reference = metrics.laplacian_variance(toy.as_float()).mean()
    assert summary["spherical"]["laplacian_ratio"][4] == pytest.approx(
        (metrics.laplacian_variance(decoded["spherical"][:, 4]) / reference).mean().item(), rel=1e-5)
    assert set(summary["linear"]) == {"norm", "norm_sd", "p_male", "laplacian_ratio"}


def test_describe_model_scores_and_caches_the_iwae_beside_the_checkpoint(tmp_path):
    from vae_utils.train import fit

    toy = toy_faces(64)
    run = fit(ModelSpec("s3_conv", (3, 32, 32), 4, variational=True), TrainConfig(epochs=2, likelihood="discretized_gaussian",
              gaussian_log_scale=None), toy, toy, name="toy_vae", checkpoint_dir=tmp_path, progress=False)
    log_scale = run.log_scale.item()
    row = faces.describe_model(run, toy, log_scale, samples=10, iwae_images=8, iwae_k=2)
    bound = metrics.evaluate_elbo(run.model, toy.images, "discretized_gaussian", 1.0, log_scale)
    assert row["ELBO bits/dim"] == pytest.approx(metrics.bits_per_dim(-bound["elbo"], 3 * 32 * 32))
    assert row["σ (grey levels)"] == pytest.approx(255 * math.exp(log_scale))
    assert row["gain in the last 5 epochs"] == pytest.approx(faces.late_gain(run.history["val_loss"]))
    assert 0 < row["recon laplacian_ratio"] and row["IWAE bits/dim"] > 0
    assert run.path.with_suffix(".iwae2.json").is_file()
    assert faces.laplacian_ratio_per_face(run.model, toy).shape == (64,)


def test_vector_edit_effect_counts_verdicts_before_and_after():
    model = build_model(ModelSpec("s3_conv", (3, 32, 32), 4, variational=True)).eval()
    classifier = untrained_classifier()
    z = torch.randn(6, 4, generator=torch.Generator().manual_seed(0))
    unchanged = faces.vector_edit_effect(model, z, torch.zeros(4), 1.0, classifier, "Male")
    assert unchanged["faces"] == 6 and unchanged["change"]["difference"] == 0.0
    assert unchanged["before"]["count"] == unchanged["after"]["count"]
    moved = faces.vector_edit_effect(model, z, torch.full((4,), 5.0), -1.0, classifier, "Male")
    after = classifier.predict(torch.sigmoid(model.decode(z - 5.0)))[:, 1]
    assert moved["after"]["count"] == int(after.sum())
    assert moved["change"]["difference"] == pytest.approx(moved["after"]["rate"] - moved["before"]["rate"])


def flags(*columns):
    return torch.tensor(columns, dtype=torch.bool).T  # one column per attribute


def hand_made_verdicts():
    return {"inputs": flags([1, 1, 0, 0], [0, 0, 0, 1]),
            "inputs blurred (σ = 1.0 px)": flags([1, 1, 1, 0], [0, 0, 0, 1]),
            "reconstructions": flags([1, 0, 0, 0], [0, 0, 0, 1]),
            "samples": flags([1, 1, 1, 1, 1, 1, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0])}


def test_rate_changes_by_hand():
    changes = face_bias.rate_changes(hand_made_verdicts(), ("Glasses", "Hat"))
    glasses = changes["Glasses"]
    # reconstructions - inputs per face: 0, -1, 0, 0 -> mean -0.25, sd 0.5, s.e. 0.5 / sqrt 4
    assert glasses["recon_minus_input"]["difference"] == pytest.approx(-0.25)
    assert glasses["recon_minus_input"]["stderr"] == pytest.approx(0.25)
    assert glasses["blurred_minus_input"]["difference"] == pytest.approx(0.25)
    assert glasses["recon_minus_blurred"]["difference"] == pytest.approx(-0.5)
    # samples 6/8 against inputs 2/4, independent sets
    assert glasses["samples_minus_input"]["difference"] == pytest.approx(0.25)
    assert glasses["samples_minus_input"]["stderr"] == pytest.approx(math.sqrt(0.75 * 0.25 / 8 + 0.5 * 0.5 / 4))
    assert changes["Hat"]["recon_minus_input"] == {"difference": 0.0, "stderr": 0.0, "pairs": 4}
    assert changes["Hat"]["samples_minus_input"]["difference"] == pytest.approx(-0.25)


def test_attribute_rates_count_each_set():
    truth = flags([1, 0, 0, 0], [1, 1, 1, 1])
    rates = face_bias.attribute_rates(truth, hand_made_verdicts(), ("Glasses", "Hat"))
    assert list(rates["Glasses"]) == ["human labels", "inputs", "inputs blurred (σ = 1.0 px)", "reconstructions", "samples"]
    assert rates["Glasses"]["human labels"]["count"] == 1 and rates["Hat"]["human labels"]["rate"] == 1.0
    assert rates["Glasses"]["samples"]["count"] == 6 and rates["Glasses"]["samples"]["n"] == 8


def test_majority_shift_signs_each_change_by_its_majority():
    after, before = flags([0, 1, 1], [0, 1, 0]), flags([1, 1, 0], [0, 0, 0])  # Rare lost on face 0, Common gained on face 1
    shift = face_bias.majority_shift(after, before, [0.1, 0.8])
    assert shift.tolist() == pytest.approx([0.5, 0.5, -0.5])  # face 2: Rare gained, against the majority


def test_proxy_baseline_finds_the_attribute_that_stands_in():
    truth = flags([1, 1, 0, 0, 0, 0], [1, 1, 1, 0, 0, 0], [0, 1, 1, 1, 1, 0])  # Mustache, Male, Long_Hair
    rule, predicted = face_bias.proxy_baseline(truth, 0, ("Mustache", "Male", "Long_Hair"))
    assert rule == "Male" and predicted.tolist() == [True, True, True, False, False, False]
    margin = face_bias.balanced_accuracy_margin(truth[:, 0], predicted, truth[:, 0])
    # perfect minus the rule: positives both right (0), negatives 1 of 4 wrong for the rule: ½ · ¼ = 0.125
    assert margin["difference"] == pytest.approx(0.125) and margin["pairs"] == 6


def test_classified_sets_reads_four_sets_with_the_classifier():
    model = build_model(ModelSpec("s3_conv", (3, 32, 32), 4, variational=True)).eval()
    toy, classifier = toy_faces(24), untrained_classifier()
    verdicts, sigma = face_bias.classified_sets(model, toy, classifier, samples=10)
    blurred = f"inputs blurred (σ = {sigma} px)"
    assert list(verdicts) == ["inputs", blurred, "reconstructions", "samples"]
    assert verdicts["samples"].shape == (10, 2) and verdicts[blurred].shape == (24, 2)
    assert torch.equal(verdicts["inputs"], classifier.predict(faces.upsample_to(toy.as_float(), 64)))
    again, _ = face_bias.classified_sets(model, toy, classifier, samples=10)
    assert torch.equal(again["samples"], verdicts["samples"])  # seeded
