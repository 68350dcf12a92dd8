"""The claims ledger: each seed report's claims that a notebook tests, each with one deciding number and a verdict.

A notebook lists its claims under `claims` in `results/<notebook>.json`, one entry each (see `claim_entry`):

    {"id": "S4-pooling", "report": "S4", "claim": "max pooling and upsampling is causing the loss in resolution",
     "protocol": "what was compared with what: data, seeds or images, loss, budget",
     "decision": {"estimate": 0.042, "low": 0.035, "high": 0.049, "n": 3, "unit": "Laplacian ratio",
                  "over": "seeds", "stderr": 0.0016},
     "verdict": "reproduced", "why": "...", "section": "...", "support": {...}}

The deciding number is signed so that a positive estimate is what the report claims. Its interval is the Student-t
95 % interval on n − 1 degrees of freedom: over training seeds (paired where the seeds pair up), or over test
images where one model is measured, in which case `seed_spread` says whether the seed-to-seed spread was measured.

The rule (`rule_verdict`): the interval above zero is "reproduced", below zero "refuted", across zero "no measurable
difference". Two more verdicts are judgements that name their reason in `why`: "mixed" (the claim has parts, or two
honest measures, that go different ways: name them) and "not tested as stated" (our conditions differ from the
report's in a way that decides the outcome: say which). Supporting numbers go under `support`, which the short
ledger does not print.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Sequence

from scipy import stats as scipy_stats

RULE_VERDICTS = ("reproduced", "refuted", "no measurable difference")
JUDGED_VERDICTS = ("mixed", "not tested as stated")  # need `why`
VERDICTS = RULE_VERDICTS + JUDGED_VERDICTS
REPORTS = {"S0": "Image construction experiment", "S1": "Generate Digit Images using VAE",
           "S2": "Variational Autoencoder (wiki)", "S3": "Image reconstruction (CelebA)",
           "S4": "VAE Experiments for Reducing Blury Decoder Output",
           "R21": "Rybkin, Daniilidis & Levine 2021, Simple and Effective VAE Training with Calibrated Decoders (the σ-VAE)"}
FIELDS = ("id", "report", "claim", "protocol", "decision", "verdict", "section")
DECISION_FIELDS = ("estimate", "low", "high", "n", "unit", "over")
MAX_CLAIM_CHARACTERS = 120  # the ledger's claim cell; the full wording goes in `protocol` or `support`



def t_factor(n: int, level: float = 0.95) -> float:
    """The two-sided Student-t quantile on n − 1 degrees of freedom (4.30 at n = 3, 2.78 at n = 5)."""
    if n < 2:
        raise ValueError(f"an interval needs at least 2 values (seeds or images), got n = {n}")
    return float(scipy_stats.t.ppf(0.5 + level / 2, n - 1))


def interval(estimate: float, stderr: float, n: int, unit: str, over: str, **extra) -> dict:
    """A decision {estimate, low, high, n, unit, over, stderr}: estimate ± t(n−1) · stderr."""
    if not (math.isfinite(estimate) and math.isfinite(stderr)) or stderr < 0:
        raise ValueError(f"the estimate and its standard error must be finite (stderr >= 0), got {estimate}, {stderr}")
    half = t_factor(n) * stderr
    return {"estimate": estimate, "low": estimate - half, "high": estimate + half, "n": int(n), "unit": unit,
            "over": over, "stderr": stderr, **extra}


def _mean_and_stderr(values: Sequence[float]) -> tuple[float, float, int]:
    values = [float(v) for v in values]
    n = len(values)
    if n < 2:
        raise ValueError(f"an interval needs at least 2 values, got {n}: add seeds (or images) rather than loosen the rule")
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return mean, std / math.sqrt(n), n


def decision_over_seeds(differences: Sequence[float], unit: str) -> dict:
    """The deciding number from per-seed differences (claimed − other, seed k against seed k; or one value per seed
    where the claim is about one model): their mean with the Student-t 95 % interval on n − 1 degrees of freedom."""
    mean, stderr, n = _mean_and_stderr(differences)
    return interval(mean, stderr, n, unit, "seeds")


def decision_over_images(differences: Sequence[float], unit: str, seed_spread: str) -> dict:
    """The deciding number from per-image differences of one trained model (or one pair): the mean over images
    with its t interval. `seed_spread` says whether the seed-to-seed spread was measured and how large it is."""
    if not seed_spread:
        raise ValueError("say whether the seed-to-seed spread was measured (seed_spread), e.g. 'not measured: one seed'")
    mean, stderr, n = _mean_and_stderr(differences)
    return interval(mean, stderr, n, unit, "images", seed_spread=seed_spread)


def rule_verdict(decision: dict) -> str:
    """The rule: the 95 % interval above zero is "reproduced", below zero "refuted", else "no measurable difference"."""
    low, high = float(decision["low"]), float(decision["high"])
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        raise ValueError(f"the interval must be finite with low <= high, got [{low}, {high}]")
    if low > 0:
        return "reproduced"
    if high < 0:
        return "refuted"
    return "no measurable difference"


def claim_entry(id: str, report: str, claim: str, protocol: str, decision: dict, section: str,
               verdict: str | None = None, why: str | None = None, support: dict | None = None) -> dict:
    """A ledger entry. Without `verdict` the rule decides from `decision`; "mixed" and "not tested as stated" need
    `why`, and a rule verdict given by hand must agree with the rule."""
    entry = {"id": id, "report": report, "claim": claim, "protocol": protocol, "decision": decision,
             "verdict": verdict or rule_verdict(decision), "section": section}
    if why:
        entry["why"] = why
    if support:
        entry["support"] = support
    problems = claim_problems(entry)
    if problems:
        raise ValueError(f"claim {id!r}: " + "; ".join(problems))
    return entry


def _decision_problems(decision: dict) -> list[str]:
    missing = [name for name in DECISION_FIELDS if name not in decision]
    if missing:
        return [f"decision lacks {', '.join(missing)}"]
    problems = []
    try:
        estimate, low, high, n = (float(decision[k]) for k in ("estimate", "low", "high", "n"))
    except (TypeError, ValueError) as error:
        return [f"decision numbers unusable: {error}"]
    if not all(math.isfinite(v) for v in (estimate, low, high)) or not low <= estimate <= high:
        problems.append(f"decision needs finite low <= estimate <= high, got {low}, {estimate}, {high}")
    if n < 2 or n != int(n):
        problems.append(f"decision n must be a whole number >= 2, got {decision['n']}")
    if decision["over"] not in ("seeds", "images"):
        problems.append(f"decision over must be 'seeds' or 'images', got {decision['over']!r}")
    if decision["over"] == "images" and not decision.get("seed_spread"):
        problems.append("a decision over images must say whether the seed-to-seed spread was measured (seed_spread)")
    if "stderr" in decision and not problems:
        expected = t_factor(int(n)) * float(decision["stderr"])
        if not (math.isclose(high - estimate, expected, rel_tol=1e-6, abs_tol=1e-12)
                and math.isclose(estimate - low, expected, rel_tol=1e-6, abs_tol=1e-12)):
            problems.append(f"interval [{low:.4g}, {high:.4g}] is not estimate ± t({int(n) - 1} d.f.)·stderr "
                            f"= ± {expected:.4g}")
    return problems


def claim_problems(entry: dict) -> list[str]:
    """What is wrong with a ledger entry (empty when nothing): missing fields, an unknown report or verdict, an
    interval that is not the rule's, a rule verdict its interval contradicts, or a judged verdict without its reason."""
    problems = [f"missing {name!r}" for name in FIELDS if not entry.get(name)]
    if entry.get("report") and entry["report"] not in REPORTS:
        problems.append(f"report {entry['report']!r} is not one of {', '.join(REPORTS)}")
    if len(entry.get("claim", "")) > MAX_CLAIM_CHARACTERS:
        problems.append(f"claim is {len(entry['claim'])} characters: the ledger cell takes {MAX_CLAIM_CHARACTERS}; "
                        "put the longer wording in the protocol")
    verdict = entry.get("verdict", "")
    if verdict and verdict not in VERDICTS:
        problems.append(f"verdict {verdict!r} is not one of: {', '.join(VERDICTS)}")
    decision = entry.get("decision")
    if isinstance(decision, dict):
        decision_problems = _decision_problems(decision)
        problems += decision_problems
        if not decision_problems and verdict in RULE_VERDICTS and verdict != rule_verdict(decision):
            problems.append(f"verdict {verdict!r} contradicts its interval [{decision['low']:.3g}, {decision['high']:.3g}]: "
                            f"the rule says {rule_verdict(decision)!r}")
    if verdict in JUDGED_VERDICTS and not entry.get("why"):
        problems.append(f"{verdict!r} needs its reason in 'why' (the parts that disagree, or the condition that differs)")
    return problems


