"""A palette for every eye (issue 22): the colours that must be told apart stay apart for normal vision and for
simulated deuteranopia, protanopia and tritanopia, and every text a figure writes keeps 4.5:1 contrast.

Colour-vision deficiency is simulated with Machado, Oliveira and Fernandes (2009), "A Physiologically-based Model
for Simulation of Color Vision Deficiency", IEEE TVCG 15(6), at severity 100 (colorspacious's "sRGB1+CVD"); the
distance is ΔE in CAM02-UCS (Luo, Cui and Li 2006). Contrast is WCAG 2.1's (success criterion 1.4.3).
"""

from __future__ import annotations

import itertools

import pytest

from tpu_lecture.viz import style

colorspacious = pytest.importorskip("colorspacious", reason="pip install -e '.[test]' (colorspacious)")
VISIONS = {"normal vision": None, "deuteranopia": "deuteranomaly", "protanopia": "protanomaly",
           "tritanopia": "tritanomaly"}
MIN_DELTA_E = 10.0
MIN_CONTRAST = 4.5


def _rgb(color: str) -> tuple[float, float, float]:
    from matplotlib.colors import to_rgb

    return to_rgb(color)


def seen(color: str, deficiency: str | None):
    """``color`` in CAM02-UCS as an eye with ``deficiency`` (None: normal vision) sees it."""
    import numpy as np

    rgb = np.asarray(_rgb(color))
    if deficiency:
        cvd = {"name": "sRGB1+CVD", "cvd_type": deficiency, "severity": 100}
        rgb = np.clip(colorspacious.cspace_convert(rgb, cvd, "sRGB1"), 0, 1)
    return colorspacious.cspace_convert(rgb, "sRGB1", "CAM02-UCS")


def delta_e(a: str, b: str, deficiency: str | None) -> float:
    return float(colorspacious.deltaE(seen(a, deficiency), seen(b, deficiency), input_space="CAM02-UCS"))


def luminance(color: str) -> float:
    """WCAG 2.1 relative luminance."""
    channels = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in _rgb(color)]
    return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]


def contrast(a: str, b: str) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_old_activation_and_partial_sum_were_one_colour_to_a_deuteranope():
    """The check can fail: the issue's measurement of the old palette (blue #1d4ed8, purple #7e22ce) is reproduced."""
    assert delta_e("#1d4ed8", "#7e22ce", "deuteranomaly") < 3 < MIN_DELTA_E


@pytest.mark.parametrize("group", list(style.MUST_DIFFER))
@pytest.mark.parametrize("vision", list(VISIONS))
def test_colours_that_must_be_told_apart_are_apart_for_every_eye(group, vision):
    colors = style.MUST_DIFFER[group]
    close = [(f"{a} {colors[a]}", f"{b} {colors[b]}", round(d, 1))
             for a, b in itertools.combinations(colors, 2)
             if (d := delta_e(colors[a], colors[b], VISIONS[vision])) < MIN_DELTA_E]
    assert not close, f"{group}, {vision}: pairs closer than ΔE {MIN_DELTA_E:.0f} (CAM02-UCS): {close}"


def test_every_text_a_figure_writes_has_enough_contrast():
    low = [(text, back, round(contrast(text, back), 2)) for text, back in style.TEXT_ON
           if contrast(text, back) < MIN_CONTRAST]
    assert not low, f"text below {MIN_CONTRAST}:1 (WCAG 2.1) on its background: {low}"


def test_the_contrast_check_can_fail():
    assert contrast("#ffffff", "#ffffff") == 1 and round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert contrast(style.AMBER, style.LIGHT["weight"]) < MIN_CONTRAST  # amber is for fills and edges, never text


def test_the_frames_write_their_values_in_the_checked_colours():
    """The renderer's texts use only colours whose contrast is checked above, on the fills it puts under them."""
    from tpu_lecture.sim.array import SystolicArray, lecture_example
    from tpu_lecture.viz.renderer import FrameRenderer

    run = SystolicArray(2, 2).matmul(*lecture_example(), keep_frames=True)
    renderer = FrameRenderer(run)
    checked = {text.lower() for text, _ in style.TEXT_ON}
    from matplotlib.colors import to_hex

    for t in range(run.cycles):
        renderer.draw(t)
        used = {to_hex(a.get_color()) for a in renderer.figure.findobj(lambda a: hasattr(a, "get_text")
                                                                       and hasattr(a, "get_color") and a.get_text())}
        assert used <= checked, f"cycle {t}: text colours {sorted(used - checked)} are not in style.TEXT_ON"
