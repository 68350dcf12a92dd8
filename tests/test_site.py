"""The built site in headless Chromium, served from localhost: formulas are typeset by the local MathJax, every image
of every notebook page loads, the search finds notebook 04 for "posterior collapse", the navigation reaches all the
notebook pages from the landing page, and no request leaves localhost (every other one is aborted and recorded).
Screenshots go to build/test-artifacts/site/. Without Debian's chromium the tests are skipped, with the reason."""
from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import CHROMIUM
from vae_utils.report import build_site

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]*_*.ipynb"))
ARTIFACTS = REPO / "build" / "test-artifacts" / "site"
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed: the site's browser "
                                                          "tests not run (apt-get install chromium)")]
MATH_NOTEBOOK = "05_reconstruction_weighting"  # its Markdown carries display equations with \mathbb, \tfrac, ...


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def served_site(tmp_path_factory):
    """The checkout's site, built once (warnings as errors) and served on 127.0.0.1 from a thread."""
    site = build_site(REPO, tmp_path_factory.mktemp("browser-site") / "site", strict=True).parent
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A page whose requests to anything but localhost are aborted and recorded in page.left_localhost."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.left_localhost = []

    def route(request_route):
        url = request_route.request.url
        if urlsplit(url).hostname in ("127.0.0.1", "localhost") or url.startswith(("data:", "blob:")):
            request_route.continue_()
        else:
            page.left_localhost.append(url)
            request_route.abort()

    page.route("**/*", route)
    yield page
    left = page.left_localhost
    context.close()
    assert not left, f"requests left localhost: {left[:5]}"


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_formulas_are_typeset_offline(served_site, page):
    page.goto(f"{served_site}/notebooks/{MATH_NOTEBOOK}.html", wait_until="load")
    page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=30_000)
    page.evaluate("MathJax.startup.promise")
    typeset = page.locator("mjx-container").count()
    math_nodes = page.locator(".math").count()
    screenshot(page, "math")
    assert math_nodes > 0, f"{MATH_NOTEBOOK} has no math on its page"
    assert typeset >= math_nodes, f"{typeset} of {math_nodes} formulas typeset by MathJax"
    # the page's prose, without code and printed outputs (a cell prints a report's LaTeX source verbatim)
    text = page.evaluate("(() => { const main = document.querySelector('main').cloneNode(true);"
                         " main.querySelectorAll('pre, code, mjx-container').forEach(e => e.remove());"
                         " return main.textContent; })()")
    assert not [raw for raw in ("\\mathbb", "\\tfrac", "$$", "\\(", "\\[") if raw in text], "raw TeX left on the page"
    assert page.locator("mjx-container mjx-merror, mjx-container [data-mjx-error]").count() == 0, "a TeX error"


def test_every_image_of_every_notebook_page_loads(served_site, page):
    for path in NOTEBOOKS:
        page.goto(f"{served_site}/notebooks/{path.stem}.html", wait_until="load")
        broken = page.evaluate("Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
                               ".map(i => i.getAttribute('src').slice(0, 80))")
        count = page.evaluate("document.images.length")
        assert count > 0, f"{path.stem} shows no image"
        assert not broken, f"{path.stem}: images that do not load: {broken}"
    screenshot(page, "last_notebook")


def test_search_finds_posterior_collapse(served_site, page):
    page.goto(f"{served_site}/search.html?q=posterior+collapse", wait_until="load")
    page.wait_for_selector("#search-results ul.search li", timeout=30_000)
    page.wait_for_function("!document.querySelector('#search-results').innerText.includes('Searching')",
                           timeout=30_000)
    screenshot(page, "search")
    hrefs = page.eval_on_selector_all("#search-results ul.search li a", "links => links.map(a => a.href)")
    assert any("notebooks/04_posterior_collapse.html" in href for href in hrefs), hrefs[:10]


def test_navigation_reaches_every_notebook_from_the_landing_page(served_site, page):
    page.goto(f"{served_site}/index.html", wait_until="load")
    screenshot(page, "landing")
    nav = page.eval_on_selector_all("nav.bd-links a", "links => links.map(a => a.href)")
    in_order = [urlsplit(href).path.rsplit("/", 1)[-1] for href in nav if "/notebooks/" in href]
    assert in_order == [f"{p.stem}.html" for p in NOTEBOOKS], f"the left navigation's notebooks: {in_order}"
    # follow the navigation to each page, then its 'next' link onwards
    page.click(f"nav.bd-links a[href$='notebooks/{NOTEBOOKS[0].stem}.html']")
    for path in NOTEBOOKS:
        page.wait_for_url(f"**/notebooks/{path.stem}.html")
        assert page.locator("h1").first.inner_text().startswith(path.stem.split("_")[0])
        if path != NOTEBOOKS[-1]:
            page.click("a.right-next")
    screenshot(page, "navigation_end")
