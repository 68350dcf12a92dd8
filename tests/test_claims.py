import json
import math
import re

import pytest

from vae_utils import claims, run
from vae_utils.config import CLAIM_LABELS


@pytest.mark.parametrize("n, factor", [(3, 4.303), (5, 2.776), (2, 12.706), (1000, 1.962)])
def test_t_factor_is_the_student_t_quantile(n, factor):
    assert claims.t_factor(n) == pytest.approx(factor, abs=1e-3)


def test_decision_over_seeds_hand_worked():
    # differences 1, 2, 3: mean 2, sample std 1, s.e. 1/sqrt(3) = 0.5774, half-width 4.303 * 0.5774 = 2.484
    d = claims.decision_over_seeds([1.0, 2.0, 3.0], "nats")
    assert d["estimate"] == pytest.approx(2.0) and d["stderr"] == pytest.approx(1 / math.sqrt(3))
    assert (d["low"], d["high"]) == pytest.approx((2 - 2.4842, 2 + 2.4842), abs=1e-4)
    assert d["n"] == 3 and d["over"] == "seeds" and claims.rule_verdict(d) == "no measurable difference"
    # the same spread at 2 s.e. (the old rule) would have counted: 2 > 2 * 0.577
    assert d["estimate"] > 2 * d["stderr"]


@pytest.mark.parametrize("low, high, verdict", [(0.1, 0.5, "reproduced"), (-0.5, -0.1, "refuted"),
                                                (-0.1, 0.5, "no measurable difference"), (0.0, 0.5, "no measurable difference")])
def test_rule_verdict_reads_the_interval(low, high, verdict):
    assert claims.rule_verdict({"low": low, "high": high}) == verdict


def test_one_value_is_refused_with_what_to_do():
    with pytest.raises(ValueError, match="add seeds"):
        claims.decision_over_seeds([0.3], "nats")
    with pytest.raises(ValueError, match="seed_spread"):
        claims.decision_over_images([0.1, 0.2, 0.3], "nats", seed_spread="")


def test_claim_entry_decides_by_the_rule_and_rejects_contradictions():
    decision = claims.decision_over_seeds([0.04, 0.042, 0.045], "Laplacian ratio")
    entry = claims.claim_entry("S4-x", "S4", "pooling loses resolution", "3 paired seeds", decision, "§2")
    assert entry["verdict"] == "reproduced" and "why" not in entry
    with pytest.raises(ValueError, match="contradicts its interval"):
        claims.claim_entry("S4-x", "S4", "c", "p", decision, "§2", verdict="refuted")
    with pytest.raises(ValueError, match="needs its reason"):
        claims.claim_entry("S4-x", "S4", "c", "p", decision, "§2", verdict="mixed")
    assert claims.claim_entry("S4-x", "S4", "c", "p", decision, "§2", verdict="mixed", why="the two measures disagree")
    with pytest.raises(ValueError, match="not one of"):
        claims.claim_entry("S4-x", "S4", "c", "p", decision, "§2", verdict="sort of", why="x")
    with pytest.raises(ValueError, match="characters"):
        claims.claim_entry("S4-x", "S4", "c" * 200, "p", decision, "§2")


def test_an_interval_that_is_not_the_rules_is_caught():
    decision = claims.decision_over_seeds([0.04, 0.042, 0.045], "ratio")
    narrowed = {**decision, "low": decision["estimate"] - 2 * decision["stderr"], "high": decision["estimate"] + 2 * decision["stderr"]}
    assert any("t(2 d.f.)" in p for p in claims.claim_problems(
        {"id": "x", "report": "S4", "claim": "c", "protocol": "p", "decision": narrowed, "verdict": "reproduced", "section": "s"}))


