"""Files the package writes: each one appears whole or not at all, so nothing a user keeps is left half written."""

from __future__ import annotations

import errno
import os
import secrets
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path


@contextmanager
def replaced_when_done(path: Path) -> Iterator[Path]:
    """A new file beside ``path`` (same suffix, the user's umask) that replaces ``path`` only if the block succeeds;
    on any failure, an interrupt included, it is removed and ``path`` is left as it was."""
    path = Path(path)
    partial = path.with_name(f".{path.stem}.partial-{secrets.token_hex(4)}{path.suffix}")
    try:  # made inside the try: an interrupt just after it was made still removes it
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
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


_FIXES = {
    errno.ENOENT: "its folder does not exist: create it (mkdir -p {parent}) or choose another path",
    errno.EISDIR: "it is a folder: give the path of a file (inside it, say {path}/results.jsonl)",
    errno.ENOTDIR: "a part of the path is a file, not a folder: choose another path",
    errno.EACCES: "no permission: choose a path you can write, or change its permissions",
    errno.EPERM: "no permission: choose a path you can write, or change its permissions",
    errno.EROFS: "the file system is read-only: choose a path on a writable disk",
    errno.ENOSPC: "the disk is full: free some space or choose another disk",
    errno.EDQUOT: "the disk quota is used up: free some space or choose another disk",
    errno.ENAMETOOLONG: "the name is too long: choose a shorter path",
}


def describe(error: OSError, path: str | os.PathLike | None = None, what: str = "cannot use") -> str:
    """One line for a file error: the path, what went wrong and what to do (never a bare ``[Errno …]``)."""
    where = path if path is not None else error.filename
    if where is None:
        return str(error)
    fix = _FIXES.get(error.errno, "check the path and try again")
    reason = error.strerror or str(error)
    return f"{what} {os.fspath(where)}: {reason.lower()}; " + fix.format(path=os.fspath(where),
                                                                            parent=Path(where).parent)


def check_writable_file(path: str | os.PathLike) -> Path:
    """Raise an OSError saying why a file cannot be written at ``path`` (and what to do); create nothing.

    Used before long work (a benchmark sweep) so that it fails at once, and leaves no empty file behind."""
    path = Path(path)
    if path.is_dir():
        raise OSError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    target = path if path.exists() else path.parent
    if not target.exists():
        raise OSError(errno.ENOENT, "no such folder", str(path))
    if not target.is_dir() and target == path.parent:
        raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path))
    if not os.access(target, os.W_OK):
        raise OSError(errno.EACCES, os.strerror(errno.EACCES), str(path))
    return path


def explained(error: OSError, path: str | os.PathLike | None = None, what: str = "cannot use") -> OSError:
    """The same error (its errno kept) whose message is ``describe``'s one line."""
    plain = OSError(describe(error, path, what))
    plain.errno = error.errno
    return plain


def write_all_atomically(contents: dict[Path, str | bytes]) -> list[Path]:
    """Write several files as one step: each to a temporary name beside it first, then all renamed into place
    with SIGINT and SIGTERM held back, so that an interrupt leaves every file as it was or all of them new."""
    staged: list[tuple[Path, Path]] = []
    try:
        for path, content in contents.items():
            path = Path(path)
            partial = path.with_name(f".{path.stem}.partial-{secrets.token_hex(4)}{path.suffix}")
            staged.append((partial, path))
            data = content.encode("utf-8") if isinstance(content, str) else content
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        with _signals_held():
            for partial, path in staged:
                os.replace(partial, path)
    except BaseException:
        for partial, _ in staged:
            partial.unlink(missing_ok=True)
        raise
    return [path for _, path in staged]


@contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM wait (they arrive when the block ends) where the platform can hold them back."""
    held = {signal.SIGINT, signal.SIGTERM}
    can_hold = hasattr(signal, "pthread_sigmask") and threading.current_thread() is threading.main_thread()
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held) if can_hold else None
    try:
        yield
    finally:
        if can_hold:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def new_folders(folder: Path) -> list[Path]:
    """The folders ``folder.mkdir(parents=True)`` would make, outermost first (none if it exists)."""
    missing = []
    for candidate in [Path(folder), *Path(folder).parents]:
        if candidate.exists():
            break
        missing.append(candidate)
    return missing[::-1]


def remove_new(folders: list[Path], written: list[Path]) -> None:
    """Undo a failed command's output: the files it wrote, then the folders it made (innermost first), each
    only if still there and empty of anything else."""
    for path in written:
        Path(path).unlink(missing_ok=True)
    for folder in reversed(folders):
        with suppress(OSError):  # gone already, or holds something the command did not write: leave it
            folder.rmdir()
