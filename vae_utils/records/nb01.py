"""Notebook 01's record: the blur report's (S4) two claims — version 2 is sharper, and max pooling causes the loss in
resolution — worded with their protocols and deciding numbers, and `results/01_autoencoder_basics.json` with the
headline numbers of every section (the loop check, MNIST and CIFAR-10 scores, the one-factor ladder, decoded codes,
the 2-D code space, training time)."""
from __future__ import annotations

from pathlib import Path

from ..claims import claim_entry, decision_over_images, rule_verdict
from ..models import build_model, count_parameters
from ..notebook import Session
from ..results import training_time_sentence


def record(run: Session, *, seed, mnist_config, cifar_config, cifar_train, cifar_test, loop, mnist, mnist_ratios, cifar,
           measure_check, v2_sharper, ladder, ladder_runs, ladder_rows, ladder_summary, steps, seed_list, factor_train,
           quality, codes_spread, latent_2d, mnist_runs, cifar_runs) -> Path:
    """Word the S4 claims from §3's numbers, assemble the results and write them with `run.record`."""
    settings = run.settings
    still_improving = max(r["last_epoch_gain"] for rows in ladder_rows.values() for r in rows)   # the largest of any single run
    pooling_step = steps["pooling_to_strides"]
    in_words = {"reproduced": "measurably sharper without pooling", "refuted": "measurably blurrier without pooling",
                "no measurable difference": "no measurable difference"}
    by_measure = {m: in_words[rule_verdict(pooling_step[m])] for m in ("laplacian_ratio", "high_frequency_ratio")}
    sharpest = {m: max(r[m] for rows in ladder_rows.values() for r in rows) for m in ("laplacian_ratio", "high_frequency_ratio")}
    halved = {m: measure_check[m]["halved and re-enlarged"] for m in sharpest}
    why_untested = [f"under-trained (a run's last epoch still gave up to {still_improving:.0f}% of its held-out loss's fall), on "
                    f"{len(factor_train):,} CIFAR-10 images at 32×32 (the report: 128×128)"]
    if all(sharpest[m] < halved[m] for m in sharpest):
        why_untested.append("every model of the one-factor ladder is blurrier than a halved-and-re-enlarged copy on both measures "
                            f"(Laplacian ratio at most {sharpest['laplacian_ratio']:.3f} against the copy's {halved['laplacian_ratio']:.3f}; "
                            f"high-frequency share at most {sharpest['high_frequency_ratio']:.3f} against {halved['high_frequency_ratio']:.3f}), "
                            "so differences among them say little about \"resolution\"")
    if len(set(by_measure.values())) > 1:
        why_untested.append(f"the two measures also disagree on the pooling step (Laplacian ratio: {by_measure['laplacian_ratio']}; "
                            f"high-frequency share: {by_measure['high_frequency_ratio']})")
    v1, v2 = cifar["blur_v1"], cifar["blur_v2"]
    image_values = cifar["image_values"]
    CLAIMS = [
        claim_entry("S4-v2-sharper", "S4", "\"[version 2] images seem to have more definition\" than version 1's",
                    f"blur_v2 − blur_v1 Laplacian ratio per image, {len(cifar_test):,} exact CIFAR-10 test images, one seed each, Gaussian σ=1 loss, "
                    f"{settings['cifar_epochs']} epochs on {len(cifar_train):,} images at 32×32 (the report: 128×128); under-trained (the last epoch "
                    f"still gave {v1['last_epoch_gain']:.0f}% and {v2['last_epoch_gain']:.0f}% of the held-out loss's fall); v2's code "
                    f"({v2['code_size']:,} numbers) is larger than the image ({image_values:,} values)", decision_over_images(
                        v2_sharper, "Laplacian ratio", seed_spread="not measured for these two nets (one seed each)"), "3a",
                    support={"v2_code_size": cifar["blur_v2"]["code_size"], "v1_code_size": cifar["blur_v1"]["code_size"]}),
        claim_entry("S4-pooling-loses-resolution", "S4", "\"max pooling and upsampling is causing the loss in resolution\"",
                    f"strided − pooling at an equal 128-number code, BatchNorm, 3×3 kernel and {count_parameters(build_model(ladder['pool_bn_k3'])):,} "
                    f"parameters; {len(seed_list)} paired seeds; {settings['factor_epochs']} epochs on {len(factor_train):,} CIFAR-10 images "
                    f"(under-trained: up to {still_improving:.0f}% of the loss's fall in the last epoch); {len(cifar_test):,} exact test images",
                    pooling_step["laplacian_ratio"], "3b",
                    verdict="not tested as stated", why="; ".join(why_untested),
                    support={"high_frequency_ratio": steps["pooling_to_strides"]["high_frequency_ratio"],
                             "whole_change_laplacian": steps["whole_change"]["laplacian_ratio"]}),
    ]
    every_run = [*mnist_runs.values(), *cifar_runs.values(), *(r for runs in ladder_runs.values() for r in runs)]
    one_factor_seconds = sum(r.train_seconds for runs in ladder_runs.values() for r in runs)
    return run.record({
        "loop": loop, "mnist": mnist, "mnist_ratios": mnist_ratios, "cifar": cifar, "measure_check": measure_check,
        "cifar_one_factor": {"seeds": len(seed_list), "epochs": settings["factor_epochs"], "train_images": len(factor_train),
                             "summary": {label: {c: {"mean": m, "std": s} for c, (m, s) in columns.items()} for label, columns in ladder_summary.items()},
                             "steps": steps, "max_last_epoch_gain": still_improving,
                             "max_seed_std": max(s["laplacian_ratio"][1] for s in ladder_summary.values()),
                             "parameters": {label: count_parameters(build_model(spec)) for label, spec in ladder.items()},
                             "max_laplacian_ratio": sharpest["laplacian_ratio"], "max_high_frequency_ratio": sharpest["high_frequency_ratio"],
                             "min_last_epoch_gain": min(r["last_epoch_gain"] for rows in ladder_rows.values() for r in rows)},
        "decoded_code_quality": quality, "codes": codes_spread, "latent_2d": latent_2d, "claims": CLAIMS,
        "training": {"time_all_minutes": sum(r.train_seconds for r in every_run) / 60, "time_one_factor_minutes": one_factor_seconds / 60,
                     "sentence": training_time_sentence(run.notebook, sum(r.train_seconds for r in every_run), run.artifacts_dir)},
        "train_seconds_total": sum(r.train_seconds for r in every_run),
        "headline": {"figure": f"figures/{run.notebook}/cifar_reconstructions.png",
                     "number": f"CIFAR-10 sharpness kept (Laplacian ratio): blur report v2 {cifar['blur_v2']['laplacian_ratio']:.2f} with a "
                               f"{cifar['blur_v2']['code_size']:,}-number code vs v1 {cifar['blur_v1']['laplacian_ratio']:.2f} with 128"},
    }, seed=seed, mnist_train=mnist_config.__dict__, cifar_train=cifar_config.__dict__)
