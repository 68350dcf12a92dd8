"""The claims ledger: each seed report's claims that a notebook tests, with a verdict its numbers decide.

A notebook lists its claims under `claims` in `results/<notebook>.json`, one entry each:
    {"id": "S1-pooling", "report": "S1", "claim": "a pooling encoder is much worse", "verdict": "...",
     "numbers": {...}, "section": "..."}
Where a claim is a comparison, `numbers` holds `difference` (signed so that a positive value is what the report
claims) and `stderr` (its standard error), and the verdict follows the collection's rule, `verdict_for`.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

VERDICTS = ("reproduced", "refuted", "no measurable difference", "not testable here")
REPORTS = {"S0": "Image construction experiment", "S1": "Generate Digit Images using VAE",
           "S2": "Variational Autoencoder (wiki)", "S3": "Image reconstruction (CelebA)",
           "S4": "VAE Experiments for Reducing Blury Decoder Output"}
FIELDS = ("id", "report", "claim", "verdict", "numbers", "section")


def verdict_for(difference: float, stderr: float) -> str:
    """The rule: a difference (positive = as the report claims) under twice its standard error is "no measurable
    difference"; beyond it, "reproduced" in the claimed direction and "refuted" against it."""
    if not math.isfinite(difference) or not math.isfinite(stderr) or stderr < 0:
        raise ValueError(f"difference and stderr must be finite (stderr >= 0), got {difference}, {stderr}")
    if abs(difference) < 2 * stderr or difference == 0:
        return "no measurable difference"
    return "reproduced" if difference > 0 else "refuted"


def difference_of_estimates(claimed_larger: dict, other: dict) -> dict[str, float]:
    """{"difference", "stderr"} between two estimates {"mean", "stderr"}, treated as independent (conservative
    when both were measured on the same items, whose errors are positively correlated)."""
    return {"difference": claimed_larger["mean"] - other["mean"],
            "stderr": math.hypot(claimed_larger["stderr"], other["stderr"])}


def make_claim(id: str, report: str, claim: str, numbers: dict, section: str, verdict: str | None = None) -> dict:
    """A ledger entry. Without `verdict`, `numbers` must hold `difference` and `stderr` and the rule decides."""
    if verdict is None:
        verdict = verdict_for(numbers["difference"], numbers["stderr"])
    entry = {"id": id, "report": report, "claim": claim, "verdict": verdict, "numbers": numbers, "section": section}
    problems = claim_problems(entry)
    if problems:
        raise ValueError(f"claim {id!r}: " + "; ".join(problems))
    return entry


def claim_problems(entry: dict) -> list[str]:
    """What is wrong with a ledger entry (empty when nothing): missing fields, an unknown report or verdict, no
    numbers, or a verdict that contradicts its difference and standard error by the rule."""
    problems = [f"missing {name!r}" for name in FIELDS if not entry.get(name)]
    if entry.get("report") and entry["report"] not in REPORTS:
        problems.append(f"report {entry['report']!r} is not one of {', '.join(REPORTS)}")
    verdict = entry.get("verdict", "")
    if verdict and not any(verdict == v or (v == "not testable here" and verdict.startswith(v)) for v in VERDICTS):
        problems.append(f"verdict {verdict!r} is not one of: {', '.join(VERDICTS)}")
    numbers = entry.get("numbers") or {}
    if verdict.startswith("not testable here") and verdict == "not testable here":
        problems.append("'not testable here' needs its reason, e.g. 'not testable here (no labels)'")
    if "difference" in numbers or "stderr" in numbers:
        try:
            expected = verdict_for(float(numbers["difference"]), float(numbers["stderr"]))
        except (KeyError, TypeError, ValueError) as error:
            problems.append(f"difference/stderr unusable: {error}")
        else:
            if verdict != expected:
                problems.append(f"verdict {verdict!r} contradicts its numbers: difference {numbers['difference']:.3g} "
                                f"± {numbers['stderr']:.3g} means {expected!r}")
    return problems


def load_claims(artifacts_dir: str | Path = ".") -> list[dict]:
    """Every notebook's claims from `results/*.json`, each with its `notebook` added, in notebook order."""
    claims = []
    for path in sorted((Path(artifacts_dir) / "results").glob("[0-9][0-9]_*.json")):
        payload = json.loads(path.read_text())
        claims += [{**entry, "notebook": payload["notebook"]} for entry in payload["results"].get("claims", [])]
    return claims


def format_numbers(numbers: dict) -> str:
    """`numbers` in a few words: floats to 3 significant digits, nested dicts flattened with dots."""
    def flat(prefix: str, value) -> list[str]:
        if isinstance(value, dict):
            return [item for key, inner in value.items() for item in flat(f"{prefix}{key}.", inner)]
        shown = f"{value:.3g}" if isinstance(value, float) else str(value)
        return [f"{prefix.rstrip('.')} {shown}"]
    return "; ".join(item for key, value in numbers.items() for item in flat(f"{key}.", value))


def ledger_markdown(claims: list[dict], link_prefix: str = "notebooks/", link_suffix: str = ".ipynb") -> str:
    """The ledger as Markdown: one table per report (S0..S4), a row per claim with its verdict and numbers."""
    if not claims:
        return "No claims recorded yet."
    blocks = []
    for report, title in REPORTS.items():
        rows = [c for c in claims if c["report"] == report]
        if not rows:
            continue
        lines = [f"**{report} — {title}**", "", "| claim | verdict | measured | where |", "|---|---|---|---|"]
        for c in rows:
            where = f"[{c['notebook']}]({link_prefix}{c['notebook']}{link_suffix}), {c['section']}"
            lines.append(f"| {c['claim']} | **{c['verdict']}** | {format_numbers(c['numbers'])} | {where} |")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
