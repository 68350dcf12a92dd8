"""The wiki report's bias test (S2) on faces: what an attribute classifier flags in test inputs, in the inputs blurred
as much as the reconstructions, in the reconstructions and in prior samples; how each attribute's rate changes; and
whether the changes move toward each attribute's majority in the training faces."""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import torch

from .data import ImageTensors
from .faces import TrainedAttributeClassifier, blur_to_match, rate, upsample_to
from .metrics import laplacian_variance, paired_difference, reconstructions
from .models import VAE

BLURRED = "inputs blurred"  # the start of the blurred set's name, which goes on with its sigma


def classified_sets(model: VAE, test: ImageTensors, classifier: TrainedAttributeClassifier, *, samples: int, seed: int = 0,
                    classifier_side: int = 64) -> tuple[dict[str, torch.Tensor], float]:
    """The classifier's verdicts, (N, A) bool with A = classifier.attribute_names, read at side `classifier_side`, on
    four sets: "inputs" (the test images), "inputs blurred (σ = s px)" (blurred to the reconstructions' mean Laplacian
    variance by `blur_to_match`), "reconstructions", and "samples" (`samples` decoded prior draws, seeded; N = samples).
    Returns (verdicts by set, the blur's sigma in pixels)."""
    inputs = test.as_float()
    recon = reconstructions(model, test.images)
    blurred, sigma = blur_to_match(inputs, laplacian_variance(recon).mean().item())
    drawn = model.sample(samples, generator=torch.Generator().manual_seed(seed))
    sets = {"inputs": inputs, f"{BLURRED} (σ = {sigma} px)": blurred, "reconstructions": recon, "samples": drawn}
    return {name: classifier.predict(upsample_to(x, classifier_side)) for name, x in sets.items()}, sigma


def attribute_rates(truth: torch.Tensor, verdicts: Mapping[str, torch.Tensor], attributes: Sequence[str]) -> dict[str, dict[str, dict]]:
    """Per attribute (the columns of truth (N, A) bool and of each verdicts set (N_set, A) bool), the share of faces
    flagged with its count and 95% Wilson interval (`rate`): {attribute: {"human labels": ..., set name: ...}}."""
    return {a: {"human labels": rate(truth[:, i]), **{name: rate(v[:, i]) for name, v in verdicts.items()}}
            for i, a in enumerate(attributes)}


def rate_changes(verdicts: Mapping[str, torch.Tensor], attributes: Sequence[str]) -> dict[str, dict[str, dict[str, float]]]:
    """Per attribute, changes of the flagged share (0.01 = one percentage point) between classified_sets' sets, each
    {difference, stderr}: recon_minus_input, blurred_minus_input and recon_minus_blurred are paired over the same faces
    (metrics.paired_difference); samples_minus_input compares independent sets, stderr sqrt(p1 q1 / n1 + p2 q2 / n2)."""
    blurred_name = next(name for name in verdicts if name.startswith(BLURRED))
    changes = {}
    for i, a in enumerate(attributes):
        inputs, recon, blurred = (verdicts[name][:, i].float() for name in ("inputs", "reconstructions", blurred_name))
        sample_rate, input_rate = verdicts["samples"][:, i].float().mean().item(), inputs.mean().item()
        changes[a] = {"recon_minus_input": paired_difference(recon, inputs), "blurred_minus_input": paired_difference(blurred, inputs),
                      "recon_minus_blurred": paired_difference(recon, blurred),
                      "samples_minus_input": {"difference": sample_rate - input_rate, "stderr": math.sqrt(
                          sample_rate * (1 - sample_rate) / len(verdicts["samples"]) + input_rate * (1 - input_rate) / len(inputs))}}
    return changes


def toward_majority(changes: Mapping[str, Mapping[str, Mapping[str, float]]], training_share: Mapping[str, float],
                    key: str = "recon_minus_input") -> dict[str, float]:
    """The mean over attributes of the change `key` (see rate_changes), each signed toward its attribute's majority in
    the training faces (training_share: the share with the attribute; positive: rare attributes vanish, common ones
    spread), with its standard error (the attributes' errors combined as independent): {difference, stderr}."""
    signed = [(c[key]["difference"] if training_share[a] > 0.5 else -c[key]["difference"], c[key]["stderr"]) for a, c in changes.items()]
    return {"difference": sum(d for d, _ in signed) / len(signed), "stderr": math.sqrt(sum(s * s for _, s in signed)) / len(signed)}


def against_majority(changes: Mapping[str, Mapping[str, Mapping[str, float]]], training_share: Mapping[str, float],
                     key: str = "recon_minus_input") -> list[str]:
    """The attributes whose change `key` is measurable (beyond twice its standard error) and away from their training
    majority: a rare attribute gained or a common one lost."""
    return [a for a, c in changes.items() if abs(c[key]["difference"]) > 2 * c[key]["stderr"]
            and (c[key]["difference"] > 0) != (training_share[a] > 0.5)]


def share_change_correlation(changes: Mapping[str, Mapping[str, Mapping[str, float]]], training_share: Mapping[str, float],
                             key: str = "recon_minus_input") -> float:
    """Pearson's correlation, over the attributes, between an attribute's training share and its change `key`."""
    return torch.corrcoef(torch.tensor([[training_share[a] for a in changes],
                                        [c[key]["difference"] for c in changes.values()]]))[0, 1].item()
