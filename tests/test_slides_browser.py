"""Teaching from notebook 04 with RISE, in headless Chromium the size of a 1280 x 720 projector.

A temporary copy of notebooks/04_systolic_array.ipynb gets its slides from ``tpu_lecture.slides`` (as the execute
script writes them) and rise.css beside it; JupyterLab runs every cell, RISE's toolbar button starts the
slideshow and View > Full screen slideshow fills the screen. On the title slide and on the player's slide
nothing may scroll; on the player's slide a click on step forward must move the caption's cycle and show a new
frame, the live widget answering from the kernel. Math must be typeset in the lab and on the slides. The
screenshots (title slide, player slide, after the step) go to test-artifacts/browser/rise-*.png.

Known upstream bug: jupyterlab-rise 0.43.1 (the latest) runs the slideshow in its own app, which shares no
``@jupyterlab/console``; the widget manager of jupyterlab_widgets 3.0.11 and later needs it, does not load, and a
widget shows as its text on the slide (jupyterlab-contrib/rise issues 119 and 126). The ``jupyter`` extra pins
the last widgets front end without that need (ipywidgets 8.1.2, jupyterlab_widgets 3.0.10); should the bug come
back, the test fails saying so. The kernel-free HTML animation of section 8 must step on its slide as well.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
from pathlib import Path

import browser_support as bs
import pytest

from tpu_lecture import slides

MISSING = bs.missing() or (None if importlib.util.find_spec("jupyterlab_rise") else
                           "jupyterlab-rise is not installed: pip install -e '.[jupyter]'")
REQUIRED = bool(os.environ.get(bs.REQUIRE_ENV))  # CI: fail, never skip
pytestmark = [pytest.mark.browser, pytest.mark.skipif(MISSING is not None and not REQUIRED, reason=MISSING or "")]
PROJECTOR = {"width": 1280, "height": 720}
RISE_WIDGET_BUG = "Shared module @jupyterlab/console doesn't exist in shared scope"
FILL, TEXT_PX = 0.6, 18.0  # issue 22: the player fills 60% of the slide's height, its smallest text 18 px or more
SEEN: dict[str, dict] = {}  # what the slideshow test measured, for the readability test after it
RAW_TEX = re.compile(r"\\(begin|cdot|frac|lceil|rceil)\b|\$[^$\s][^$\n]*\\[a-z]+[^$\n]*\$")


@pytest.fixture(scope="module")
def browser():
    with bs.cpu_burners(), bs.chromium(MISSING, "the slideshow test") as chromium:
        yield chromium


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=PROJECTOR)
    context.set_default_timeout(bs.PATIENCE * 1000)
    try:
        yield context.new_page()
    finally:
        context.close()


ANIMATION_SECTION = "## 8. Take it with you"  # self-study in the 90-minute plan; a lecturer may present it


def slideshow_copy(folder: Path) -> Path:
    """Notebook 04 (a copy, with the browser tests' probe cells) with its slides and rise.css, as the tool writes,
    and with section 8's kernel-free animation presented (its heading without the self-study mark)."""
    import nbformat

    path = bs.notebook_copy(folder)
    notebook = nbformat.read(path, as_version=4)
    [heading] = [c for c in notebook.cells if c.cell_type == "markdown" and c.source.startswith(ANIMATION_SECTION)]
    heading.source = heading.source.replace(f"{ANIMATION_SECTION} *(self-study)*", ANIMATION_SECTION, 1)
    slides.apply(notebook, path.stem)
    nbformat.write(notebook, path)
    slides.write_rise_css(path.parent)
    return path


def check_math(root, where: str) -> int:
    """Math in markdown is typeset (MathJax's mjx-container), and no TeX source is left showing."""
    typeset = root.locator(".jp-RenderedMarkdown mjx-container").count()
    raw = [t for t in root.locator(".jp-RenderedMarkdown").all_inner_texts() if RAW_TEX.search(t)]
    assert typeset > 0 and not raw, f"math is not typeset {where}: {typeset} formulas, raw TeX in {raw[:1]}"
    return typeset


def start_slideshow(page, server: bs.JupyterServer, notebook: Path):
    """Run every cell, select the title, press RISE's button, then View > Full screen slideshow; the slides' frame."""
    prefix = bs.run_all_cells(page, server, notebook)
    assert Path(prefix).resolve() == Path(sys.prefix).resolve(), f"the kernel ran in {prefix}, not {sys.prefix}"
    lab = bs.shown_notebook(page)
    check_math(lab, "in JupyterLab")
    lab.locator(".jp-Cell").first.click()
    page.keyboard.press("Escape")
    button = page.locator(".jp-NotebookPanel-toolbar [data-command='RISE:preview']")
    assert button.count(), "the notebook's toolbar has no RISE button: is jupyterlab-rise enabled?"
    button.first.click()
    iframe = page.locator(".jp-MainAreaWidget iframe").first
    bs.wait_for(lambda: iframe.count() and iframe.element_handle().content_frame(), bs.PATIENCE,
                lambda: "RISE's button opened no slideshow frame", page)
    frame = iframe.element_handle().content_frame()
    bs.wait_for(lambda: frame.locator(".reveal .slides section.present").count(), bs.PATIENCE,
                lambda: "the slideshow shows no slide (.reveal .slides section.present)", page)
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^View$")).first.click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Full screen slideshow$")).first.click()
    bs.wait_for(lambda: frame.evaluate("() => !!document.fullscreenElement"), bs.PATIENCE,
                lambda: "View > Full screen slideshow did not fill the screen", page)
    bs.wait_for(lambda: laid_out(frame), bs.PATIENCE,
                lambda: "reveal did not lay the slide out at the full screen's size", page)
    return frame


