"""The visualizer, headless: frames drawn from the run's state, the player's widgets, GIF/HTML export, the CLI.

Runs on the Agg backend with no browser and no kernel, under ipywidgets 8 and 7.7.1 (Colab's).
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from matplotlib.colors import to_rgba
from PIL import Image

from tpu_lecture.__main__ import main
from tpu_lecture.sim.array import SystolicArray, lecture_example
from tpu_lecture.viz.export import (
    animate,
    animation_html,
    draw_frame,
    frame_png,
    frame_strip,
    render_frames,
    save_animation,
    symbolic_example,
)
from tpu_lecture.viz.layout import EDGE, Layout
from tpu_lecture.viz.player import PlayerState, SystolicPlayer
from tpu_lecture.viz.renderer import FrameRenderer
from tpu_lecture.viz.style import ACTIVE_FACE, COLORS, CONTROL, DEAD_ARROW, IDLE_FACE
from tpu_lecture.viz.text import caption, cycle_story, format_value, run_story

DATAFLOWS = ["ws", "os", "is"]


def small_ints(shape, seed):
    return np.random.default_rng(seed).integers(-8, 8, size=shape)


@pytest.fixture(scope="module")
def lecture_runs():
    A, W = lecture_example()
    return {flow: SystolicArray(2, 2, flow).matmul(A, W) for flow in DATAFLOWS}


@pytest.fixture(scope="module")
def numeric_run():
    return SystolicArray(4, 4).matmul(small_ints((4, 4), 1), small_ints((4, 4), 2))


@pytest.fixture()
def player(numeric_run):
    return SystolicPlayer(numeric_run, fps=4)


def artist(fig, gid):
    found = fig.findobj(lambda a: a.get_gid() == gid)
    assert len(found) == 1, f"expected one artist {gid!r}, found {len(found)}"
    return found[0]


def png_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        return image.size


# --------------------------------------------------------------------------- values as the lecture writes them


@pytest.mark.parametrize("value, text", [
    (12, "12"), (np.int64(-7), "-7"), (np.float32(3.0), "3"), (0.375, "0.375"), (-0.0, "0"),
    (1.0 / 3.0, "0.333"), (123456.0, "1.23e5"), (2.5e-7, "2.5e-7"),
])
def test_numbers_are_written_compactly(value, text):
    assert format_value(value) == text


def test_symbols_read_like_the_lecture():
    (a, b), _ = lecture_example()[0]
    (e, _), (g, _) = lecture_example()[1]
    assert format_value(a * e + b * g) == "A·E + B·G"
    assert format_value(a**2) == "A^2"


# --------------------------------------------------------------------------- frames drawn from the run's state


@pytest.mark.parametrize("flow", DATAFLOWS)
def test_every_pe_text_is_the_runs_state_at_that_cycle(lecture_runs, flow):
    run = lecture_runs[flow]
    renderer = FrameRenderer(run)
    for t in range(run.cycles):
        frame = renderer.draw(t)
        for key in ("weight", "activation", "psum"):
            values, valid = frame.values[key], frame.valid[key]
            for i, j in np.ndindex(frame.shape):
                want = format_value(values[i, j]) if valid[i, j] else ""
                assert artist(renderer.figure, f"pe-{i}-{j}-{key}").get_text() == want, (flow, t, key, i, j)
            assert artist(renderer.figure, "caption").get_text().startswith(f"cycle {t} of {run.cycles}")
        png_size(renderer.png())


def test_the_lecture_walkthrough_shows_ae_plus_bg(lecture_runs):
    """The lecture's cycle 1 (cycle 3, after two cycles of loading): A·E + B·G leaves PE (1, 0) for output (0, 0)."""
    fig = draw_frame(lecture_runs["ws"], 3)
    assert artist(fig, "pe-1-0-psum").get_text() == "A·E + B·G"
    assert artist(fig, "pe-0-0-weight").get_text() == "E"
    assert artist(fig, "pe-0-0-activation").get_text() == "C"
    assert artist(fig, "out-0-0-text").get_text() == "A·E + B·G"
    assert artist(fig, "caption").get_text() == "cycle 3 of 6 · 4 of 8 MACs · utilization 25%"


