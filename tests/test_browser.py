"""The step-through player where students use it: JupyterLab and Notebook 7 in headless Chromium.

A temporary copy of notebooks/04_systolic_array.ipynb is run from the Run menu; then the first
player is used like a student does (step forward, step back, the speed control, Play, Pause, the
cycle slider) and each action must move the caption's cycle and show a new decoded frame; at the end the kernel's
PlayerState (asked through a probe button) must say what the page shows. The HTML export must play in a
plain page with no kernel. Screenshots go to test-artifacts/browser/. The self-tests break the
player in the kernel of a copy and check that the same checks fail.
"""

from __future__ import annotations

import os
import re
import sys
from contextlib import suppress
from pathlib import Path

import browser_support as bs
import pytest

MISSING = bs.missing()
REQUIRED = bool(os.environ.get(bs.REQUIRE_ENV))  # CI: fail, never skip
pytestmark = [pytest.mark.browser, pytest.mark.skipif(MISSING is not None and not REQUIRED, reason=MISSING or "")]


@pytest.fixture(scope="module")
def browser():
    with bs.cpu_burners(), bs.chromium(MISSING, "the browser tests") as chromium:
        yield chromium


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 1800})
    context.set_default_timeout(bs.PATIENCE * 1000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """One JupyterLab for the module (the real run and the self-tests), HOME and root in temp dirs."""
    root = tmp_path_factory.mktemp("lab-root")
    with bs.jupyter_server("lab", root, tmp_path_factory.mktemp("lab-home")) as server:
        yield server


def student_session(page, server: bs.JupyterServer, notebook: Path, shots: bs.Shots,
                    patience: float = bs.PATIENCE) -> dict:
    """Run every cell, then use the first player; returns what was seen (the checks raise AssertionError)."""
    try:
        kernel_prefix = bs.run_all_cells(page, server, notebook)
        assert Path(kernel_prefix).resolve() == Path(sys.prefix).resolve(), (
            f"the notebook ran in the Python at {kernel_prefix}, not in this environment ({sys.prefix})")
        return check_player(page, shots, patience)
    except Exception:
        with suppress(Exception):  # a page that crashed takes no screenshot; keep the real error
            shots.take(page, "failure")
        raise
    finally:
        server.shutdown_kernels()


def check_player(page, shots: bs.Shots, patience: float = bs.PATIENCE) -> dict:
    """What a student does with the player; each step must move the caption's cycle and show a new frame.

    Step forward and back; slowest speed, Play, Pause (it must stay put); fastest speed, Play to the
    end; the cycle slider's left and right ends. ``patience``: the most seconds a click may take to show its
    frame (past it, the kernel is asked where it is before the check fails).
    """
    player = bs.Player(page)
    player.wait_shown()
    shots.take(page, "notebook")
    start = player.state()
    (t0, total), _ = start
    assert total >= 3, f"the player has only {total} cycle(s): too few to step and play through"
    shots.take(player.root, "player")

    player.forward.click()
    forward = player.wait_for_change(start, lambda t: t == t0 + 1, "clicking step forward", patience)
    shots.take(player.root, "step-forward")
    player.back.click()
    back = player.wait_for_change(forward, lambda t: t == t0, "clicking step back", patience)

    default_speed = float(player.readout("tl-speed"))
    player.drag_slider("tl-speed", 0)
    slowest = bs.wait_for(lambda: float(player.readout("tl-speed")) < default_speed and player.readout("tl-speed"),
                          patience, lambda: f"dragging the speed control to its left end left it at "
                          f"{player.readout('tl-speed')} frames/s", page)
    player.play_buttons.first.click()
    played = player.wait_for_change(back, lambda t: t > t0, f"clicking Play at {slowest} frames/s", patience)
    player.pause_button().click()
    bs.wait_for(lambda: player.playing() is not True, patience, lambda: "Pause did not stop Play", page)
    held = player.settle()  # the kernel has handled every frame Play sent before the pause, the page shows it
    assert not held[1], f"after Pause the kernel's PlayerState still plays: {held}"
    paused = player.state()
    page.wait_for_timeout(1000 / float(slowest) + 300)  # what is checked: nothing moves for longer than one frame
    later = player.settle()
    assert player.state() == paused and later[0] == held[0], (
        f"after Pause the player kept going: cycle {paused[0]} then {player.cycle()} (kernel {held} then {later})")
    shots.take(player.root, "paused")

    player.drag_slider("tl-speed", 1)
    fastest = bs.wait_for(lambda: float(player.readout("tl-speed")) > default_speed and player.readout("tl-speed"),
                          patience, lambda: f"dragging the speed control to its right end left it at "
                          f"{player.readout('tl-speed')} frames/s", page)
    player.play_buttons.first.click()
    player.wait_for_change(paused, lambda t: t > paused[0][0], "clicking Play again", patience)
    bs.wait_for(lambda: player.playing() is False, patience,
                lambda: f"Play did not run to the end and stop (caption {player.caption_text()!r})", page)
    player.settle()
    ended = player.state()
    shots.take(player.root, "played-to-end")

    before = player.state()
    player.drag_slider("tl-slider", 0)
    first = player.wait_for_change(before, lambda t: t in (0, 1), "dragging the cycle slider to its left end", patience)
    last_cycle = first[0][0] + total - 1  # the caption counts `total` cycles from the first one
    assert ended[0][0] == last_cycle, f"Play stopped at cycle {ended[0][0]}, not at the last one ({last_cycle})"
    player.drag_slider("tl-slider", 1)
    last = player.wait_for_change(first, lambda t: t == last_cycle, f"dragging the cycle slider to its right end "
                                  f"(last cycle, {last_cycle})", patience)
    shots.take(player.root, "slider-end")
    kernel = player.kernel_state()  # PlayerState is the truth: it must say what the page shows
    assert kernel[:2] == (last[0][0], False), (
        f"the page shows cycle {last[0][0]} of a paused player, but the kernel's PlayerState says {kernel}")
    assert kernel[2] == float(fastest), f"the speed control reads {fastest} frames/s, the kernel's state {kernel[2]}"
    shots.take(player.page, "kernel-state")
    return {"start": start[0], "forward": forward[0], "back": back[0], "played": played[0], "paused": paused[0],
            "ended": ended[0], "slider_first": first[0], "slider_last": last[0], "speeds": (slowest, fastest),
            "kernel": kernel}


def test_player_steps_and_plays_in_jupyterlab(page, lab):
    """Notebook 04 (a copy) in JupyterLab 4: run all, then step, play, pause, change speed, drag the slider."""
    seen = student_session(page, lab, bs.notebook_copy(lab.root_dir / "real"), bs.Shots("lab"))
    assert seen["slider_last"] == seen["ended"]


def test_player_steps_and_plays_in_notebook7(page, tmp_path):
    """The same in Jupyter Notebook 7, on its own server."""
    root = tmp_path / "root"
    notebook = bs.notebook_copy(root)
    with bs.jupyter_server("notebook", root, tmp_path / "home") as server:
        seen = student_session(page, server, notebook, bs.Shots("notebook7"))
    assert seen["slider_last"] == seen["ended"]


def test_html_export_plays_with_no_kernel(page, tmp_path):
    """animation_html saved as a file and opened offline: one frame per cycle, Next frame and Play move it."""
    import tpu_lecture as tl

    run = tl.SystolicArray(2, 2).matmul(*tl.lecture_example())
    html = tmp_path / "systolic_2x2.html"
    html.write_text(tl.animation_html(run), encoding="utf-8")
    page.route(re.compile(r"^https?://"), lambda route: route.abort())  # offline, like a saved file on a train
    shots = bs.Shots("export")
    page.goto(html.as_uri())
    image = page.locator("img[id^='_anim_img']").first
    slider = page.locator("input.anim-slider").first
    bs.wait_for(lambda: image.is_visible() and image.get_attribute("src"), bs.PATIENCE,
                lambda: "the exported animation shows no frame", page)
    shots.take(page, "page")
    frames = int(slider.get_attribute("max")) + 1
    assert frames == run.cycles, f"the export has {frames} frames for a run of {run.cycles} cycles (one per cycle)"

    def shown():
        return int(slider.input_value()), image.get_attribute("src")

    before = shown()
    page.get_by_title("Next frame").click()
    after = bs.wait_for(lambda: shown()[0] == before[0] + 1 and shown(), bs.PATIENCE,
                        lambda: f"'Next frame' left the export at frame {shown()[0]} (was {before[0]})", page)
    assert after[1] != before[1] and after[1].startswith("data:image/png"), "'Next frame' did not change the image"

    page.get_by_title("Play", exact=True).click()
    seen = bs.wait_for(lambda: shown()[0] != after[0] and shown(), bs.PATIENCE,
                       lambda: "'Play' did not move the exported animation", page)
    shots.take(page, "playing")
    page.get_by_title("Pause").click()
    assert seen[1] != after[1], "the exported animation moved its slider but not its image"


@pytest.mark.parametrize("sabotage", [bs.IGNORE_STEP_FORWARD, bs.FREEZE_FRAME], ids=["click-ignored", "frame-frozen"])
def test_checks_fail_when_step_forward_is_broken(page, lab, sabotage, request):
    """The checks are not vacuous: a player whose step forward does nothing, or does not reach the frame, fails."""
    name = request.node.callspec.id
    notebook = bs.notebook_copy(lab.root_dir / name, source=None, first_cells=(sabotage,))
    with pytest.raises(AssertionError, match=r"after clicking step forward") as failure:
        student_session(page, lab, notebook, bs.Shots(f"selftest-{name}"), patience=4)
    cycle = "the cycle went from" if name == "frame-frozen" else "the cycle stayed at"
    assert cycle in str(failure.value) and "the frame image did not change" in str(failure.value)
