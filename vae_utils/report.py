"""The browsable site: the committed, executed notebooks as a Sphinx book (MyST-NB + sphinx-book-theme, the engine
under Jupyter Book 1), never re-executed.

`python -m vae_utils.report [-o build/site]` stages the sources into `build/site-src/` (the README as the landing page,
each notebook with its `hide-input` inputs and papermill's injected-parameters cell removed and its explorers as
stills, every `docs/*.md` page, a claims page generated from `results/`) and runs Sphinx on them with the
configuration in `vae_utils/site/conf.py`. The site has a left navigation in reading order, previous/next links,
full-text search, formulas typeset by a local MathJax and a download button per notebook; nothing is loaded from the
network, so it works from a local server (and from file://).
"""
from __future__ import annotations

import argparse
import html
import io
import json
import os
import posixpath
import re
import shutil
import sys
import time
import tomllib
from pathlib import Path

from vae_utils.claims import claims_long_markdown, load_claims

REPO = Path(__file__).resolve().parents[1]
CONF_DIR = Path(__file__).resolve().parent / "site"
SITE_MARK = '<meta name="generator" content="vae_utils.report">'  # the index.html of sites built before Sphinx
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp")
EXPLORER_NOTE = ("An interactive explorer: in JupyterLab (<code>make lab</code>) its sliders redraw the image live; "
                 "this static page shows where it started.")


def _widget_still(model_id: str, state: dict) -> str:
    """HTML for a saved widget view: its images (from the saved widget state) and slider positions, as a still. Only a
    view with controls a reader would move (sliders, menus, text fields) gets the explorer note; a progress bar (tqdm's
    notebook bar, say) is shown as the finished bar and its text."""
    images, controls, seen, interactive = [], [], set(), False

    def walk(mid: str) -> None:
        nonlocal interactive
        model = state.get(mid)
        if model is None or mid in seen:
            return
        seen.add(mid)
        name, values = model["model_name"], model.get("state", {})
        if name == "ImageModel":
            for buffer in model.get("buffers", []):
                if buffer.get("path") == ["value"] and buffer.get("encoding", "base64") == "base64":
                    images.append(f'<img alt="explorer image" src="data:image/{values.get("format", "png")};base64,'
                                  f'{buffer["data"]}">')
        elif name in ("HTMLModel", "LabelModel") and values.get("value"):
            controls.append(str(values["value"]) if name == "HTMLModel" else html.escape(str(values["value"])))
        elif "Progress" in name:
            controls.append(f'<progress value="{values.get("value", 0)}" max="{values.get("max", 100)}"></progress>')
        elif "Slider" in name or name in ("DropdownModel", "IntTextModel", "FloatTextModel", "ToggleButtonsModel",
                                          "RadioButtonsModel", "CheckboxModel", "TextModel"):
            interactive = True
            labels, index = values.get("_options_labels"), values.get("index")
            if labels and isinstance(index, int) and 0 <= index < len(labels):  # a menu or selection slider
                value = labels[index]
            else:
                value = values.get("value")
            shown = f"{value:.2f}" if isinstance(value, float) else html.escape(str(value))
            if "Slider" in name and labels:
                span = f" (slider over {html.escape(', '.join(map(str, labels)))})"
            elif "Slider" in name and "min" in values and "max" in values:
                low, high = values["min"], values["max"]
                if name == "FloatLogSliderModel":  # its min and max are exponents of its base
                    low, high = values.get("base", 10) ** low, values.get("base", 10) ** high
                span = f" (slider from {low:g} to {high:g})"
            elif labels:
                span = f" (menu: {html.escape(', '.join(map(str, labels)))})"
            else:
                span = ""
            controls.append(f'{html.escape(str(values.get("description", "")))} = {shown}{span}')
        for child in values.get("children", []):
            walk(str(child).removeprefix("IPY_MODEL_"))

    walk(model_id)
    still = "".join(images) + "".join(f"<div>{c}</div>" for c in controls)
    note = f"<p><em>{EXPLORER_NOTE}</em></p>" if interactive else ""
    return f'<div class="vae-widget-still">{still}{note}</div>'