def test_the_lecture_weights_visibly_shift_in_and_latch_on_the_control_signal(lecture_runs):
    """E F / G H wait above the array, shift into the shadow registers last row first, and each PE stores its
    weight (red edge) as the first activations pass; then the activations flow."""
    renderer = FrameRenderer(lecture_runs["ws"])
    fig, view = renderer.figure, renderer.view

    def shown(t, gid):
        renderer.draw(t)
        return artist(fig, gid).get_text()

    assert [shown(0, f"queue-top-0-{j}-text") for j in (0, 1)] == ["E", "F"]
    assert [shown(0, f"pe-0-{j}-shadow") for j in (0, 1)] == ["G", "H"] and shown(0, "pe-1-0-shadow") == ""
    assert [shown(1, f"pe-{i}-0-shadow") for i in (0, 1)] == ["E", "G"] and shown(1, "pe-0-0-weight") == ""
    carries = view.arrow_carries(lecture_runs["ws"].frame(1))
    assert carries["load-in", 0] == carries["load", 0, 0] == "weight" and carries["right", 0, 0] is None
    assert artist(fig, "pe-0-0-shadow-box").get_visible()
    assert (shown(2, "pe-0-0-weight"), shown(2, "pe-0-0-activation"), shown(2, "pe-0-0-shadow")) == ("E", "A", "")
    assert view.pe_box[0, 0].get_edgecolor() == to_rgba(CONTROL) and not artist(fig, "pe-0-0-shadow-box").get_visible()
    assert view.pe_box[1, 1].get_edgecolor() != to_rgba(CONTROL) and shown(2, "pe-1-1-shadow") == "H"
    renderer.draw(3)
    assert [view.pe_box[i, j].get_edgecolor() == to_rgba(CONTROL) for i, j in np.ndindex(2, 2)] == [
        False, True, True, False]
    assert not view.arrow_carries(lecture_runs["ws"].frame(3))["load", 0, 0]
    labels = [text.get_text() for text in fig.legends[0].get_texts()] if fig.legends else [
        text.get_text() for text in renderer.ax.get_legend().get_texts()]
    assert "control signal: store the weight" in labels and "next weight ↓ loading (shadow)" in labels


def test_the_next_tile_loads_while_the_first_folds_activations_flow():
    """Double-buffered, two folds: some frames show the next tile's weights shifting in beside busy PEs."""
    run = SystolicArray(2, 2).matmul(small_ints((6, 2), 3), small_ints((2, 4), 4))
    assert run.folds == 2
    renderer = FrameRenderer(run)
    overlapping = [t for t in range(run.cycles) if run.frame(t).loading and run.frame(t).active.any()]
    assert overlapping
    for t in overlapping:
        frame = renderer.draw(t)
        assert artist(renderer.figure, "caption").get_text().endswith("fold 1 of 2 · loading fold 2's weights")
        assert frame.shadow_fold[0, 0] == 1 and (frame.held_fold[frame.active] == 0).all()
        shadows = {artist(renderer.figure, f"pe-0-{j}-shadow").get_text() for j in range(2)}
        activations = {artist(renderer.figure, f"pe-{i}-{j}-activation").get_text() for i, j in np.ndindex(2, 2)}
        assert shadows - {""} and activations - {""}


def test_the_queues_wait_as_a_staircase(lecture_runs):
    """At the end of the fold's first cycle, C waits to enter row 0; B and then D wait for row 1, one cycle later."""
    fig = draw_frame(lecture_runs["ws"], 2)
    assert artist(fig, "queue-0-0-text").get_text() == "C"
    assert artist(fig, "queue-1-0-text").get_text() == "B"
    assert artist(fig, "queue-1-1-text").get_text() == "D"
    assert not artist(fig, "queue-0-1").get_visible()
    assert artist(fig, "queue-1-1").get_visible()


