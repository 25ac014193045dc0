"""Keeping the frameworks' start-up noise out of the lecture: TensorFlow's C++ runtime and absl write log
lines ("oneDNN custom operations are on", "failed call to cuInit", …) straight to file descriptor 2 when
TensorFlow is imported or first lists its devices, before Python's logging or ``TF_CPP_MIN_LOG_LEVEL`` can
stop them. They say nothing a student needs; a real error still raises a Python exception.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator

# One line of absl / TensorFlow C++ logging ("I0000 00:00:1795674186.818040   15311 port.cc:153] …"), the
# second line of TensorFlow's CPU-instructions notice, absl's notice that such lines go to stderr, and
# JAX's notice that it fell back to the CPU.
FRAMEWORK_LOG_LINE = re.compile(
    r"^(?:WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [\w.\-]+:\d+\] .*"
    r"|To enable the following instructions: .*rebuild TensorFlow with the appropriate compiler flags\."
    r"|WARNING:jax\._src\.xla_bridge:.*)$"
)


def is_framework_noise(line: str) -> bool:
    """True for a line the frameworks log on their own at start-up (see ``FRAMEWORK_LOG_LINE``)."""
    return bool(FRAMEWORK_LOG_LINE.match(line.rstrip("\n")))


def without_noise(text: str) -> str:
    """``text`` with the frameworks' start-up log lines taken out, every other line kept."""
    return "".join(line for line in text.splitlines(keepends=True) if not is_framework_noise(line))


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Catch what is written to file descriptor 2 inside the block and pass on all but the noise.

    Python's ``sys.stderr`` is flushed first so nothing of its own is reordered; whatever the C++ side
    wrote that is not framework noise is written back to ``sys.stderr`` when the block ends.
    """
    fd = 2  # where C++ writes, whatever sys.stderr is (in Jupyter a pipe the kernel forwards)
    try:
        os.fstat(fd)
    except OSError:  # no descriptor 2 at all: nothing to redirect
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile(mode="w+b") as caught:
        os.dup2(caught.fileno(), fd)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, fd)
            os.close(saved)
            caught.seek(0)
            kept = without_noise(caught.read().decode("utf-8", errors="replace"))
            if kept:
                sys.stderr.write(kept)
