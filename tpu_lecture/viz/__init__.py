"""Watching the systolic array work: the lecture's style, a frame drawn with matplotlib, the step-through
player and GIF / MP4 / HTML export. Reads a run's frames; never steps the simulator itself."""

from tpu_lecture import lazy_modules

__getattr__ = lazy_modules(__name__, {'style', 'renderer', 'views', 'textcache', 'player', 'export'})
