"""The handout offline in headless Chromium: every page opens with the network cut (anything but file:// is
aborted), shows every figure of its stored notebook as a decoded image, draws its math as MathML, and the HTML
animation of notebook 04 plays; every page passes an axe-core accessibility audit (WCAG 2.1 A and AA rules) with no
serious or critical violation. Screenshots go to test-artifacts/browser/handout-*.png.

axe-core comes from npm, outside the repository: ``npm install --prefix ~/.cache/tpu-lecture-axe axe-core@4``
(or set TPU_LECTURE_AXE to its axe.min.js). Without it the audit is skipped, or fails where CI requires the browser.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import browser_support as bs
import pytest

from tpu_lecture import lecture
from tpu_lecture.__main__ import main

MISSING = bs.missing()
REQUIRED = bool(os.environ.get(bs.REQUIRE_ENV))  # CI: fail, never skip
pytestmark = [pytest.mark.browser, pytest.mark.skipif(MISSING is not None and not REQUIRED, reason=MISSING or "")]
ROOT = Path(__file__).resolve().parent.parent
NAMES = [name for name, _ in lecture.NOTEBOOKS if (ROOT / "notebooks" / f"{name}.ipynb").exists()]
AXE = Path(os.environ.get("TPU_LECTURE_AXE") or
           Path.home() / ".cache" / "tpu-lecture-axe" / "node_modules" / "axe-core" / "axe.min.js")
AXE_INSTALL = "npm install --prefix ~/.cache/tpu-lecture-axe axe-core@4"


def stored_figures(name: str) -> tuple[int, int, bool]:
    """Counted from the stored notebook itself: images shown (pictures, widgets' frames, animations),
    animations, and whether any markdown holds math."""
    nb = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))
    images = animations = 0
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            page_html = "".join(data.get("text/html", ""))
            animations += "_anim_img" in page_html
            images += any(k in data for k in ("image/png", "image/jpeg", "image/svg+xml",
                                              "application/vnd.jupyter.widget-view+json")) or "<img" in page_html
    math = any(re.search(r"\$[^$\n]+\$", "".join(c["source"])) for c in nb["cells"] if c["cell_type"] == "markdown")
    return images, animations, math


@pytest.fixture(scope="module")
def handout_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("handout")
    assert main(["handout", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def offline_page():
    with bs.cpu_burners(), bs.chromium(MISSING, "the handout test") as chromium:
        context = chromium.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(bs.PATIENCE * 1000)
        context.route(re.compile(r"^(?!file:).*"), lambda route: route.abort())  # the network is cut for the pages
        try:
            yield context.new_page()
        finally:
            context.close()


def test_the_index_links_every_page(handout_dir, offline_page):
    offline_page.goto((handout_dir / "index.html").as_uri())
    links = offline_page.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert links == [f"{name}.html" for name in NAMES]
    bs.Shots("handout-index").take(offline_page, "index")


@pytest.mark.parametrize("name", NAMES)
def test_each_page_shows_every_figure_offline(handout_dir, offline_page, name):
    images, animations, math = stored_figures(name)
    failed: list[str] = []
    offline_page.on("requestfailed", lambda request: failed.append(request.url))
    offline_page.goto((handout_dir / f"{name}.html").as_uri())
    offline_page.wait_for_load_state("load")
    shown = offline_page.locator(".jp-OutputArea-output img").evaluate_all(
        "imgs => imgs.filter(i => i.complete && i.naturalWidth > 0).length")
    assert shown == images, f"{name}: the page shows {shown} decoded images, the stored notebook has {images} figures"
    assert not failed, f"{name}: the page asked the network for {failed[:3]}"
    if math:
        widths = offline_page.locator(".jp-RenderedMarkdown math").evaluate_all(
            "ms => ms.map(m => m.getBoundingClientRect().width)")
        assert widths and min(widths) > 0, f"{name}: math is not drawn as MathML"
    if animations:
        check_animation_plays(offline_page, name)
    if name.startswith(("00", "04")):
        bs.Shots(f"handout-{name[:2]}").take(offline_page, "page")


def check_animation_plays(page, name: str) -> None:
    image = page.locator("img[id^='_anim_img']").first
    image.scroll_into_view_if_needed()
    before = image.get_attribute("src")
    page.get_by_title("Next frame").first.click()
    bs.wait_for(lambda: image.get_attribute("src") != before, bs.PATIENCE,
                lambda: f"{name}: 'Next frame' did not change the HTML animation offline", page)


@pytest.mark.parametrize("name", NAMES)
def test_each_page_passes_an_accessibility_audit(handout_dir, offline_page, name):
    """axe-core's WCAG 2.1 A/AA rules in Chromium: no serious or critical violation (alt texts, contrast, names…)."""
    if not AXE.is_file():
        message = f"axe-core is not installed at {AXE}: {AXE_INSTALL}"
        if REQUIRED:
            pytest.fail(f"{bs.REQUIRE_ENV} is set, so the accessibility audit must run, but {message}")
        pytest.skip(message)
    offline_page.goto((handout_dir / f"{name}.html").as_uri())
    offline_page.wait_for_load_state("load")
    offline_page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    found = offline_page.evaluate("""async () => {
        const result = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a',
                                                                               'wcag21aa']}});
        return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, count: v.nodes.length,
                                            first: v.nodes[0] && v.nodes[0].html.slice(0, 160)}));
    }""")
    serious = [v for v in found if v["impact"] in ("serious", "critical")]
    if serious:
        bs.Shots(f"handout-axe-{name[:2]}").take(offline_page, "violations")
    assert not serious, f"{name}: axe-core finds {len(serious)} serious or critical violation(s): {serious}"