def test_a_queue_deeper_than_drawn_ends_in_an_ellipsis():
    run = SystolicArray(2, 2).matmul(small_ints((7, 2), 9), small_ints((2, 2), 10))
    renderer = FrameRenderer(run)
    frame = renderer.draw(run.fold_records[0].start)
    depth = renderer.layout.queue_depth
    assert depth < frame.queue_left.shape[1] and frame.queue_left_valid[1, depth:].any()
    assert renderer.view.queue_more[1].get_visible()
    for d in range(depth):
        assert renderer.view.queue[1, d][1].get_text() == format_value(frame.queue_left[1, d])
    renderer.draw(run.cycles - 1)
    assert not renderer.view.queue_more[1].get_visible()


def test_output_stationary_has_weights_waiting_on_top(lecture_runs):
    run = lecture_runs["os"]
    fig = draw_frame(run, 0)
    top = run.frame(0).queue_top
    assert artist(fig, "queue-top-0-0-text").get_text() == format_value(top[0, 0]) == "G"
    assert artist(fig, "queue-top-1-1-text").get_text() == "H"


def test_active_pes_stand_out_and_arrows_carry_colour(numeric_run):
    renderer = FrameRenderer(numeric_run)
    for t in (0, 3, numeric_run.cycles - 1):
        frame = renderer.draw(t)
        for i, j in np.ndindex(frame.shape):
            face = renderer.view.pe_box[i, j].get_facecolor()
            assert face == to_rgba(ACTIVE_FACE if frame.active[i, j] else IDLE_FACE)
        carries = renderer.view.arrow_carries(frame)
        colours = renderer.view.arrows.get_facecolor()
        for n, key in enumerate(renderer.view.arrow_keys):
            if key[0] == "right":
                assert (carries[key] == "activation") == bool(frame.valid["activation"][key[1], key[2]])
            if key[0] == "down":
                assert (carries[key] == "psum") == bool(frame.valid["psum"][key[1], key[2]])
            want = COLORS[carries[key]] if carries[key] else DEAD_ARROW
            assert tuple(colours[n]) == pytest.approx(to_rgba(want))


def test_the_outputs_gather_to_numpys_product(numeric_run):
    A, W = small_ints((4, 4), 1), small_ints((4, 4), 2)
    fig = draw_frame(numeric_run, numeric_run.cycles - 1)
    for r, c in np.ndindex(4, 4):
        assert artist(fig, f"out-{r}-{c}-text").get_text() == str((A @ W)[r, c])


def test_a_frame_redrawn_in_place_equals_a_fresh_one(numeric_run):
    reused = FrameRenderer(numeric_run)
    for t in (7, 2, 5):
        reused.rgba(t)
    np.testing.assert_array_equal(reused.rgba(3), FrameRenderer(numeric_run).rgba(3))
    reused.figure.canvas.draw()  # the fast path (background + changed artists) matches a full redraw
    np.testing.assert_array_equal(reused.rgba(), np.asarray(reused.figure.canvas.buffer_rgba()))


@pytest.mark.parametrize("flow", DATAFLOWS)
def test_folded_and_numeric_runs_of_every_dataflow_render(flow):
    run = SystolicArray(3, 3, flow).matmul(small_ints((4, 5), 3), small_ints((5, 4), 4))
    assert run.folds > 1
    pngs = render_frames(run, dpi=40)
    assert len(pngs) == run.cycles
    assert len({png_size(p) for p in pngs}) == 1
    assert len(set(pngs)) == run.cycles


def test_draw_frame_fills_a_given_axes(lecture_runs):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 5))
    ax = fig.add_subplot()
    assert draw_frame(lecture_runs["is"], 2, ax=ax) is fig
    assert artist(fig, "caption").get_text().startswith("cycle 2 of 6")


