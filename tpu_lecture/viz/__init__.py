"""Watching the systolic array work: the lecture's style, the words for a run, the layout of a frame, a frame
drawn with matplotlib (renderer and views), the step-through player, GIF / MP4 / HTML / strip export, and the
bits of a number. Reads a run's frames; never steps the simulator itself."""

from tpu_lecture import lazy_modules

__getattr__ = lazy_modules(
    __name__, {"style", "text", "layout", "renderer", "views", "textcache", "player", "export", "bits"}
)