def laid_out(frame) -> bool:
    """Reveal has laid the slide out for the window it fills: the window is the projector's size and the slide's
    box stays the same over two painted frames."""
    def box():
        bs.next_animation_frame(frame)
        return frame.evaluate("""() => {
            const s = document.querySelector('.reveal .slides > section.present');
            const r = s ? s.getBoundingClientRect() : null;
            return [innerWidth, innerHeight, r && Math.round(r.width), r && Math.round(r.height)];
        }""")
    first = box()
    return first[:2] == [PROJECTOR["width"], PROJECTOR["height"]] and first[2] and box() == first


def present(frame):
    """The subslide on screen (RISE nests every subslide's section in its slide's)."""
    return frame.locator(".reveal .slides > section.present > section.present").first


def check_fits(frame, what: str) -> None:
    """The slide on screen is inside the 1280 x 720 screen and nothing on it scrolls."""
    box = frame.evaluate("""() => {
        const s = document.querySelector('.reveal .slides > section.present > section.present');
        const r = s.getBoundingClientRect();
        const content = Math.max(...[...s.children].map(c => c.getBoundingClientRect().bottom), r.top) - r.top;
        return {height: s.clientHeight, scroll: s.scrollHeight, bottom: r.top + content,
                page: document.scrollingElement.scrollHeight, viewport: innerHeight};
    }""")
    # RISE gives a slide it once found too tall (in the narrow preview, say) a scroll box: what counts is the content.
    assert box["scroll"] <= box["height"] + 2, f"{what} scrolls: {box}"
    assert box["bottom"] <= box["viewport"] and box["page"] <= box["viewport"], f"{what} overflows the screen {box}"


POSITION = """() => {
    const slide = document.querySelector('.reveal .slides > section.present');
    const sub = slide && slide.querySelector(':scope > section.present');
    const at = el => el ? [...el.parentElement.children].indexOf(el) : -1;
    return [at(slide), at(sub), (sub || slide) ? (sub || slide).querySelectorAll('.fragment.visible').length : 0];
}"""


def next_slide_with(page, frame, css: str, most: int = 80) -> int:
    """Press Space (RISE's 'next') until the subslide on screen holds ``css``; how many presses it took.

    After each press the test waits until reveal has moved (another slide, subslide or fragment on screen), so a
    slow machine never has a press land before the last one took effect."""
    for presses in range(most):
        if present(frame).locator(f"{css} >> visible=true").count():  # skipped cells sit hidden in a section
            return presses
        before = frame.evaluate(POSITION)
        frame.locator(".reveal").first.focus()
        page.keyboard.press("Space")
        bs.wait_for(lambda before=before: frame.evaluate(POSITION) != before, bs.PATIENCE,
                    lambda before=before: f"Space did not move the slideshow on from {before} (looking for {css})",
                    page)
        bs.wait_for(lambda: laid_out(frame), bs.PATIENCE, lambda: "reveal did not lay the new slide out", page)
    raise AssertionError(f"no slide among the first {most} holds {css}")


def test_the_player_steps_on_its_own_slide_in_a_rise_slideshow(page, tmp_path):
    """Notebook 04 in RISE: a readable title slide, the 2x2 player alone on a slide that fits and steps, and the
    HTML animation of section 8 on its own slide, stepping."""
    root = tmp_path / "root"
    notebook = slideshow_copy(root / "rise")
    shots = bs.Shots("rise")
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))  # the slideshow's frame reports here too
    with bs.jupyter_server("lab", root, tmp_path / "home") as server:
        try:
            frame = start_slideshow(page, server, notebook)
            title = present(frame)
            assert "04 · The systolic array" in (title.locator("h1").first.text_content() or "")
            check_fits(frame, "the title slide")
            shots.take(page, "title-slide")
            check_math(frame, "on the slides")
            next_slide_with(page, frame, ".tl-player, .jp-OutputArea-output:has-text('SystolicPlayer(')")
            check_player_slide(page, frame, shots, console)
            next_slide_with(page, frame, ".animation img")
            check_animation_steps(page, frame, shots)
        except Exception:
            shots.take(page, "failure")
            raise
        finally:
            server.shutdown_kernels()