def test_compact_view_colours_activity_for_large_arrays():
    run = SystolicArray(16, 16).matmul(small_ints((16, 16), 5), small_ints((16, 16), 6))
    renderer = FrameRenderer(run, dpi=50)
    assert renderer.layout.compact
    frame = renderer.draw(36)
    pixels = renderer.view.pes.get_array()  # three pixel rows per PE: its shadow register, then its state (twice)
    assert pixels.shape[:2] == (3 * 16, 16)
    amber = np.all(np.isclose(pixels, to_rgba(ACTIVE_FACE)[:3]), axis=-1)
    red = np.all(np.isclose(pixels, to_rgba(CONTROL)[:3]), axis=-1)
    np.testing.assert_array_equal(amber[1::3], frame.active & ~frame.control)
    np.testing.assert_array_equal(red[2::3], frame.control)
    assert frame.control.any() and frame.valid["shadow"].any()
    idle = np.all(np.isclose(pixels[::3], to_rgba(IDLE_FACE)[:3]), axis=-1)
    np.testing.assert_array_equal(~idle, frame.valid["shadow"])
    assert not renderer.figure.findobj(lambda a: str(a.get_gid()).startswith("pe-"))
    png_size(renderer.png())


def test_arrays_too_large_to_draw_point_to_the_statistics():
    run = SystolicArray(33, 33).matmul(np.ones((2, 33)), np.ones((33, 33)))
    with pytest.raises(ValueError, match=r"too large to draw.*run\.summary\(\)"):
        draw_frame(run, 0)


def test_a_run_without_frames_says_how_to_keep_them():
    run = SystolicArray(2, 2).matmul(np.ones((2, 2)), np.ones((2, 2)), keep_frames=False)
    for call in (lambda: draw_frame(run, 0), lambda: SystolicPlayer(run), lambda: frame_png(run, 0),
                 lambda: frame_strip(run), lambda: animation_html(run)):
        with pytest.raises(ValueError, match="keep_frames=True"):
            call()


def test_cycles_outside_the_run_name_the_range(lecture_runs):
    run = lecture_runs["ws"]
    with pytest.raises(ValueError, match=r"t = 6 is outside this run: choose t in 0 … 5"):
        draw_frame(run, 6)
    with pytest.raises(ValueError, match="outside"):
        frame_png(run, -1)
    with pytest.raises(TypeError, match="whole number"):
        draw_frame(run, 1.5)


# --------------------------------------------------------------------------- the player


def test_moving_the_slider_changes_the_image_and_the_caption(player):
    before = (player.image.value, player.caption.value)
    assert player.caption.value.startswith(f"cycle 0 of {player.run.cycles}")
    player.slider.value = 3
    assert player.cycle == 3 and player.state.cycle == 3
    assert player.image.value != before[0] and player.caption.value != before[1]
    assert player.caption.value.startswith(f"cycle 3 of {player.run.cycles}")
    assert player.image.value == frame_png(player.run, 3)
    png_size(player.image.value)


def test_slider_and_play_span_every_cycle_and_stay_linked(player):
    last = player.run.cycles - 1
    assert player.slider.min == player.play.min == 0
    assert player.slider.max == player.play.max == last
    player.play.value = 5
    assert player.slider.value == 5 and player.caption.value.startswith("cycle 5 ")
    player.slider.value = 2
    assert player.play.value == 2


def test_step_buttons_move_one_cycle_and_stop_at_the_ends(player):
    player.step_forward.click()
    assert player.cycle == 1
    player.step_back.click()
    player.step_back.click()
    assert player.cycle == 0
    player.cycle = player.run.cycles - 1
    player.step_forward.click()
    assert player.cycle == player.run.cycles - 1
    assert player.caption.value.startswith(f"cycle {player.run.cycles - 1} ")


def test_the_speed_control_sets_plays_interval(player):
    assert player.play.interval == 250
    player.speed.value = 10
    assert player.play.interval == 100 and player.state.fps == 10
    player.fps = 0.5
    assert player.speed.value == 0.5 and player.play.interval == 2000


def test_play_state_follows_the_play_widget(player):
    name = "playing" if player.play.has_trait("playing") else "_playing"
    setattr(player.play, name, True)
    assert player.playing and player.state.playing
    setattr(player.play, name, False)
    assert not player.state.playing and not player.playing