@pytest.mark.parametrize("decision, text", [
    ({"estimate": 0.04213, "low": 0.0351, "high": 0.0492, "n": 3, "unit": "ratio", "over": "seeds"},
     "+0.042 [+0.035, +0.049] ratio (3 seeds)"),
    ({"estimate": -0.52, "low": -1.61, "high": 0.57, "n": 3, "unit": "nats", "over": "seeds"}, "−0.5 [−1.6, +0.6] nats (3 seeds)"),
    ({"estimate": 12.0, "low": 3.0, "high": 21.0, "n": 1000, "unit": "ΔE", "over": "images"}, "+12 [+3, +21] ΔE (1,000 images)"),
])
def test_format_decision_shows_the_digits_the_interval_supports(decision, text):
    assert claims.format_decision(decision) == text


def test_ledger_rows_are_short(tmp_path):
    (tmp_path / "results").mkdir()
    decision = claims.decision_over_seeds([0.04, 0.042, 0.045], "Laplacian ratio")
    entry = claims.claim_entry("S4-v2", "S4", "v2 is sharper", "3 seeds", decision, "2", support={"long": list(range(50))})
    (tmp_path / "results" / "01_x.json").write_text(json.dumps({"notebook": "01_x", "results": {"claims": [entry]}}))
    table = claims.ledger_markdown(claims.load_claims(tmp_path))
    row = table.splitlines()[2]
    assert row.startswith("| S4: v2 is sharper | **reproduced** | +0.04") and "(3 seeds)" in row and "long" not in row
    assert "long" in claims.claims_long_markdown(claims.load_claims(tmp_path))
    # the README's form: a short reference per row, its target once after the table
    short = claims.ledger_markdown(claims.load_claims(tmp_path) * 2, reference=True).splitlines()
    assert short[2].endswith("| [01 § 2][nb01] |") and short[-1] == "[nb01]: notebooks/01_x.ipynb" and short.count(short[-1]) == 1


def test_every_recorded_claim_follows_its_rule():
    recorded = claims.load_claims(run.REPO_ROOT)
    for entry in recorded:
        assert "decision" in entry, (entry["notebook"], entry["id"], "every claim records a deciding number")
        assert not claims.claim_problems(entry), (entry["notebook"], entry["id"], claims.claim_problems(entry))
    assert len({(c["notebook"], c["id"]) for c in recorded}) == len(recorded), "claim ids repeat within a notebook"


def test_every_ledger_cell_is_short():
    for claim in claims.load_claims(run.REPO_ROOT):
        for cell in claims.ledger_row(claim):
            assert len(cell) <= 160, (claim["notebook"], claim["id"], cell)




def test_the_readme_names_every_recorded_claim_by_a_short_label():
    recorded = {c["id"] for c in claims.load_claims(run.REPO_ROOT)}
    assert recorded == set(CLAIM_LABELS), (f"claims without a label: {sorted(recorded - set(CLAIM_LABELS))}; "
                                           f"stale labels: {sorted(set(CLAIM_LABELS) - recorded)}")
    assert all(len(label) <= 50 for label in CLAIM_LABELS.values())
    entry = {"id": "S9-x", "report": "S9", "claim": "a long quote", "verdict": "refuted", "section": "2", "notebook": "01_x",
             "decision": {"estimate": -1.0, "low": -2.0, "high": -0.5, "n": 3, "unit": "nats", "over": "seeds"}}
    assert claims.ledger_row(entry, labels={"S9-x": "short"})[0] == "S9: short"
    with pytest.raises(KeyError, match="CLAIM_LABELS"):
        claims.ledger_row(entry, labels={})
    # the committed README carries the labelled ledger that the runner writes
    readme = (run.REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert claims.ledger_markdown(claims.load_claims(run.REPO_ROOT), reference=True, labels=CLAIM_LABELS, targets=False) in readme


def test_every_short_reference_in_the_readme_has_one_target_that_exists():
    readme = (run.REPO_ROOT / "README.md").read_text(encoding="utf-8")
    used = set(re.findall(r"\]\[(nb\w+)\]", readme))
    targets = re.findall(r"^\[(nb\w+)\]: (\S+)$", readme, flags=re.M)
    names = [name for name, _ in targets]
    assert used and used <= set(names), f"references without a target: {sorted(used - set(names))}"
    assert len(names) == len(set(names)), "a target is defined twice"
    for name, path in targets:
        assert (run.REPO_ROOT / path).is_file(), (name, path)
