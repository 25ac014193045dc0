"""Keeping the frameworks' start-up noise out of the lecture: TensorFlow's C++ runtime and absl write log
lines ("oneDNN custom operations are on", "failed call to cuInit", …) straight to file descriptor 2 when
TensorFlow is imported or first lists its devices, before Python's logging or ``TF_CPP_MIN_LOG_LEVEL`` can
stop them. They say nothing a student needs; a real error still raises a Python exception.
"""

from __future__ import annotations

import atexit
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


class _Filter:
    """File descriptor 2 replaced by a pipe whose lines a thread passes on to the old descriptor, noise dropped."""

    def __init__(self) -> None:
        import threading

        self.target = os.dup(2)
        read, write = os.pipe()
        os.dup2(write, 2)
        os.close(write)
        self.thread = threading.Thread(target=self._pump, args=(read,), name="framework-log-filter", daemon=True)
        self.thread.start()
        atexit.register(self.close)

    def close(self) -> None:
        """Put the old descriptor 2 back and let the thread pass on what is left (at exit: nothing is lost)."""
        sys.stderr.flush()
        os.dup2(self.target, 2)
        self.thread.join(timeout=2)

    def _pump(self, read: int) -> None:
        with os.fdopen(read, "rb", buffering=0) as pipe:
            pending = b""
            while chunk := pipe.read(65536):
                *lines, pending = (pending + chunk).split(b"\n")
                self._write(b"".join(line + b"\n" for line in lines))
            self._write(pending)

    def _write(self, data: bytes) -> None:
        kept = without_noise(data.decode("utf-8", errors="replace")).encode("utf-8")
        while kept:
            kept = kept[os.write(self.target, kept):]


_installed: _Filter | None = None


def keep_framework_logs_out() -> bool:
    """From now on in this process, drop the frameworks' C++ log lines wherever they are written to descriptor 2.

    TensorFlow and XLA log not only on import but on a first device list ("failed call to cuInit") and a first
    compile ("Compiled cluster using XLA!"), from C++, where no Python setting reaches once TensorFlow is loaded.
    The notebooks' setup cell calls this first, so no cell shows them; every other line still reaches stderr.
    True where the filter is in place (it is installed once; a process without descriptor 2 gets none).
    """
    global _installed
    if _installed is None:
        try:
            os.fstat(2)
        except OSError:
            return False
        sys.stderr.flush()
        _installed = _Filter()
    return True