def test_player_state_is_the_one_truth(player):
    """Whatever moves the player (code, a widget), the state says where it is and the widgets show it."""
    name = "playing" if player.play.has_trait("playing") else "_playing"
    player.playing = True
    assert player.state.playing and getattr(player.play, name) is True
    player.playing = False
    assert not player.state.playing and getattr(player.play, name) is False
    player.step_forward.click()
    assert player.state.cycle == player.cycle == player.slider.value == player.play.value == 1
    player.play.value = 4  # the Play widget ticking, as the front end does while playing
    assert player.state.cycle == 4 and player.caption.value == caption(player.run, player.run.frame(4))
    player.speed.value = 5
    assert player.state.fps == player.fps == 5 and player.play.interval == player.state.interval_ms == 200
    assert not hasattr(PlayerState, "widget")  # the state knows nothing of widgets


def test_player_widgets_carry_css_classes_for_browser_tests(player):
    expected = {"tl-player": player, "tl-play": player.play, "tl-step-back": player.step_back,
                "tl-step-forward": player.step_forward, "tl-slider": player.slider, "tl-speed": player.speed,
                "tl-frame": player.image, "tl-caption": player.caption}
    for css, widget in expected.items():
        assert css in widget._dom_classes


def test_player_bad_input(player):
    with pytest.raises(ValueError, match="outside this run"):
        player.cycle = player.run.cycles
    with pytest.raises(ValueError, match="frames per second"):
        player.fps = 0
    assert "4x4" in repr(player) and "cycles" in repr(player)


def test_player_state_without_widgets():
    state = PlayerState(cycles=5, fps=4)
    assert state.interval_ms == 250
    assert state.step(10) == 4 and state.step(-10) == 0
    with pytest.raises(ValueError, match=r"0 … 4"):
        state.go_to(5)
    assert state.set_playing(1) is True and state.playing is True
    with pytest.raises(ValueError, match=r"fps \(frames per second\) must be in \[0.5, 20\], got 30"):
        PlayerState(cycles=5, fps=30)
    with pytest.raises(ValueError, match="cycle t = 7 is outside"):
        PlayerState(cycles=5, cycle=7)
    with pytest.raises(ValueError, match="cycles must be at least 1"):
        PlayerState(cycles=0)


@pytest.mark.parametrize("flow, shape", [("ws", (5, 6)), ("is", (5, 3)), ("os", (3, 6))])
def test_animate_sizes_the_array_after_the_operand_it_holds(flow, shape):
    player = animate(small_ints((3, 5), 7), small_ints((5, 6), 8), dataflow=flow)
    assert (player.run.rows, player.run.cols) == shape
    np.testing.assert_array_equal(player.run.result, small_ints((3, 5), 7) @ small_ints((5, 6), 8))
    square = animate(*lecture_example(), rows=2).run
    assert (square.rows, square.cols) == (2, 2)
    with pytest.raises(TypeError, match="rows must be a whole number, got '4'"):
        animate(*lecture_example(), rows="4")
    with pytest.raises(ValueError, match="unknown dataflow 'diagonal'"):
        animate(*lecture_example(), dataflow="diagonal")


# --------------------------------------------------------------------------- the layout and the words


def test_the_layout_is_one_object_the_views_share(numeric_run):
    renderer = FrameRenderer(numeric_run)
    layout = renderer.layout
    assert renderer.view.layout is layout and isinstance(layout, Layout)
    assert layout == Layout.of(numeric_run)  # a pure function of the run
    assert not layout.compact and layout.output_text and layout.top_depth == 4  # the next tile waits on top
    assert layout.queue_depth == 4 + 2  # the staircase of 4 rows is 7 deep: R + 2 slots are drawn, then "…"
    assert layout.fig_size == tuple(renderer.figure.get_size_inches())
    assert layout.left == EDGE + layout.queue_depth * layout.slot + 0.3
    assert layout.pt == layout.scale * 72 and layout.label_pt == 10.0
    assert 4.0 <= layout.font(0.22, 20, 0.5) < layout.font(0.22, 1, 0.5)
    assert layout.value_scale["weight"] == np.abs(small_ints((4, 4), 2)).max()


def test_a_layout_zoomed_into_an_axes_keeps_its_proportions(numeric_run):
    own = Layout.of(numeric_run)
    half = Layout.of(numeric_run, (own.fig_size[0] / 2, own.fig_size[1] / 2))
    assert half.zoom == pytest.approx(0.5) and half.scale == pytest.approx(own.scale / 2)
    assert half.label_pt == pytest.approx(5.0) and half.out_y == own.out_y