def load_claims(artifacts_dir: str | Path = ".") -> list[dict]:
    """Every notebook's claims from `results/*.json`, each with its `notebook` added, in notebook order."""
    claims = []
    for path in sorted((Path(artifacts_dir) / "results").glob("[0-9][0-9]*_*.json")):
        payload = json.loads(path.read_text())
        claims += [{**entry, "notebook": payload["notebook"]} for entry in payload["results"].get("claims", [])]
    return claims


def _digits_for(half_width: float) -> int:
    """Decimals that the interval supports: its half-width to one significant digit, two when that digit is 1 or 2
    (the usual convention for uncertainties)."""
    if half_width <= 0 or not math.isfinite(half_width):
        return 3
    exponent = math.floor(math.log10(half_width))
    leading = half_width / 10 ** exponent
    return max(0, -exponent + (1 if leading < 3 else 0))


def format_decision(decision: dict) -> str:
    """"+0.042 [+0.035, +0.049] Laplacian ratio (3 seeds)": digits as many as the interval supports."""
    digits = _digits_for((float(decision["high"]) - float(decision["low"])) / 2)
    value = lambda v: f"{float(v):+.{digits}f}".replace("-", "−")
    what = {"seeds": "seeds", "images": "images"}.get(decision["over"], decision["over"])
    return (f"{value(decision['estimate'])} [{value(decision['low'])}, {value(decision['high'])}] {decision['unit']} "
            f"({decision['n']:,} {what})")


