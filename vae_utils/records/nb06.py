"""Notebook 06's record: `results/06_celeba_faces.json` from the numbers the notebook computed, with the claims ledger
entries for S2 (the training majority, smiles and glasses in the reconstructions, the majority as their cause) and S3
(interpolation between women and men, blur and its 32×32 explanation, the halved KL and its reason).

Each claim's wording, protocol, deciding number and verdict are built here; the notebook's prose states each verdict,
tied to the same results (`vae_utils.prose`). The notebook's §4 imports `SEED_SPREAD`, `pp` and `with_interval` from
here; `shift` (inside `record`) is its §4 helper of that name."""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from vae_utils import face_bias, faces
from vae_utils.claims import claim_entry, decision_over_images, rule_verdict
from vae_utils.results import training_time_sentence
from vae_utils.stats import wilson_interval

if TYPE_CHECKING:
    from vae_utils.data import FaceTensors
    from vae_utils.notebook import Session

SEED_SPREAD = "not measured: one trained model of each kind (seed 0)"


def signed(value, digits):  # one more decimal where rounding would print a negative value as "-0.0"
    text = f"{value:+.{digits}f}"
    return f"{value:+.{digits + 1}f}" if value < 0 and float(text) == 0 else text


def with_interval(d, digits=1):
    """'estimate [low, high]' of a decision, each signed."""
    return f"{signed(d['estimate'], digits)} [{signed(d['low'], digits)}, {signed(d['high'], digits)}]"


def pp(values, unit):
    """A decision over test faces of per-face values in [−1, 1], in points (× 100)."""
    return decision_over_images((100 * values).tolist(), unit, SEED_SPREAD)