def test_output_stationary_layout_makes_room_on_top(lecture_runs):
    layout = Layout.of(lecture_runs["os"])
    assert layout.top_depth >= 1 and layout.top > EDGE
    assert layout.value_scale["psum"] is None  # symbols: colour shows presence only


def test_the_story_of_each_cycle(lecture_runs):
    ws = lecture_runs["ws"]
    assert cycle_story(ws, 3) == ["control signal: PE(0,1) stores F, PE(1,0) stores G", "PE(0,0): C × E + 0 = C·E",
                                  "PE(0,1): A × F + 0 = A·F", "PE(1,0): B × G + A·E = A·E + B·G",
                                  "   ↓ leaves the array: Y[0,0] = A·E + B·G"]
    story = run_story(ws).splitlines()
    assert story[:2] == ["cycle 0 │ ↓ weights shift in: row 0 ← G H",
                         "cycle 1 │ ↓ weights shift in: row 0 ← E F, row 1 ← G H"]
    assert story[2] == "cycle 2 │ control signal: PE(0,0) stores E" and story[3] == "        │ PE(0,0): A × E + 0 = A·E"
    os_story = cycle_story(lecture_runs["os"], 1)  # output-stationary adds to the sum the PE keeps
    assert "PE(0,0): B × G + A·E = A·E + B·G" in os_story
    # While the sums drain no PE multiplies; the bottom row leaves first.
    assert cycle_story(lecture_runs["os"], 4) == ["   ↓ leaves the array: Y[1,0] = C·E + D·G",
                                                  "   ↓ leaves the array: Y[1,1] = C·F + D·H"]


def test_the_caption_says_fold_and_drain():
    run = SystolicArray(2, 2, "os").matmul(small_ints((3, 2), 1), small_ints((2, 2), 2))
    last = run.frame(run.cycles - 1)
    assert caption(run, last).endswith(f"fold {run.folds} of {run.folds} · draining results")


# --------------------------------------------------------------------------- export