def ledger_row(claim: dict, link_prefix: str = "notebooks/", link_suffix: str = ".ipynb", reference: bool = False,
               labels: dict[str, str] | None = None) -> list[str]:
    """One short ledger row: claim | verdict | deciding number [95 % interval] (n) | notebook §. With `reference`, the
    notebook link is a Markdown reference ([01 § 2][nb01]) whose target `ledger_markdown` defines once; with
    `labels` (claim id → a few words, `config.CLAIM_LABELS`), the claim is named by its label instead of its quote
    and the verdict is not set in bold (the README's form: shorter)."""
    number = claim['notebook'].split('_')[0]
    where = (f"[{number} § {claim['section']}][nb{number}]" if reference else
             f"[{number}]({link_prefix}{claim['notebook']}{link_suffix}) § {claim['section']}")
    if labels is not None and claim["id"] not in labels:
        raise KeyError(f"claim {claim['id']!r} has no short label: add one to config.CLAIM_LABELS")
    said = labels[claim["id"]] if labels is not None else claim["claim"]
    return [f"{claim['report']}: {said}", claim["verdict"] if labels is not None else f"**{claim['verdict']}**",
            format_decision(claim["decision"]), where]


def ledger_markdown(claims: list[dict], link_prefix: str = "notebooks/", link_suffix: str = ".ipynb",
                    reference: bool = False, labels: dict[str, str] | None = None, targets: bool = True) -> str:
    """The short ledger as Markdown: one row per claim, in notebook order. With `reference`, each row links its
    notebook by a short reference and the link targets follow the table once each (unless `targets` is false: the
    README defines them once for all its tables, `results.notebook_links`); with `labels`, each claim is named in a
    few words (the README's form: shorter)."""
    if not claims:
        return "No claims recorded yet."
    lines = ["| claim | verdict | deciding number [95 % interval] (n) | notebook § |", "|---|---|---|---|"]
    lines += ["| " + " | ".join(ledger_row(c, link_prefix, link_suffix, reference, labels)) + " |" for c in claims]
    if reference and targets:
        notebooks = dict.fromkeys(c["notebook"] for c in claims)
        lines += [""] + [f"[nb{n.split('_')[0]}]: {link_prefix}{n}{link_suffix}" for n in notebooks]
    return "\n".join(lines)


def claims_long_markdown(claims: list[dict]) -> str:
    """The long form of the ledger (for the site's claims page): per claim its protocol, deciding number, reason and
    supporting numbers."""
    blocks = []
    for c in claims:
        if "decision" not in c:
            continue
        lines = [f"### {c['report']}: {c['claim']}", "", f"*{c['notebook']}, § {c['section']}* — **{c['verdict']}**", "",
                 f"- **Protocol:** {c['protocol']}", f"- **Deciding number:** {format_decision(c['decision'])}"]
        if c["decision"].get("seed_spread"):
            lines.append(f"- **Seed-to-seed spread:** {c['decision']['seed_spread']}")
        if c.get("why"):
            lines.append(f"- **Why this verdict:** {c['why']}")
        for key, value in (c.get("support") or {}).items():
            lines.append(f"- {key}: {value}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) or "No claims recorded under the current rule yet."
