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


def majority_shift(after: torch.Tensor, before: torch.Tensor, training_share: Sequence[float]) -> torch.Tensor:
    """Per face, the mean over attributes of the change of the classifier's flags (after, before: (N, A) bool, e.g.
    reconstructions and equally blurred inputs), each signed toward its attribute's majority in the training faces
    (training_share (A,): the share with the attribute; positive: rare attributes vanish, common ones spread): (N,),
    zeros for A = 0."""
    if after.shape[1] == 0:
        return torch.zeros(len(after))
    sign = torch.tensor([1.0 if share > 0.5 else -1.0 for share in training_share])
    return ((after.float() - before.float()) * sign).mean(1)


def proxy_baseline(truth: torch.Tensor, column: int, names: Sequence[str]) -> tuple[str, torch.Tensor]:
    """The trivial rival of a classifier for attribute `column` of truth (N, A) bool: the best rule "has it iff it has
    (or lacks) another attribute", read from the human labels (for a moustache: "is a man"). Returns (the rule in
    words, its predictions (N,) bool), chosen by balanced accuracy."""
    target = truth[:, column]
    rules = [(f"{'' if keep else 'not '}{names[j]}", truth[:, j] if keep else ~truth[:, j])
             for j in range(truth.shape[1]) if j != column for keep in (True, False)]
    return max(rules, key=lambda rule: _balanced(rule[1], target))


def _balanced(predicted: torch.Tensor, truth: torch.Tensor) -> float:
    return 0.5 * ((predicted & truth).sum().item() / max(1, truth.sum().item())
                  + (~predicted & ~truth).sum().item() / max(1, (~truth).sum().item()))


def balanced_accuracy_margin(predicted: torch.Tensor, rival: torch.Tensor, truth: torch.Tensor) -> dict[str, float]:
    """Balanced accuracy of `predicted` minus that of `rival` (all (N,) bool against truth), with the standard error of
    that difference (each face's correct-minus-rival weighted ½/positives or ½/negatives; the two classes' variances
    add): {"difference", "stderr", "pairs"}."""
    gap = predicted.eq(truth).float() - rival.eq(truth).float()
    parts = [gap[truth], gap[~truth]]
    difference = 0.5 * sum(p.mean().item() for p in parts)
    stderr = 0.5 * math.sqrt(sum(p.var().item() / len(p) for p in parts if len(p) > 1))
    return {"difference": difference, "stderr": stderr, "pairs": len(gap)}