def record(run: Session, *, seed: int, attributes: Sequence[str], split: dict, train_all: FaceTensors, training_share: dict,
           vaes: dict, model_rows: dict, log_scales: dict, report_sigma: float, blur_32: dict, sharpness_32: dict,
           classifier, classifier_check: dict, judged_at: dict, usable: dict, blur_sigma: dict,
           verdicts: dict, with_glasses, rate_charts: dict, change: dict, bias: dict, glasses_counts: dict, control_check: dict,
           interpolation: dict, count: int, path_stats: dict, training_lengths: dict, middle: dict,
           vector_effect: dict, kl_runs: dict, kl_decisions: dict) -> Path:
    """Build notebook 06's results and claims from its numbers (each keyword is the notebook's variable of that name;
    `attributes` is its ATTRIBUTES, `report_sigma` its REPORT_SIGMA) and write them with `run.record`."""
    settings, ATTRIBUTES, REPORT_SIGMA = run.settings, attributes, report_sigma
    (face_vae, test), report_vae = vaes["face VAE"], vaes["report's VAE"][0]
    GLASSES, SMILES = ATTRIBUTES.index("Eyeglasses"), ATTRIBUTES.index("Smiling")

    def shift(label, columns):
        """Each face's flag change, reconstruction − blurred input, over `columns`, signed toward each one's training majority."""
        return face_bias.majority_shift(verdicts[label]["reconstructions"][:, columns], verdicts[label]["inputs blurred"][:, columns],
                                        [training_share[ATTRIBUTES[c]] for c in columns])

    # numbers only the record uses, computed until now in the notebook's §1 (premise), §2 (σ if a mean, curves), §4 (glasses) and §6 (moved)
    REPORT_SIGMA_IF_MEAN = math.sqrt(0.5 * 3 * 32 * 32 / 2)  # the same loss with the MSE a mean over the 3,072 values: w = 1/3,072
    smiling_without_glasses = (train_all.attribute("Smiling") & ~train_all.attribute("Eyeglasses")).float()
    kl_curve = {label: {"epoch 2": r.history["train_kl"][min(1, len(r.history["train_kl"]) - 1)], "last": r.history["train_kl"][-1], "epoch 1 loss": r.history["train_loss"][0]}
                for label, r in (("face VAE", face_vae), ("report's VAE", report_vae))}
    for curve in kl_curve.values():  # how far the training KL rose from epoch 2 to the end (S3: it "increases slightly")
        curve["last over epoch 2"] = curve["last"] / curve["epoch 2"]
    late_change = {"face VAE held-out rise": -model_rows["face VAE"]["gain in the last 5 epochs"],
                   "face VAE training gain": faces.late_gain(face_vae.history["train_loss"])}  # shares of each curve's whole drop, last 5 epochs
    flagged = lambda label, name, faces_, column: verdicts[label][name][faces_, column].float()
    glasses = {label: {name: flagged(label, name, with_glasses, GLASSES).mean().item() for name in ("inputs", "inputs blurred", "reconstructions")}
               for label in vaes}
    glasses_kept = {label: {"of those in the inputs": c["reconstructions"] / c["inputs"], "of those in the blurred inputs": c["reconstructions"] / c["inputs blurred"]}
                    for label, c in glasses_counts.items()}  # how many glasses the reconstructions show, relative to what the classifier saw before
    moved = [name for name, e in vector_effect.items() if (e["change"]["low"] > 0 if name.endswith("added") else e["change"]["high"] < 0)]

    REPORT = "report's VAE"
    images_note = f"test faces of unseen people ({len(test):,}), one model of each kind (seed 0)"
    premise_share, report_bias = smiling_without_glasses.mean().item(), bias["report's VAE"]
    smiling_share = decision_over_images((100 * (train_all.attribute("Smiling").float() - 0.5)).tolist(), "points above ½", "not applicable: human labels, no model")
    SUMMED_READING = ("assumes S3's MSE is summed over the image (σ = 0.5, the reading we train); S3 does not say, and read as a mean "
                      f"(σ ≈ {REPORT_SIGMA_IF_MEAN:.1f}) the model collapses (notebook 05)")
    face_parts = bias["face VAE"]["parts"]
    toward = [a for a, d in face_parts.items() if d["low"] > 0]
    against = [a for a, d in face_parts.items() if d["high"] < 0]
    CLEAR = 0.75  # a clear training majority: at least 3/4 of the faces on one side, where a drift toward it has room to show
    majority = lambda a: max(training_share[a], 1 - training_share[a])  # the share of training faces on the majority side
    clear = [a for a in face_parts if majority(a) >= CLEAR]
    clear_toward, clear_against = [a for a in clear if a in toward], [a for a in clear if a in against]
    near_parity = [a for a in face_parts if a not in clear]
    # how far the cut could move without changing which attributes that move measurably count as clear: any cut above the
    # largest majority among the moving attributes left out, up to the smallest among those counted
    moving = toward + against
    majority_cut = {"threshold": CLEAR, "same_moving_above": max([majority(a) for a in moving if a not in clear], default=0.5),
                    "same_moving_up_to": min([majority(a) for a in moving if a in clear], default=1.0),
                    "clear": clear, "clear_moving": [a for a in clear if a in moving], "clear_not_moving": [a for a in clear if a not in moving]}
    s2_mean = pp(shift("face VAE", [SMILES, GLASSES]), "percentage points")

    def parts_named(names):  # each attribute's part, its training share, and whether the reconstructions lose or gain it
        change = lambda a: "" if a not in toward + against else ", lost" if (a in toward) == (training_share[a] < 0.5) else ", gained"
        return ", ".join(f"{a} {with_interval(face_parts[a])} (on {training_share[a]:.1%}{change(a)})" for a in names) or "none"
    decided_middle, other_middle = interpolation["report's VAE"], interpolation["face VAE"]
    HF_CONTROL = "inputs blurred to match the high-frequency share"
    smile_controls = {name: row["smiles gained"] for name, row in control_check["face VAE"].items() if "smiles gained" in row}
    smiling_rates = rate_charts["face VAE"]["Smiling"]
    FACE_VAE_DECIDES = "the face VAE decides: neither S2's network nor S2's loss; the report's-setting VAE beside it"
    kept_low, kept_high = wilson_interval(glasses_counts["face VAE"]["kept, of those seen in the blurred input"], glasses_counts["face VAE"]["inputs blurred"])
    glasses_kept_interval = {"face VAE": {"rate": glasses_counts["face VAE"]["kept, of those seen in the blurred input"] / glasses_counts["face VAE"]["inputs blurred"],
                                          "low": kept_low, "high": kept_high}}
    kept = glasses_kept_interval["face VAE"]
    def judge_note(a):  # where attribute a's classifier may judge (§3): its margin's low end over its rival on sharp faces and at each model's blur
        row = classifier_check[a]
        return (f"the {a} classifier's margin over its rival '{row['rival rule']}' has its low end at {row['margin low end']['sharp']:+.3f} on sharp faces, "
                + ", ".join(f"{row['margin low end'][judged_at[label]]:+.3f} at the {label}'s blur ({'judges' if row['judges'][label] else 'fails §3'})"
                            for label in vaes))
    glasses_judged = "Eyeglasses" in usable["face VAE"]
    s2_parts = {a: pp(shift("face VAE", [ATTRIBUTES.index(a)]), "percentage points") for a in ("Smiling", "Eyeglasses")}
    runs_half = kl_runs[0.5]
    kl_under_training = {"mse_min": min(r["test MSE/pixel"] for runs in kl_runs.values() for r in runs),
                         "mse_max": max(r["test MSE/pixel"] for runs in kl_runs.values() for r in runs),
                         "kl_mean_half": sum(r["KL nats"] for r in runs_half) / len(runs_half)}
    UNDER_TRAINED = (f"under-trained: {settings['beta_epochs']} of {settings['report_epochs']} epochs (test MSE/pixel {kl_under_training['mse_min']:.4f}–"
                     f"{kl_under_training['mse_max']:.4f} against {model_rows[REPORT]['test MSE/pixel']:.4f} at {settings['report_epochs']}; KL "
                     f"{kl_under_training['kl_mean_half']:.1f} nats against {model_rows[REPORT]['KL nats']:.1f}, still rising)")
    CLAIMS = [
        claim_entry("S2-majority-premise", "S2", "\"smiley faces without glasses are the majority of the training data\"",
                    f"joint reading: share of our training faces labelled Smiling and not Eyeglasses, minus 1/2, over the {len(train_all):,} "
                    "training faces (human labels)",
                    decision_over_images((smiling_without_glasses - 0.5).tolist(), "share of training faces", "not applicable: human labels, no model"), "1",
                    why=f"read jointly (smiling and without glasses on one face) the share is {premise_share:.1%}; read as two separate majorities, "
                        f"'without glasses' holds ({1 - training_share['Eyeglasses']:.1%}) and 'smiling' misses by "
                        f"{-smiling_share['estimate']:.1f} points ({training_share['Smiling']:.1%}, interval {with_interval(smiling_share)} points above ½)",
                    support={"smiling": training_share["Smiling"], "smiling_minus_half_points": smiling_share, "without_glasses": 1 - training_share["Eyeglasses"]}),
        claim_entry("S2-smiles", "S2", "reconstructions are \"all smiling\"",
                    f"classifier's Smiling flag, reconstruction − input blurred to the same Laplacian variance (σ on a 0.05 px grid), paired over "
                    f"{images_note}; {FACE_VAE_DECIDES}",
                    bias["face VAE"]["smiles_gained"], "4", verdict="mixed" if bias["face VAE"]["smiles_gained"]["low"] > 0 else "refuted",
                    why=f"'all' refuted: {smiling_rates['reconstructions']['rate']:.1%} of the face VAE's reconstructions are flagged smiling, far from all; "
                        "a gain beyond blur "
                        f"{'measured' if bias['face VAE']['smiles_gained']['low'] > 0 else 'not measured'}: "
                        f"{with_interval(bias['face VAE']['smiles_gained'])} points against inputs blurred to the same Laplacian variance. No Gaussian blur "
                        f"reaches the reconstructions' high-frequency share, so that control is support only ({with_interval(smile_controls[HF_CONTROL])}). "
                        f"The report's-setting VAE gains {with_interval(report_bias['smiles_gained'])} points",
                    support={"report_vae": report_bias["smiles_gained"], "recon_minus_input": {label: change[label]["Smiling"]["recon_minus_input"] for label in vaes},
                             "control_check": control_check}),
        claim_entry("S2-glasses", "S2", "reconstructions are \"without glasses (even if the original image has glasses)\"",
                    f"over the test faces labelled Eyeglasses: flagged in the input blurred as much − flagged in the reconstruction (per 100 faces); "
                    f"{images_note}; {FACE_VAE_DECIDES}",
                    bias["face VAE"]["glasses_lost"], "4",
                    verdict=("not tested as stated" if not glasses_judged else "mixed" if bias["face VAE"]["glasses_lost"]["low"] > 0 else "refuted"),
                    why=("" if glasses_judged else "the judge fails §3 at the face VAE's blur, so these counts decide nothing. They say: ")
                        + f"'all without glasses' refuted: glasses kept in {glasses_counts['face VAE']['kept, of those seen in the blurred input']} of the "
                        f"{glasses_counts['face VAE']['inputs blurred']} faces whose blurred input shows them ({kept['rate']:.0%}, Wilson interval "
                        f"[{kept['low']:.0%}, {kept['high']:.0%}]); a loss beyond blur "
                        f"{'measured' if bias['face VAE']['glasses_lost']['low'] > 0 else 'not measured'}: "
                        f"{with_interval(bias['face VAE']['glasses_lost'])} per 100 glasses faces. Judged at the face VAE's blur: {judge_note('Eyeglasses')}; "
                        f"the report's-setting VAE (loss {with_interval(report_bias['glasses_lost'])}) is support only",
                    support={"shares": glasses, "counts": glasses_counts, "kept_interval": glasses_kept_interval, "report_vae": report_bias["glasses_lost"],
                             "judge": classifier_check["Eyeglasses"]}),
        claim_entry("S2-majority", "S2", "because \"the network hasn't learned how to encode and decode other facial expressions and glasses\"",
                    f"per face, the mean of S2's two attributes (Smiling, Eyeglasses) of the flag change, reconstruction − blurred input, signed toward each "
                    f"one's training majority; each part alone and the mean over the attributes whose judge passes §3 at its blur "
                    f"({', '.join(usable['face VAE'])}) beside it; {images_note}; "
                    f"{FACE_VAE_DECIDES}",
                    s2_mean, "4",
                    verdict="not tested as stated" if not glasses_judged else "mixed" if clear_toward and clear_against else None,
                    why=("" if glasses_judged else "the Eyeglasses judge fails §3 at the face VAE's blur. ")
                        + f"the deciding number, the mean of S2's two attributes, reads '{rule_verdict(s2_mean)}' ({with_interval(s2_mean)} points); the verdict "
                        f"is {'mixed because' if clear_toward and clear_against else 'the rule’s, as'} the attributes with a clear training majority "
                        f"(at least {CLEAR:.0%} of training faces on one side; any cut above {majority_cut['same_moving_above']:.1%} and up to "
                        f"{majority_cut['same_moving_up_to']:.1%} picks the same ones that move measurably) go "
                        f"{'both ways' if clear_toward and clear_against else 'not both ways'} (face VAE, points toward each one's majority): toward it, "
                        f"as S2's mechanism predicts, {parts_named(clear_toward)}; against it, "
                        f"{parts_named(clear_against)}; neither way measurably, {parts_named(majority_cut['clear_not_moving'])}. The mean of S2's two "
                        f"attributes mixes Eyeglasses with Smiling ({with_interval(s2_parts['Smiling'])}, a smile "
                        f"{'gain' if s2_parts['Smiling']['estimate'] < 0 else 'loss'}), near parity (smiling is on {training_share['Smiling']:.1%} of "
                        f"training faces), where a majority mechanism predicts little. Also near parity: {parts_named([a for a in near_parity if a != 'Smiling'])}; "
                        f"the mean over all judged attributes is {with_interval(bias['face VAE']['toward_majority'])}",
                    support={"s2_parts": s2_parts, "majority_cut": majority_cut, "s2_mean_reads": rule_verdict(s2_mean), "usable_mean": bias["face VAE"]["toward_majority"], "parts": {label: b["parts"] for label, b in bias.items()},
                             "without_Male": {label: b["without_Male"] for label, b in bias.items()},
                             "report_vae": report_bias["toward_majority"],
                             "left_out_weak_classifier": {label: [a for a in ATTRIBUTES if a not in usable[label]] for label in vaes}}),
        claim_entry("S3-interpolation", "S3", "mixing a woman's and a man's codes reflects \"the characteristics of men and women to different degrees\"",
                    f"classifier's P(Male) of the decoded face at α = 0.4–0.6 − at α = 0 (the woman's end), linear path, report's VAE, over {count} random "
                    f"(woman, man) test pairs; the rest of the way to α = 1 beside it; {SUMMED_READING}",
                    decided_middle["middle_minus_woman"], "5",
                    verdict=None if decided_middle["man_minus_middle"]["low"] > 0 else "mixed",
                    why=f"the middle faces sit between the ends: P(Male) rises {with_interval(decided_middle['middle_minus_woman'], 2)} from the woman's end to "
                        f"α = 0.4–0.6 and a further {with_interval(decided_middle['man_minus_middle'], 2)} to the man's end; but the report's VAE's 'men' "
                        f"are weak men (mean P(Male) only {path_stats[REPORT]['linear']['p_male'][-1]:.2f} at α = 1)",
                    support={"man_minus_middle": decided_middle["man_minus_middle"], "man_minus_woman": decided_middle["man_minus_woman"],
                             "share_rising_at_every_step": decided_middle["share_rising_at_every_step"], "face_vae": other_middle,
                             "p_male_along_linear_path": {label: s["linear"]["p_male"] for label, s in path_stats.items()}}),
        claim_entry("S3-blurry", "S3", "\"the picture output by the model is blurry\"",
                    f"1 − each reconstruction's Laplacian variance over its input's, report's VAE at 32×32, {images_note}",
                    decision_over_images((1 - sharpness_32["report's VAE"]).tolist(), "share of Laplacian variance lost", SEED_SPREAD), "2",
                    why=f"about as blurry as a face halved and re-enlarged: that copy loses {1 - blur_32['test faces halved and re-enlarged']['laplacian_ratio_per_face']:.0%} "
                        f"of the Laplacian variance, the reconstructions slightly less; it keeps {blur_32['test faces halved and re-enlarged']['high_frequency_ratio']:.2f} "
                        f"of the high-frequency share, the reconstructions {blur_32[REPORT]['high_frequency_ratio']:.2f}: by the Laplacian they are slightly "
                        "less blurry than that copy, by the high-frequency share more",
                    support={"blur_at_32": blur_32, "kl_weight_runs_laplacian_ratio_at_12_epochs": [r["recon laplacian_ratio"] for r in kl_runs[0.5]]}),
        claim_entry("S3-blurry-because-32", "S3", "blurry \"since the input picture is 32X32\"",
                    f"per face at 32×32: Laplacian ratio of the 64×64 face VAE (output and input averaged to 32×32) − the report's VAE's; {images_note}",
                    decision_over_images((sharpness_32["face VAE"] - sharpness_32["report's VAE"]).tolist(), "Laplacian ratio", SEED_SPREAD), "2",
                    verdict="not tested as stated",
                    why="the one-factor test (the report's network trained at 64×64) was not run: our 64×64 model also differs in its network and its σ "
                        f"(learned, {model_rows['face VAE']['σ (grey levels)']:.0f} grey levels, against 128), and at its own resolution it keeps only "
                        f"{model_rows['face VAE']['recon laplacian_ratio']:.2f} of its inputs' Laplacian variance. Compared at 32×32 it is the sharper "
                        "(the number leans the report's way), but that cannot separate resolution from network and σ"),
        claim_entry("S3-halved-kl", "S3", "halving the KL gives better reconstructions (\"poorer model performance\" without it)",
                    f"test MSE per pixel value, SSE + KL − SSE + 0.5·KL, paired over {settings['beta_seeds']} seeds, report's VAE, "
                    f"under-trained: {settings['beta_epochs']} of {settings['report_epochs']} epochs; {SUMMED_READING}",
                    kl_decisions["test MSE/pixel"], "7", why=f"halving the KL helps at this budget; the runs are {UNDER_TRAINED}, so whether it helps at "
                    f"{settings['report_epochs']} epochs is not measured", support={"under_training": kl_under_training, "kl_nats": kl_decisions["KL nats"], "laplacian_ratio": kl_decisions["recon laplacian_ratio"]}),
        claim_entry("S3-halved-kl-why", "S3", "because with the full KL \"the loss drop is concentrated on too much KL divergence\"",
                    f"test KL (nats per face), SSE + 0.5·KL − SSE + KL, paired over {settings['beta_seeds']} seeds, {settings['beta_epochs']} epochs (positive: the "
                    f"full weight pushes the KL down); {SUMMED_READING}",
                    {**kl_decisions["KL nats"], "estimate": -kl_decisions["KL nats"]["estimate"], "low": -kl_decisions["KL nats"]["high"],
                     "high": -kl_decisions["KL nats"]["low"]}, "7", verdict="not tested as stated",
                    why="S3's reason is about where the loss drop goes during training; the paired runs kept only end-of-training test numbers. "
                        f"Those show the full weight ending with {-kl_decisions['KL nats']['estimate']:.1f} nats less KL and a higher MSE, which a larger KL "
                        "weight (a wider declared σ) does for any model, so they cannot tell S3's mechanism from the plain trade-off between the two terms",
                    support={"mse_per_pixel": kl_decisions["test MSE/pixel"]}),
    ]
    kl_seconds = sum(r["train_seconds"] for runs in kl_runs.values() for r in runs)
    train_seconds = face_vae.train_seconds + report_vae.train_seconds + classifier.train_seconds + kl_seconds
    return run.record({
        "split": split, "training_share": training_share, "premise": {"share": premise_share, "joint_minus_half": {k: 100 * CLAIMS[0]["decision"][k] for k in ("estimate", "low", "high")},
                                                                      "smiling_minus_half": smiling_share, "without_glasses": 1 - training_share["Eyeglasses"]},
        "models": model_rows, "late_change": late_change, "kl_curve": kl_curve, "blur_32": blur_32,
        "report_sigma": {"trained": REPORT_SIGMA, "if_mse_is_a_mean": REPORT_SIGMA_IF_MEAN, "fitted_for_scoring": math.exp(log_scales["report's VAE"])},
        "blur_control_sigma_px": blur_sigma, "control_check": control_check,
        "classifier": classifier_check, "usable_attributes": usable, "attribute_rates": rate_charts, "rate_changes": change, "glasses": glasses,
        "glasses_faces": int(with_glasses.sum()), "glasses_counts": glasses_counts, "glasses_kept": glasses_kept, "glasses_kept_interval": glasses_kept_interval,
        "s2_parts": s2_parts, "kl_under_training": kl_under_training, "bias": bias, "paths": path_stats, "interpolation": interpolation,
        "training_lengths": training_lengths,
        "p_male_at_man": {label: s["linear"]["p_male"][-1] for label, s in path_stats.items()},
        "linear_middle_norm": {label: min(s["linear"]["norm"]) for label, s in path_stats.items()},
        "linear_middle_sharpness": {label: min(s["linear"]["laplacian_ratio"]) for label, s in path_stats.items()}, "middle": middle, "attribute_vectors": vector_effect,
        "vectors_moved": len(moved), "kl_runs": kl_runs, "kl_decisions": kl_decisions, "kl_budget": {"epochs": settings["beta_epochs"], "seeds": settings["beta_seeds"]},
        "claims": CLAIMS, "train_seconds_total": train_seconds,
        "training": {"time_minutes": train_seconds / 60, "sentence": training_time_sentence(run.notebook, train_seconds, run.artifacts_dir)},
        "headline": {"figure": f"figures/{run.notebook}/attribute_rates_face.png",
                     "number": f"CelebA face VAE: {model_rows['face VAE']['IWAE bits/dim']:.2f} bits/dim; glasses seen in {glasses['face VAE']['inputs']:.0%} of "
                               f"glasses-wearing test inputs vs {glasses['face VAE']['reconstructions']:.0%} of their reconstructions"},
    }, seed=seed)
