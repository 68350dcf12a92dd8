import json

import pytest

from vae_utils import claims, run


@pytest.mark.parametrize("difference, stderr, verdict", [
    (0.2, 0.7, "no measurable difference"), (-1.3, 0.7, "no measurable difference"), (1.4, 0.7, "reproduced"),
    (-1.5, 0.7, "refuted"), (0.0, 0.0, "no measurable difference"), (0.1, 0.0, "reproduced")])
def test_verdict_rule(difference, stderr, verdict):
    assert claims.verdict_for(difference, stderr) == verdict


def test_make_claim_decides_by_the_rule_and_rejects_contradictions():
    entry = claims.make_claim("S1-pool", "S1", "pooling is worse", {"difference": 0.2, "stderr": 0.7}, "failure cases")
    assert entry["verdict"] == "no measurable difference"
    with pytest.raises(ValueError, match="contradicts its numbers"):
        claims.make_claim("S1-pool", "S1", "pooling is worse", {"difference": 0.2, "stderr": 0.7}, "x", verdict="refuted")
    with pytest.raises(ValueError, match="not one of"):
        claims.make_claim("x", "S9", "c", {"a": 1}, "s", verdict="sort of")
    with pytest.raises(ValueError, match="needs its reason"):
        claims.make_claim("x", "S2", "c", {"a": 1}, "s", verdict="not testable here")
    assert claims.make_claim("x", "S2", "c", {"a": 1}, "s", verdict="not testable here (no labels)")


def test_ledger_groups_by_report(tmp_path):
    (tmp_path / "results").mkdir()
    entry = claims.make_claim("S4-v2", "S4", "v2 is sharper", {"difference": 0.5, "stderr": 0.1}, "Experiment 2")
    (tmp_path / "results" / "01_x.json").write_text(json.dumps({"notebook": "01_x", "results": {"claims": [entry]}}))
    table = claims.ledger_markdown(claims.load_claims(tmp_path))
    assert "**S4 — VAE Experiments" in table and "| v2 is sharper | **reproduced** | difference 0.5; stderr 0.1 |" in table
    assert "S1 —" not in table


def test_every_recorded_claim_has_a_verdict_numbers_and_no_contradiction():
    recorded = claims.load_claims(run.REPO_ROOT)
    for entry in recorded:
        assert not claims.claim_problems(entry), (entry["notebook"], entry["id"], claims.claim_problems(entry))
    assert len({(c["notebook"], c["id"]) for c in recorded}) == len(recorded), "claim ids repeat within a notebook"


def test_difference_of_estimates_adds_errors_in_quadrature():
    gap = claims.difference_of_estimates({"mean": -92.0, "stderr": 0.3}, {"mean": -92.4, "stderr": 0.4})
    assert gap["difference"] == pytest.approx(0.4) and gap["stderr"] == pytest.approx(0.5)
