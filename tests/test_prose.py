"""The prose test: every number and verdict word in a re-judged notebook's Markdown agrees with its results file."""
import re
import shutil

import nbformat
import pytest

from vae_utils import claims, prose, run

RESULTS = {"mnist": {"conv_z2": {"mse": 0.056789, "seconds": 1234.0}}, "gain": -0.0421, "share": 0.9603,
           "claims": [{"id": "S4-v2", "verdict": "no measurable difference"}]}


def test_lookup_enters_dicts_and_lists_by_id():
    assert prose.lookup(RESULTS, "mnist.conv_z2.mse") == 0.056789
    assert prose.lookup(RESULTS, "claims.S4-v2.verdict") == "no measurable difference"
    with pytest.raises(KeyError, match="no 'conv_z9'"):
        prose.lookup(RESULTS, "mnist.conv_z9.mse")


def test_check_finds_what_disagrees_and_accepts_what_agrees():
    good = ("MSE 0.0568<!--=mnist.conv_z2.mse:.4f-->, a change of −0.042<!--=gain:+.3f--> (or **−0.04**<!--=gain:.2f-->), "
            "96.0%<!--=share:.1%--> kept, 1,234<!--=mnist.conv_z2.seconds:,.0f--> s: **no measurable difference**<!--=claims.S4-v2.verdict-->.")
    assert prose.check_source(good, RESULTS) == []
    assert prose.check_source(good.replace("0.0568", "0.0567"), RESULTS) == [
        "mnist.conv_z2.mse: the prose says '0.0567', the results say '0.0568'"]
    assert "reproduced" in prose.check_source(good.replace("**no measurable difference**", "**reproduced**"), RESULTS)[0]
    assert "no number" in prose.check_source("the MSE<!--=gain:.2f-->", RESULTS)[0]
    assert "no 'nope'" in prose.check_source("1.0<!--=nope:.1f-->", RESULTS)[0]


def test_refresh_rewrites_each_marked_value():
    stale = "MSE 0.0600<!--=mnist.conv_z2.mse:.4f--> and **reproduced**<!--=claims.S4-v2.verdict--> (+1.000<!--=gain:+.3f-->)"
    assert prose.refresh_source(stale, RESULTS) == \
        "MSE 0.0568<!--=mnist.conv_z2.mse:.4f--> and **no measurable difference**<!--=claims.S4-v2.verdict--> (−0.042<!--=gain:+.3f-->)"


def rejudged_notebooks():
    return list(run.available_notebooks())


@pytest.mark.parametrize("name", rejudged_notebooks())
def test_committed_prose_agrees_with_committed_results(name):
    notebook = run.NOTEBOOK_DIR / f"{name}.ipynb"
    assert prose.check_notebook(notebook, run.REPO_ROOT / "results" / f"{name}.json") == []
    assert prose.template_cells(notebook) == [], "conclusions are Markdown, not f-string template cells"
    marked = sum(len(prose.MARKER.findall(cell.source)) for cell in nbformat.read(str(notebook), as_version=4).cells
                 if cell.cell_type == "markdown")
    assert marked >= 10, f"{name}: only {marked} numbers of its prose are tied to its results"


@pytest.mark.parametrize("name", rejudged_notebooks()[:1])
def test_a_number_changed_by_hand_fails_the_prose_test(name, tmp_path):
    copy = tmp_path / f"{name}.ipynb"
    shutil.copy(run.NOTEBOOK_DIR / f"{name}.ipynb", copy)
    notebook = nbformat.read(str(copy), as_version=4)
    cell = next(c for c in notebook.cells if c.cell_type == "markdown" and any(
        shown and shown[-1].isdigit() for _, _, shown, _, _ in prose.markers(c.source)))
    _, _, shown, start, end = next(m for m in prose.markers(cell.source) if m[2] and m[2][-1].isdigit())
    cell.source = cell.source[:start] + shown[:-1] + str((int(shown[-1]) + 1) % 10) + cell.source[end:]
    nbformat.write(notebook, str(copy))
    results = run.REPO_ROOT / "results" / f"{name}.json"
    assert len(prose.check_notebook(copy, results)) == 1
    prose.refresh_notebook(copy, results)
    assert prose.check_notebook(copy, results) == []


NEGATIVE_ZERO = re.compile(r"(?<![\w.])[-−]0\.0+(?![0-9])")


@pytest.mark.parametrize("name", run.available_notebooks())
def test_no_committed_notebook_prints_a_negative_zero(name):
    """A rounded estimate of a quantity that cannot be negative (I(x;z) = -0.0001) must not read "-0.000"."""
    notebook = nbformat.read(str(run.NOTEBOOK_DIR / f"{name}.ipynb"), as_version=4)
    for index, cell in enumerate(notebook.cells):
        texts = [cell.source] if cell.cell_type == "markdown" else [
            "".join(output.get("text", "")) + "".join(output.get("data", {}).get("text/markdown", "")) for output in cell.get("outputs", [])]
        for text in texts:
            assert not NEGATIVE_ZERO.search(text), f"{name} cell {index}: {NEGATIVE_ZERO.search(text).group()!r}"


@pytest.mark.parametrize("name", run.available_notebooks())
def test_each_notebook_has_the_shape_of_a_lesson(name):
    """Issue 20's shape: what you will learn at the top, exercises at the end, at most 25 code cells, display
    equations, and the record as one call at the end (the claims are worded in vae_utils/records/)."""
    import ast
    cells = nbformat.read(str(run.NOTEBOOK_DIR / f"{name}.ipynb"), as_version=4).cells
    markdown = "\n".join(c.source for c in cells if c.cell_type == "markdown")
    code = [c for c in cells if c.cell_type == "code" and "injected-parameters" not in c.metadata.get("tags", [])]
    assert "what you will learn" in markdown.lower() and "exercise" in markdown.lower()
    assert len(code) <= 25, f"{name}: {len(code)} code cells"
    assert "$$" in markdown, f"{name}: no display equation"
    last, = ast.parse(code[-1].source).body
    assert isinstance(last, ast.Expr) and isinstance(last.value, ast.Call) and last.value.func.attr == "record", \
        f"{name}: the last code cell should be the one record call, not {code[-1].source[:80]!r}"
    module = last.value.func.value.id
    assert (run.REPO_ROOT / "vae_utils" / "records" / f"{module}.py").is_file()


@pytest.mark.parametrize("name", run.available_notebooks())
def test_nbval_compares_some_output_of_every_notebook(name):
    """`make test` runs nbval with --nbval-lax: only cells marked NBVAL_CHECK_OUTPUT have their outputs compared, so a
    notebook without one would only be checked to run. Each marked cell must have an output to compare."""
    cells = nbformat.read(str(run.NOTEBOOK_DIR / f"{name}.ipynb"), as_version=4).cells
    marked = [c for c in cells if c.cell_type == "code" and c.source.lstrip().startswith("# NBVAL_CHECK_OUTPUT")]
    assert marked, f"{name}: no cell is marked # NBVAL_CHECK_OUTPUT"
    assert all(c.outputs for c in marked), f"{name}: a marked cell has no output to compare"
