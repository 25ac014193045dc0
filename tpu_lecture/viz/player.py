"""The step-through player: Play / Pause, step back / forward, a cycle slider and a speed control.

Built only from core ipywidgets that exist in both 7.7.1 (Colab) and 8.x (JupyterLab 4), kept in
sync on the kernel side with ``widgets.link`` (``jslink`` is unreliable in Colab). The frame is an
``Image`` widget whose value is PNG bytes from the Agg renderer, so it is replaced in place and
no figures pile up. The state (which cycle, playing or not, how fast) lives in a small
:class:`PlayerState`; the widgets only show it and change it.
"""

from __future__ import annotations

import numbers
from collections import OrderedDict
from dataclasses import dataclass

import ipywidgets as widgets

from tpu_lecture.viz.renderer import FrameRenderer, caption, check_frames

_CACHED_FRAMES = 256  # PNGs kept per player, so stepping back and replaying cost nothing
MIN_FPS, MAX_FPS = 0.5, 20  # the speed control's range, in frames per second


@dataclass
class PlayerState:
    """Where a player is: the cycle shown (0 … cycles − 1), whether it plays, its frames per second."""

    cycles: int
    cycle: int = 0
    playing: bool = False
    fps: float = 2.0

    @property
    def last(self) -> int:
        return self.cycles - 1

    @property
    def interval_ms(self) -> int:
        """Milliseconds between frames while playing."""
        return max(1, round(1000 / self.fps))

    def go_to(self, t: int) -> int:
        """Show cycle ``t``; a cycle outside the run is an error that names the valid range."""
        self.cycle = check_cycle(t, self.cycles)
        return self.cycle

    def step(self, by: int) -> int:
        """Move ``by`` cycles (negative: back), stopping at the first and the last cycle."""
        self.cycle = min(max(self.cycle + by, 0), self.last)
        return self.cycle

    def set_fps(self, fps: float) -> float:
        if isinstance(fps, bool) or not isinstance(fps, numbers.Real) or not MIN_FPS <= fps <= MAX_FPS:
            raise ValueError(f"fps = {fps!r}: frames per second must be a number from {MIN_FPS} to {MAX_FPS}")
        self.fps = float(fps)
        return self.fps


def check_cycle(t, cycles: int) -> int:
    """``t`` as an int if it is a cycle of a run with ``cycles`` cycles; TypeError / ValueError otherwise."""
    if isinstance(t, bool) or not isinstance(t, numbers.Integral):
        raise TypeError(f"cycle t must be a whole number, got {t!r}")
    if not 0 <= t < cycles:
        raise ValueError(f"cycle t = {t} is outside this run: choose t in 0 … {cycles - 1} "
                         f"(the run takes {cycles} cycles, counted from 0)")
    return int(t)


class SystolicPlayer(widgets.VBox):
    """Step through a run's cycles in a notebook: the frame, a caption and the controls.

    >>> player = SystolicPlayer(SystolicArray(4, 4).matmul(A, W))
    >>> player            # shows it; Play, step, drag the slider, change the speed
    >>> player.cycle = 5  # or move it from code; player.image.value holds the PNG shown

    CSS classes for tests in a browser: ``tl-player``, ``tl-frame`` (the image), ``tl-caption``,
    ``tl-play``, ``tl-step-back``, ``tl-step-forward``, ``tl-slider``, ``tl-speed``.
    """

    def __init__(self, run, fps: float = 2.0, cycle: int = 0, dpi: int = 100):
        check_frames(run)
        state = PlayerState(run.cycles)
        state.set_fps(fps)
        state.go_to(cycle)
        renderer = FrameRenderer(run, dpi=dpi)
        last = state.last
        play = widgets.Play(value=state.cycle, min=0, max=last, step=1, interval=state.interval_ms)
        slider = widgets.IntSlider(value=state.cycle, min=0, max=last, step=1, description="cycle",
                                   continuous_update=True, layout=widgets.Layout(width="340px"))
        back = widgets.Button(description="◀ step", tooltip="one cycle back", layout=widgets.Layout(width="80px"))
        forward = widgets.Button(description="step ▶", tooltip="one cycle forward",
                                 layout=widgets.Layout(width="80px"))
        speed = widgets.FloatSlider(value=state.fps, min=MIN_FPS, max=MAX_FPS, step=0.5, description="frames/s",
                                    readout_format=".1f", continuous_update=False,
                                    layout=widgets.Layout(width="280px"))
        image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%", height="auto"))
        label = widgets.Label()
        controls = widgets.HBox([play, back, forward, slider, speed], layout=widgets.Layout(flex_flow="row wrap"))
        super().__init__(children=[image, label, controls])
        self.run, self.state, self.renderer = run, state, renderer
        self.play, self.slider, self.speed = play, slider, speed
        self.step_back, self.step_forward = back, forward
        self.image, self.caption = image, label
        self._pngs: OrderedDict[int, bytes] = OrderedDict()
        self._link = widgets.link((play, "value"), (slider, "value"))
        slider.observe(self._on_cycle, names="value")
        speed.observe(self._on_speed, names="value")
        self._playing_trait = "playing" if play.has_trait("playing") else "_playing"  # ipywidgets 8 / 7
        play.observe(self._on_playing, names=self._playing_trait)
        back.on_click(lambda _: self.step(-1))
        forward.on_click(lambda _: self.step(1))
        for widget, css in ((self, "tl-player"), (play, "tl-play"), (back, "tl-step-back"),
                            (forward, "tl-step-forward"), (slider, "tl-slider"), (speed, "tl-speed"),
                            (image, "tl-frame"), (label, "tl-caption")):
            widget.add_class(css)
        self.show(state.cycle)

    def __repr__(self) -> str:
        return (f"SystolicPlayer({self.run.dataflow.replace('_', '-')} {self.run.rows}x{self.run.cols}, "
                f"{self.run.cycles} cycles, showing cycle {self.state.cycle})")

    @property
    def cycle(self) -> int:
        """The cycle shown; setting it moves the slider (and Play) and redraws."""
        return self.state.cycle

    @cycle.setter
    def cycle(self, t: int) -> None:
        t = check_cycle(t, self.run.cycles)
        if t == self.slider.value:
            self.show(t)
        self.slider.value = t

    @property
    def fps(self) -> float:
        """Frames per second while playing; setting it moves the speed control."""
        return self.state.fps

    @fps.setter
    def fps(self, fps: float) -> None:
        self.speed.value = self.state.set_fps(fps)
        self.play.interval = self.state.interval_ms

    @property
    def playing(self) -> bool:
        return bool(getattr(self.play, self._playing_trait))

    def step(self, by: int = 1) -> int:
        """Move ``by`` cycles forward (negative: back), stopping at the ends; returns the new cycle."""
        self.cycle = self.state.step(by)
        return self.cycle

    def show(self, t: int) -> None:
        """Put cycle ``t``'s frame and caption into the widgets."""
        self.state.go_to(t)
        if t in self._pngs:
            self._pngs.move_to_end(t)
        else:
            self._pngs[t] = self.renderer.png(t)
            if len(self._pngs) > _CACHED_FRAMES:
                self._pngs.popitem(last=False)
        png = self._pngs[t]
        self.image.value = png
        self.caption.value = caption(self.run, self.run.frame(t))

    def _on_cycle(self, change) -> None:
        self.show(change["new"])

    def _on_speed(self, change) -> None:
        self.state.set_fps(change["new"])
        self.play.interval = self.state.interval_ms

    def _on_playing(self, change) -> None:
        self.state.playing = bool(change["new"])
