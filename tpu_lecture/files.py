"""Files the package writes: each one appears whole or not at all, so nothing a user keeps is left half written."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replaced_when_done(path: Path) -> Iterator[Path]:
    """A new file beside ``path`` (same suffix, the user's umask) that replaces ``path`` only if the block succeeds;
    on any failure, an interrupt included, it is removed and ``path`` is left as it was."""
    path = Path(path)
    partial = path.with_name(f".{path.stem}.partial-{secrets.token_hex(4)}{path.suffix}")
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield partial
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def write_atomically(path: Path, content: str | bytes) -> Path:
    """Write ``content`` (text as UTF-8) beside ``path`` under a temporary name, then rename it into place."""
    with replaced_when_done(path) as partial:
        if isinstance(content, str):
            partial.write_text(content, encoding="utf-8")
        else:
            partial.write_bytes(content)
    return Path(path)