def site_notebook(notebook: dict) -> dict:
    """The copy of an executed notebook (its JSON) that the site shows: the inputs of cells tagged `hide-input`
    removed (MyST-NB's `remove-input`), papermill's injected-parameters cell removed (it only holds the paths of the
    machine that ran it), each ipywidgets view replaced by its still (the live widget needs a kernel, and its JS a
    CDN), and the saved widget state dropped."""
    notebook = json.loads(json.dumps(notebook))
    state = notebook.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for cell in notebook["cells"]:
        tags = cell.setdefault("metadata", {}).get("tags", [])
        if "hide-input" in tags:
            tags = [t for t in tags if t != "hide-input"] + ["remove-input"]
        if "injected-parameters" in tags:
            tags = tags + ["remove-cell"]
        if tags:
            cell["metadata"]["tags"] = tags
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view is not None:
                output["data"] = {"text/html": _widget_still(view["model_id"], state)}
    notebook.get("metadata", {}).pop("widgets", None)
    return notebook


def title_and_question(notebook: dict) -> tuple[str, str]:
    """A notebook's title (its first Markdown heading) and question (the first paragraph after it), as Markdown."""
    for cell in notebook["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        lines = source.strip().splitlines()
        heading = next((i for i, line in enumerate(lines) if line.startswith("#")), None)
        if heading is None:
            continue
        paragraphs = "\n".join(lines[heading + 1:]).strip().split("\n\n")
        return lines[heading].lstrip("#").strip(), paragraphs[0].strip() if paragraphs else ""
    return "", ""


_LINK = re.compile(r"(!?\[[^\]\n]*\]\()([^)\s]+)(\))")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def site_links(text: str, page: str, repo_root: Path, pages: set[str], staging: Path | None = None) -> str:
    """A Markdown page of the repository (`page`, e.g. "README.md" or "docs/running.md") with its relative links made
    to work on the site: a link to README.md goes to the landing page, links to notebooks, docs pages and images stay
    (the staging keeps the repository's layout), a link to another file of the repository becomes a download of it
    (MyST's `path:` to a copy in staging/_repo/), and one to a folder becomes plain text. Links in code blocks and broken links are left alone
    (a broken link is a warning of the build)."""
    here = posixpath.dirname(page)

    def fix(match: re.Match) -> str:
        opening, target, closing = match.groups()
        if _SCHEME.match(target) or target.startswith(("#", "/")):
            return match.group(0)
        path, hash_, fragment = target.partition("#")
        resolved = posixpath.normpath(posixpath.join(here, path))
        if resolved == "README.md":
            return f"{opening}{posixpath.relpath('index.md', here or '.')}{hash_}{fragment}{closing}"
        if resolved in pages or resolved.lower().endswith(IMAGE_SUFFIXES):
            return match.group(0)
        if (repo_root / resolved).is_file():
            if staging is not None:  # a copy of the file, outside what Sphinx reads as pages (conf.py excludes _repo)
                (staging / "_repo" / resolved).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(repo_root / resolved, staging / "_repo" / resolved)
            return f"{opening}path:{posixpath.relpath('_repo/' + resolved, here or '.')}{closing}"
        if (repo_root / resolved).is_dir() and not opening.startswith("!"):
            return opening[1:-2]
        return match.group(0)

    parts = re.split(r"(^```.*?^```[ \t]*$)", text, flags=re.M | re.S)
    return "".join(part if part.startswith("```") else _LINK.sub(fix, part) for part in parts)


def claims_page(repo_root: Path, notebooks: list[Path]) -> str:
    """The long-form claims ledger, one section per notebook: every claim with its protocol, deciding number, verdict,
    reason and supporting numbers, each under a target `claim-<id>` (vae_utils.claims.claims_long_markdown)."""
    claims = load_claims(repo_root)
    lines = ["# The claims ledger", "",
             "Every claim of the reports that a notebook tests, in the report's words, with the protocol, the one "
             "number that decides it (with its 95 % interval) and the verdict. The interval above zero is "
             "*reproduced*, below zero *refuted*, across zero *no measurable difference*; *mixed* and *not tested as "
             "stated* carry their reason. Generated from `results/*.json` when the site is built.", ""]
    if not any("decision" in c for c in claims):
        return "\n".join(lines + [claims_long_markdown(claims), ""])
    titles = {p.stem: title_and_question(json.loads(p.read_text(encoding="utf-8")))[0] for p in notebooks}
    for name in dict.fromkeys(c["notebook"] for c in claims):
        group = [c for c in claims if c["notebook"] == name and "decision" in c]
        if not group:
            continue
        link = f"[{titles.get(name) or name}](notebooks/{name}.ipynb)" if name in titles else name
        lines += [f"## {link}", ""]
        for claim in group:
            lines += [f"(claim-{claim['id']})=", claims_long_markdown([claim]), ""]
    return "\n".join(lines)


def index_page(notebooks: list[Path], docs: list[str]) -> str:
    """The landing page: the README (staged as _front_page.md) and the navigation, in reading order."""
    toctree = lambda caption, entries, *options: "\n".join(
        ["```{toctree}", f":caption: {caption}", ":hidden:", *options, "", *entries, "```", ""])
    parts = ["```{include} _front_page.md", "```", "",
             toctree("Notebooks", [f"notebooks/{p.stem}" for p in notebooks]),
             toctree("Claims", ["claims"])]
    if docs:
        parts.append(toctree("Guides", [f"docs/{Path(name).stem}" for name in docs]))
    return "\n".join(parts)


def write_if_changed(path: Path, text: str) -> None:
    """Write `text` to `path` unless it already holds it (Sphinx rebuilds a page whose source's time changed)."""
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def stage(repo_root: Path, staging: Path, notebooks: list[Path]) -> list[str]:
    """Lay out the site's sources in `staging`, in the repository's own layout (so that the README's and the docs
    pages' relative links hold): index.md, _front_page.md (the README), claims.md, notebooks/, docs/, figures/ (a link
    to the repository's). Returns the docs pages staged."""
    docs = sorted(p.name for p in (repo_root / "docs").glob("*.md")) if (repo_root / "docs").is_dir() else []
    pages = {f"notebooks/{p.name}" for p in notebooks} | {f"docs/{d}" for d in docs} | {"claims.md"}
    readme = repo_root / "README.md"
    front = readme.read_text(encoding="utf-8") if readme.is_file() else "# VAE Notebooks\n"
    # the navigation lists the docs pages in the order the README links them, then any others by name
    linked = lambda name: front.find(f"(docs/{name})") if f"(docs/{name})" in front else len(front)
    docs.sort(key=lambda name: (linked(name), name))
    write_if_changed(staging / "_front_page.md", site_links(front, "README.md", repo_root, pages, staging))
    write_if_changed(staging / "index.md", index_page(notebooks, docs))
    write_if_changed(staging / "claims.md", claims_page(repo_root, notebooks))
    for name in docs:
        text = (repo_root / "docs" / name).read_text(encoding="utf-8")
        write_if_changed(staging / "docs" / name, site_links(text, f"docs/{name}", repo_root, pages, staging))
    for path in notebooks:
        notebook = site_notebook(json.loads(path.read_text(encoding="utf-8")))
        write_if_changed(staging / "notebooks" / path.name, json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
    # what the repository no longer has leaves the site too
    for folder, keep in (("docs", set(docs)), ("notebooks", {p.name for p in notebooks})):
        for stale in (staging / folder).glob("*") if (staging / folder).is_dir() else []:
            if stale.is_file() and stale.name not in keep:
                stale.unlink()
    figures = staging / "figures"
    if figures.is_symlink() or figures.is_file():
        figures.unlink()
    elif figures.is_dir():
        shutil.rmtree(figures)
    if (repo_root / "figures").is_dir():
        figures.symlink_to((repo_root / "figures").resolve(), target_is_directory=True)
    return docs


class NoNotebooksError(FileNotFoundError):
    """The repository given has no notebooks to build a site from."""


class NotASiteError(FileExistsError):
    """The output folder holds files of its own, not a site this module built: writing there would overwrite them."""


class SiteBuildError(RuntimeError):
    """Sphinx reported warnings (with warnings as errors) or failed."""


def is_site_or_empty(folder: Path) -> bool:
    """Whether `folder` is missing, empty, or a site built before (Sphinx's .buildinfo, or the old index's mark)."""
    if not folder.is_dir() or not any(folder.iterdir()):
        return True
    if (folder / ".buildinfo").is_file():
        return True
    index = folder / "index.html"
    return index.is_file() and SITE_MARK in index.read_text(encoding="utf-8", errors="replace")[:4096]


def repository_url(repo_root: Path) -> str:
    """The repository's web address for the source links: $VAE_SITE_REPOSITORY_URL, else pyproject's
    [project.urls] Repository (or Source), else "" (no source links)."""
    if os.environ.get("VAE_SITE_REPOSITORY_URL"):
        return os.environ["VAE_SITE_REPOSITORY_URL"]
    try:
        urls = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"].get("urls", {})
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return ""
    return urls.get("Repository") or urls.get("Source") or ""


def sphinx_build(staging: Path, output: Path, strict: bool, repo_url: str = "") -> list[str]:
    """Run Sphinx's HTML builder on `staging` into `output` (doctrees in staging/.doctrees, kept for incremental
    rebuilds); returns the warnings. With `strict`, any warning raises SiteBuildError."""
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace, patch_docutils

    status, warnings = io.StringIO(), io.StringIO()
    previous = os.environ.get("VAE_SITE_REPOSITORY_URL")
    os.environ["VAE_SITE_REPOSITORY_URL"] = repo_url
    try:
        with patch_docutils(CONF_DIR), docutils_namespace():
            app = Sphinx(str(staging), str(CONF_DIR), str(output), str(staging / ".doctrees"), "html",
                         status=status, warning=warnings, warningiserror=False, verbosity=0)
            app.build()
    finally:
        if previous is None:
            os.environ.pop("VAE_SITE_REPOSITORY_URL", None)
        else:
            os.environ["VAE_SITE_REPOSITORY_URL"] = previous
    found = [line for line in warnings.getvalue().splitlines() if line.strip()]
    if app.statuscode or (strict and found):
        raise SiteBuildError("the site build reported:\n" + "\n".join(found or [status.getvalue()[-2000:]]))
    return found


def build_site(repo_root: str | Path = REPO, output: str | Path | None = None, force: bool = False,
               strict: bool = False) -> Path:
    """Build the site of `repo_root` into `output` (default `<repo_root>/build/site`); returns its index.html. The
    sources are staged in `<repo_root>/build/site-src/`. A given `output` that holds other files than a previous site
    raises NotASiteError, unless force. With `strict`, a warning of the build raises SiteBuildError."""
    repo_root = Path(repo_root).resolve()
    notebooks = sorted((repo_root / "notebooks").glob("[0-9][0-9]*_*.ipynb"))
    if not notebooks:
        raise NoNotebooksError(f"no notebooks found as {repo_root / 'notebooks' / 'NN_*.ipynb'}; --repo names the "
                               "repository that holds notebooks/, results/ and figures/")
    if output is not None and not force and not is_site_or_empty(Path(output)):
        others = sorted(p.name for p in Path(output).iterdir())
        raise NotASiteError(f"{output} already holds files that are not a site built by vae_utils.report "
                            f"({', '.join(others[:3])}{', ...' if len(others) > 3 else ''}); writing there would "
                            "replace its index.html. Choose a new or empty folder, or pass --force.")
    output = (Path(output) if output is not None else repo_root / "build" / "site").resolve()
    if output.exists() and not output.is_dir():
        raise FileExistsError(17, "it is a file, not a folder", str(output))
    staging = repo_root / "build" / "site-src"
    staging.mkdir(parents=True, exist_ok=True)
    stage(repo_root, staging, notebooks)
    for line in sphinx_build(staging, output, strict, repository_url(repo_root)):
        print(line, file=sys.stderr)
    # The download button serves _sources/: the committed notebook itself, not the staged copy, and on the landing
    # page the README (the staged index.md is only an include directive and the navigation).
    for path in notebooks:
        target = output / "_sources" / "notebooks" / path.name
        if target.parent.is_dir():
            shutil.copyfile(path, target)
    if (repo_root / "README.md").is_file() and (output / "_sources" / "index.md").is_file():
        shutil.copyfile(repo_root / "README.md", output / "_sources" / "index.md")
    return output / "index.html"


def main(argv: list[str] | None = None) -> int:
    """The command line: build the site and print where to open it."""
    parser = argparse.ArgumentParser(prog="python -m vae_utils.report", description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=None,
                        help="folder to write the site into (default: build/site under the repository)")
    parser.add_argument("--repo", type=Path, default=REPO, help="repository with notebooks/, results/, figures/")
    parser.add_argument("--force", action="store_true",
                        help="write into an -o folder that holds other files than a previous site")
    parser.add_argument("--strict", action="store_true", help="treat the build's warnings as errors (exit 1)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    where = args.output or Path(args.repo) / "build" / "site"
    try:
        index = build_site(args.repo, args.output, args.force, args.strict)
    except (NotASiteError, NoNotebooksError, SiteBuildError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        cause = "it is a file, not a folder" if isinstance(error, FileExistsError) else error.strerror or str(error)
        print(f"error: cannot write the site into {where}: {cause}" + (f" ({error.filename})" if error.filename else ""),
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\nInterrupted: the site in {where} is incomplete; run the same command again (it rebuilds only what "
              "is missing or changed).", file=sys.stderr)
        return 130
    print(f"site written in {time.perf_counter() - start:.1f} s: open {index.resolve().as_uri()} "
          f"(or serve it: python -m http.server -d {index.parent})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