def check_player_slide(page, frame, shots: bs.Shots, console: list[str]) -> None:
    """The live player alone on a slide that fits, and a click on step forward shows the next cycle."""
    if not present(frame).locator(".tl-player >> visible=true").count():
        shots.take(page, "player-slide")
        if any(RISE_WIDGET_BUG in line for line in console):
            raise AssertionError(f"the slideshow could not load the widget manager ({RISE_WIDGET_BUG}): "
                                 "jupyterlab_widgets is newer than 3.0.10 (jupyterlab-contrib/rise#119); "
                                 "pip install -e '.[jupyter]' pins the one that works")
        raise AssertionError("the player's slide shows the player's text, not the live widget")
    player = bs.Player(frame)
    player.wait_shown()
    # A slide's section also holds the cells RISE skips (hidden): only what is visible is on the slide.
    shown = present(frame).locator(".tl-player >> visible=true").count()
    assert shown == 1, "the player shares its slide with another widget"
    check_fits(frame, "the player's slide")
    code = present(frame).locator(".jp-CodeCell:has(.tl-player) "
                                  ":is(.jp-InputArea-editor, .jp-InputPlaceholder):visible")
    assert not code.count(), "the player's slide shows the code that displays it (hide it: jupyter.source_hidden)"
    assert not present(frame).locator("text=NBVAL_ >> visible=true").count(), "the player's slide shows a test marker"
    SEEN["player"] = seen = measure(frame, player.frame, dpi=100)
    assert seen["fill"] >= FILL, f"the player's frame fills {seen['fill']:.0%} of the slide's height: {seen}"
    start = player.state()
    shots.take(page, "player-slide")
    player.forward.click()
    stepped = player.wait_for_change(start, lambda t: t == start[0][0] + 1, "clicking step forward (slide)")
    shots.take(page, "player-stepped")
    assert stepped[0][1] == start[0][1]


def check_animation_steps(page, frame, shots: bs.Shots) -> None:
    """Section 8's HTML animation (no kernel needed) fits its slide, and its step button shows the next cycle."""
    movie = present(frame).locator(".animation >> visible=true").first
    check_fits(frame, "the animation's slide")
    slider, image = movie.locator("input[type=range]").first, movie.locator("img").first
    SEEN["animation"] = seen = measure(frame, image, dpi=80)
    assert seen["fill"] >= FILL, f"the animation's frame fills {seen['fill']:.0%} of the slide's height: {seen}"
    before = (int(slider.input_value()), image.get_attribute("src"))
    shots.take(page, "animation-slide")
    movie.locator("button[onclick*='next_frame']").first.click()
    bs.wait_for(lambda: int(slider.input_value()) == before[0] + 1 and image.get_attribute("src") != before[1],
                bs.PATIENCE,
                lambda: f"the animation did not step: frame {slider.input_value()} (was {before[0]})", page)
    shots.take(page, "animation-stepped")


def smallest_text_px(dpi: float) -> float:
    """The smallest text of the lecture's 2x2 frames (notebook 04's player and animation) in the PNG's pixels."""
    from tpu_lecture.sim.array import SystolicArray, lecture_example
    from tpu_lecture.viz.renderer import FrameRenderer

    run = SystolicArray(2, 2).matmul(*lecture_example(), keep_frames=True)
    renderer, sizes = FrameRenderer(run, dpi=dpi), []
    for t in range(run.cycles):
        renderer.draw(t)
        sizes += [a.get_fontsize() for a in renderer.figure.findobj(lambda a: hasattr(a, "get_fontsize")
                                                                    and hasattr(a, "get_text") and a.get_text())]
    return min(sizes) * dpi / 72


def measure(frame, image, dpi: float) -> dict:
    """From the DOM: the frame's height on screen as a share of the slide's, and its smallest text in screen pixels
    (the image's scale on screen times the smallest text drawn into it)."""
    box = image.evaluate("img => [img.getBoundingClientRect().height, img.naturalHeight, innerHeight]")
    scale = box[0] / box[1]
    return {"height_px": round(box[0]), "slide_px": box[2], "fill": box[0] / box[2], "scale": round(scale, 3),
            "smallest_text_px": round(scale * smallest_text_px(dpi), 1)}


@pytest.mark.xfail(strict=True, reason="issue 22 item 2, not done: the 2x2 frame is a 7x9-inch portrait figure whose "
                   "labels and legend are 10-11 pt, about 8 px on a 1280x720 slide; it needs a landscape slide layout")
@pytest.mark.parametrize("what", ["player", "animation"])
def test_the_text_on_the_slides_is_readable_from_the_back_row(what):
    """Measured by the slideshow test above: the smallest text of the player's (and the animation's) frame on screen."""
    if what not in SEEN:
        pytest.skip("the slideshow test did not get as far as measuring this slide")
    seen = SEEN[what]
    bs.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (bs.ARTIFACTS / f"rise-{what}-sizes.json").write_text(json.dumps(seen) + "\n")
    assert seen["smallest_text_px"] >= TEXT_PX, f"the {what}'s smallest text is {seen['smallest_text_px']} px: {seen}"
