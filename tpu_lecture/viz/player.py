"""The step-through player: Play / Pause, step back / forward, a cycle slider and a speed control.

Built only from core ipywidgets that exist in both 7.7.1 (Colab) and 8.x (JupyterLab 4), kept in
sync on the kernel side with ``widgets.link`` (``jslink`` is unreliable in Colab). The frame is an
``Image`` widget whose value is PNG bytes from the Agg renderer, so it is replaced in place and
no figures pile up. The state (which cycle, playing or not, how fast) lives in a small
:class:`PlayerState`; the widgets only show it and change it.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import ipywidgets as widgets

from tpu_lecture.checks import number, whole_number
from tpu_lecture.sim.array import check_cycle
from tpu_lecture.viz.renderer import FrameRenderer
from tpu_lecture.viz.text import caption

_CACHED_FRAMES = 256  # PNGs kept per player, so stepping back and replaying cost nothing
MIN_FPS, MAX_FPS = 0.5, 20  # the speed control's range, in frames per second


@dataclass
class PlayerState:
    """Where a player is: the cycle shown (0 … cycles − 1), whether it plays, its frames per second.

    The one source of truth of a :class:`SystolicPlayer`: its widgets only show this state, and
    what a student does with them (drag, click Play) is written here first.
    """

    cycles: int
    cycle: int = 0
    playing: bool = False
    fps: float = 2.0

    def __post_init__(self) -> None:
        self.cycles = whole_number("cycles", self.cycles)
        self.go_to(self.cycle)
        self.set_fps(self.fps)
        self.set_playing(self.playing)

    @property
    def last(self) -> int:
        """The last cycle, cycles − 1."""
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
        self.cycle = min(max(self.cycle + whole_number("step", by, minimum=None), 0), self.last)
        return self.cycle

    def set_fps(self, fps: float) -> float:
        """Frames per second while playing, from MIN_FPS to MAX_FPS."""
        self.fps = number("fps (frames per second)", fps, low=MIN_FPS, high=MAX_FPS)
        return self.fps

    def set_playing(self, playing: bool) -> bool:
        """Play (True) or pause (False)."""
        self.playing = bool(playing)
        return self.playing


def _playing_trait(play: widgets.Play) -> str:
    """The Play widget's trait that says it is playing: ``playing`` in ipywidgets 8, ``_playing`` in 7."""
    return "playing" if play.has_trait("playing") else "_playing"


class SystolicPlayer(widgets.VBox):
    """Step through a run's cycles in a notebook: the frame, a caption and the controls.

    >>> player = SystolicPlayer(SystolicArray(4, 4).matmul(A, W))
    >>> player            # shows it; Play, step, drag the slider, change the speed
    >>> player.cycle = 5  # or move it from code; player.image.value holds the PNG shown

    ``player.state`` (a :class:`PlayerState`) is the truth; the widgets follow it. CSS classes for
    tests in a browser: ``tl-player``, ``tl-frame`` (the image), ``tl-caption``, ``tl-play``,
    ``tl-step-back``, ``tl-step-forward``, ``tl-slider``, ``tl-speed``.
    """

    def __init__(self, run, fps: float = 2.0, cycle: int = 0, dpi: int = 100):
        run.check_frames()
        state = PlayerState(run.cycles, cycle=cycle, fps=fps)
        self.run, self.state, self.renderer = run, state, FrameRenderer(run, dpi=dpi)
        self._make_widgets(state)
        super().__init__(children=[self.image, self.caption, self.controls])
        self._pngs: OrderedDict[int, bytes] = OrderedDict()
        self._link = widgets.link((self.play, "value"), (self.slider, "value"))
        self._playing_name = _playing_trait(self.play)
        self.slider.observe(self._on_cycle, names="value")
        self.speed.observe(self._on_speed, names="value")
        self.play.observe(self._on_playing, names=self._playing_name)
        self.step_back.on_click(lambda _: self.step(-1))
        self.step_forward.on_click(lambda _: self.step(1))
        for widget, css in ((self, "tl-player"), (self.play, "tl-play"), (self.step_back, "tl-step-back"),
                            (self.step_forward, "tl-step-forward"), (self.slider, "tl-slider"),
                            (self.speed, "tl-speed"), (self.image, "tl-frame"), (self.caption, "tl-caption")):
            widget.add_class(css)
        self.show(state.cycle)

    def _make_widgets(self, state: PlayerState) -> None:
        """The core widgets of ipywidgets 7.7.1 and 8 alike, set from the state."""
        last, row = state.last, widgets.Layout
        self.play = widgets.Play(value=state.cycle, min=0, max=last, step=1, interval=state.interval_ms)
        self.slider = widgets.IntSlider(value=state.cycle, min=0, max=last, step=1, description="cycle",
                                        continuous_update=True, layout=row(width="340px"))
        self.step_back = widgets.Button(description="◀ step", tooltip="one cycle back", layout=row(width="80px"))
        self.step_forward = widgets.Button(description="step ▶", tooltip="one cycle forward",
                                           layout=row(width="80px"))
        self.speed = widgets.FloatSlider(value=state.fps, min=MIN_FPS, max=MAX_FPS, step=0.5, description="frames/s",
                                         readout_format=".1f", continuous_update=False, layout=row(width="280px"))
        self.image = widgets.Image(format="png", layout=row(max_width="100%", height="auto"))
        self.caption = widgets.Label()
        self.controls = widgets.HBox([self.play, self.step_back, self.step_forward, self.slider, self.speed],
                                     layout=row(flex_flow="row wrap"))

    def __repr__(self) -> str:
        return (f"SystolicPlayer({self.run.flow.label} {self.run.rows}x{self.run.cols}, "
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
        """Whether Play is playing; setting it starts or pauses Play."""
        return self.state.playing

    @playing.setter
    def playing(self, playing: bool) -> None:
        setattr(self.play, self._playing_name, self.state.set_playing(playing))

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
        self.image.value = self._pngs[t]
        self.caption.value = caption(self.run, self.run.frame(t))

    def _on_cycle(self, change) -> None:
        self.show(change["new"])

    def _on_speed(self, change) -> None:
        self.state.set_fps(change["new"])
        self.play.interval = self.state.interval_ms

    def _on_playing(self, change) -> None:
        self.state.set_playing(change["new"])