@pytest.mark.parametrize("flow", DATAFLOWS)
def test_a_frame_strip_shows_every_cycle_with_one_title_and_legend(lecture_runs, flow):
    run = lecture_runs[flow]
    fig = frame_strip(run)
    assert len(fig.axes) == run.cycles
    captions = sorted(t.get_text() for t in fig.findobj(lambda a: a.get_gid() == "caption"))
    assert captions == sorted(caption(run, run.frame(t)) for t in range(run.cycles))
    assert not fig.findobj(lambda a: a.get_gid() == "title") and all(ax.get_legend() is None for ax in fig.axes)
    assert fig.get_suptitle().endswith("systolic array · A 2×2 @ W 2×2") and len(fig.legends) == 1
    width, height = Layout.of(run).fig_size
    per_row = min(4, run.cycles)
    assert tuple(fig.get_size_inches()) == pytest.approx((width * per_row, height * -(-run.cycles // 4) + 1.0))
    png_size(fig._repr_png_())


def test_a_frame_strip_of_chosen_cycles(lecture_runs):
    run = lecture_runs["ws"]
    fig = frame_strip(run, cycles=[3, 1], per_row=1)
    assert len(fig.axes) == 2
    assert [t.get_text()[:10] for t in fig.findobj(lambda a: a.get_gid() == "caption")] == ["cycle 3 of", "cycle 1 of"]
    with pytest.raises(ValueError, match="outside this run"):
        frame_strip(run, cycles=[6])
    with pytest.raises(ValueError, match="cycles is empty"):
        frame_strip(run, cycles=[])
    with pytest.raises(ValueError, match="per_row must be at least 1"):
        frame_strip(run, per_row=0)



def test_gif_has_one_frame_per_cycle(numeric_run, tmp_path):
    path = save_animation(numeric_run, tmp_path / "array.gif", fps=5, dpi=40)
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames == numeric_run.cycles
        assert gif.info["duration"] == 200


def test_html_export_embeds_every_frame(lecture_runs, tmp_path):
    run = lecture_runs["os"]
    html = animation_html(run, fps=3, dpi=30)
    assert html.count("data:image/png;base64") == run.cycles
    path = save_animation(run, tmp_path / "array.html", dpi=30)
    assert path.read_text(encoding="utf-8").count("data:image/png;base64") == run.cycles


def test_html_export_needs_nothing_from_the_network(lecture_runs):
    html = animation_html(lecture_runs["ws"], dpi=30)
    assert "http://" not in html and "https://" not in html
    assert 'class="fa' not in html and "▶" in html and "❚❚" in html


def test_export_bad_paths(lecture_runs, tmp_path, monkeypatch):
    run = lecture_runs["ws"]
    with pytest.raises(ValueError, match=r"\.gif, \.mp4 or \.html"):
        save_animation(run, tmp_path / "array.png")
    with pytest.raises(OSError, match="does not exist; create it first"):
        save_animation(run, tmp_path / "missing" / "array.gif")
    (tmp_path / "folder.gif").mkdir()
    with pytest.raises(OSError, match="it is a folder"):
        save_animation(run, tmp_path / "folder.gif")
    from matplotlib import animation

    monkeypatch.setattr(animation.writers, "is_available", lambda name: False)
    with pytest.raises(OSError, match="needs ffmpeg"):
        save_animation(run, tmp_path / "array.mp4")


def test_symbolic_example_beyond_two_by_two():
    A, W = symbolic_example(2, 3, 2)
    run = SystolicArray(3, 2).matmul(A, W)
    assert format_value(run.result[0, 0]) == "a11·w11 + a12·w21 + a13·w31"


def test_the_bits_of_a_number_one_box_per_bit():
    from tpu_lecture import precision
    from tpu_lecture.viz.bits import bits_figure
    from tpu_lecture.viz.style import BIT_FIELDS

    fig = bits_figure(0.1)
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    for fmt in ("float32", "bfloat16", "float16"):
        fields = precision.bit_fields(0.1, fmt)
        assert fmt in texts and f"= {fields.stored:.12g}" in texts
    bits = [t for t in ax.texts if t.get_text() in "01" and t.get_text()]
    assert len(bits) == 32 + 16 + 16 and len(ax.patches) == 64
    sign_edge = to_rgba(BIT_FIELDS["sign"][0])
    assert [tuple(p.get_edgecolor()) for p in ax.patches][:1] == [sign_edge]
    assert ax.get_title() == "0.1 stored in float32, bfloat16 and float16"
    assert "bfloat16 keeps these 16 bits of float32" in texts
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["sign", "exponent", "mantissa"]
    one = bits_figure(1.0, formats=("float16",))
    assert one.axes[0].get_title() == "1.0 stored in float16" and "bfloat16 keeps" not in str(one.axes[0].texts)
    png_size(fig._repr_png_())
    with pytest.raises(ValueError, match="formats is empty"):
        bits_figure(1.0, formats=())
    with pytest.raises(ValueError, match="unknown format"):
        bits_figure(1.0, formats=("float8",))


def test_the_style_names_every_colour_the_notebooks_use():
    from tpu_lecture.viz import style

    for name in ("MEASURED", "MEASURED_EDGE", "LOADING", "GRID", "MUTED", "PURPLE", "TEAL"):
        assert re.fullmatch(r"#[0-9a-f]{6}", getattr(style, name))
    assert len(style.FOLD_FILLS) == 2 and set(style.BIT_FIELDS) == {"sign", "exponent", "mantissa"}


# --------------------------------------------------------------------------- the command line


def test_cli_writes_the_lecture_gif(tmp_path, capsys):
    out = tmp_path / "systolic.gif"
    assert main(["animate", "--m", "2", "--k", "2", "--n", "2", "--array", "2x2", "--symbolic", "--out", str(out)]) == 0
    assert "6 frames" in capsys.readouterr().out  # 2 cycles of loading E F / G H, then 3n − 2 = 4
    with Image.open(out) as gif:
        assert gif.n_frames == 6


@pytest.mark.parametrize("argv, message", [
    (["--array", "64x64", "--out", "{tmp}/a.gif"], "too large to draw"),
    (["--out", "{tmp}/no/such/folder/a.gif"], "does not exist"),
    (["--out", "{tmp}/a.bmp"], r"end the file name in \.gif"),
])
def test_cli_errors_are_one_line_and_status_2(argv, message, tmp_path, capsys):
    assert main(["animate", *(a.replace("{tmp}", str(tmp_path)) for a in argv)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and re.search(message, err)


def test_cli_error_in_a_real_process(tmp_path):
    done = subprocess.run([sys.executable, "-m", "tpu_lecture", "animate", "--array", "40x40", "--out",
                           str(tmp_path / "a.gif")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "too large to draw" in done.stderr and "Traceback" not in done.stderr


def test_importing_the_visualizer_leaves_tensorflow_out():
    code = ("import sys, tpu_lecture; assert 'matplotlib' not in sys.modules; import tpu_lecture.viz.export; "
            "print(sorted(m for m in ('tensorflow', 'jax', 'keras') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# --------------------------------------------------------------------------- nothing saved is lost (issue 15)


def interrupt_after(monkeypatch, frames: int, fault=KeyboardInterrupt):
    """Make drawing raise ``fault`` after ``frames`` frames, as Ctrl-C or a failure halfway through an export would."""
    draw = FrameRenderer.draw
    drawn = []

    def failing(self, t):
        drawn.append(t)
        if len(drawn) > frames:
            raise fault("stopped halfway")
        return draw(self, t)

    monkeypatch.setattr(FrameRenderer, "draw", failing)
    return drawn


@pytest.mark.parametrize("suffix", [".gif", ".html"])
@pytest.mark.parametrize("fault", [KeyboardInterrupt, RuntimeError])
def test_an_interrupted_export_leaves_the_saved_file_as_it_was(lecture_runs, tmp_path, monkeypatch, suffix, fault):
    """Issue 15, finding 3: the frames go to a temporary file that replaces the old one only once complete."""
    out = tmp_path / f"lecture{suffix}"
    out.write_bytes(b"the slides' animation, saved last week")
    interrupt_after(monkeypatch, 3, fault)
    with pytest.raises(fault):
        save_animation(lecture_runs["ws"], out, dpi=30)
    assert out.read_bytes() == b"the slides' animation, saved last week"
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no partial file left behind
    monkeypatch.undo()
    save_animation(lecture_runs["ws"], out, dpi=30)
    assert out.read_bytes() != b"the slides' animation, saved last week" and [p.name for p in tmp_path.iterdir()] == [
        out.name]
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # an ordinary file, not a temporary file's 0600


def test_an_interrupted_animate_command_keeps_the_out_file(tmp_path, capsys, monkeypatch):
    out = tmp_path / "systolic.gif"
    out.write_bytes(b"GIF89a kept")
    interrupt_after(monkeypatch, 2)
    assert main(["animate", "--symbolic", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: interrupted") and "Traceback" not in err
    assert out.read_bytes() == b"GIF89a kept" and [p.name for p in tmp_path.iterdir()] == ["systolic.gif"]


def test_the_player_refuses_runs_too_long_to_watch_before_stepping_them():
    with pytest.raises(ValueError, match=r"at most 1,000.*animate a smaller product"):
        animate(np.ones((5000, 2), int), np.ones((2, 2), int))
    with pytest.raises(ValueError, match="output-stationary loads nothing"):
        animate(*lecture_example(), dataflow="os", load="serial")
    assert animate(*lecture_example(), load="serial").run.loading.name == "serial"


def test_the_html_animations_slider_has_a_name_for_screen_readers():
    """axe-core's 'label' rule: the frame slider of an HTML animation is named (issue 22, the handout's audit)."""
    run = SystolicArray(2, 2).matmul(*lecture_example(), keep_frames=True)
    sliders = re.findall(r"<input\b[^>]*\banim-slider\b[^>]*>", animation_html(run))
    assert sliders and all('aria-label="' in s for s in sliders), sliders
