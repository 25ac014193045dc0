"""The lecture's data: CIFAR-10 images and the Shakespeare text, verified, cached, with an announced fallback.

Where the data comes from, in order: your data folder (``TPU_LECTURE_DATA``), the package's cache, the
download (verified, then cached), and only when all of them fail a clearly labelled stand-in. Every
object returned says which one it got. Your data folder is only ever read; the cache is the one place
the package writes and deletes, and there only files it wrote itself (its manifest lists them).
Input pipelines keep shapes static (whole batches only), as TPUs need; TensorFlow is reached only by the
``tf.data`` helpers (through ``runtime.tensorflow``), Keras only by the online CIFAR-10 loader.
"""

from __future__ import annotations

import ast
import codecs
import contextlib
import hashlib
import io
import json
import os
import pickle
import sys
import sysconfig
import tarfile
import urllib.request
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tpu_lecture.checks import number, whole_number
from tpu_lecture.files import write_atomically

SHAKESPEARE_URL = "https://storage.googleapis.com/download.tensorflow.org/data/shakespeare.txt"
SHAKESPEARE_FILES = ("tinyshakespeare.txt", "shakespeare.txt")

CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR10_TRAIN, CIFAR10_TEST = 50_000, 10_000

Download = Callable[[str, Path], None]
OFFLINE_REASON = "offline mode: offline=True or TPU_LECTURE_OFFLINE=1"


class FallbackDataWarning(UserWarning):
    """The real data could not be had (or a copy of it was refused), so a labelled stand-in may be used."""


def _announce(message: str) -> None:
    warnings.warn(message, FallbackDataWarning, stacklevel=3)


# ------------------------------------------------------------------------------------------ verified files


@dataclass(frozen=True)
class Expected:
    """What a verified file must be: its sha256 and, where known, its exact size (checked first: it is cheap)."""

    sha256: str
    size: int | None = None

    def problem(self, path: Path) -> str | None:
        """What is wrong with ``path`` as a copy of this file, or None if it is intact."""
        size = path.stat().st_size
        if self.size is not None and size != self.size:
            return f"{path} has {size:,} bytes, not {self.size:,} (truncated or a different file)"
        digest = sha256_of(path)
        if digest != self.sha256:
            return f"{path} has sha256 {digest[:16]}…, not {self.sha256[:16]}… (corrupted or a different file)"
        return None


# TensorFlow's shakespeare.txt ("tiny Shakespeare"): its size and sha256, measured on the file that
# SHAKESPEARE_URL serves (the same bytes as Karpathy's char-rnn tinyshakespeare/input.txt).
SHAKESPEARE = Expected(sha256="86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed", size=1_115_394)
# The official cifar-10-python.tar.gz: the file_hash that keras.datasets.cifar10.load_data verifies its
# download with (keras/src/datasets/cifar10.py, Keras 3.15).
CIFAR10 = Expected(sha256="6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce")
SHAKESPEARE_BYTES, SHAKESPEARE_SHA256 = SHAKESPEARE.size, SHAKESPEARE.sha256


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def shakespeare_problem(path: Path, expected: Expected = SHAKESPEARE) -> str | None:
    """What is wrong with a supposed copy of shakespeare.txt (size, then sha256), or None if it is intact."""
    return expected.problem(Path(path))


# --------------------------------------------------------------------------------------------- places


def offline_requested() -> bool:
    """True when ``TPU_LECTURE_OFFLINE`` is set to 1/true/yes: no download is attempted."""
    return os.environ.get("TPU_LECTURE_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def data_folder(path: str | os.PathLike | None = None) -> Path | None:
    """Your folder of pre-downloaded data: ``path``, else ``TPU_LECTURE_DATA``, else None.

    A setting that names no folder (nothing there, or a file) is announced in one line and ignored, so
    the loaders go on to the cache, the download and the fallback.
    """
    origin = "data_dir" if path is not None else "TPU_LECTURE_DATA"
    chosen = path if path is not None else os.environ.get("TPU_LECTURE_DATA") or None
    if chosen is None:
        return None
    folder = Path(chosen).expanduser()
    if folder.is_dir():
        return folder
    what = "a file, not a folder" if folder.exists() else "not an existing folder"
    _announce(f"{origin} points at {folder}, which is {what}: ignoring it. Name the folder that holds "
              f"{SHAKESPEARE_FILES[0]} or {CIFAR10_ARCHIVE}, or unset {origin}.")
    return None


def cache_folder(path: str | os.PathLike | None = None) -> Path:
    """The package's own download cache: ``path``, else ``TPU_LECTURE_CACHE``, else ~/.cache/tpu_lecture."""
    if path is not None:
        return Path(path).expanduser()
    if os.environ.get("TPU_LECTURE_CACHE"):
        return Path(os.environ["TPU_LECTURE_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tpu_lecture"


def _no_file_in(folder: Path | None, names: str) -> str:
    return f"no {names} in {folder}" if folder is not None else "no data folder (TPU_LECTURE_DATA) is set"


def download_file(url: str, dest: Path, timeout: float = 30.0) -> None:
    """Download ``url`` into ``dest`` (written to a side file first, so a broken transfer leaves no file)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as out:
            while chunk := response.read(1 << 20):
                out.write(chunk)
        os.replace(part, dest)
    finally:
        part.unlink(missing_ok=True)


class Cache:
    """The package's download cache: the only folder it deletes in, and there only files its manifest lists.

    A folder that is also your data folder (``TPU_LECTURE_DATA`` and ``TPU_LECTURE_CACHE`` naming the same
    place) is never deleted in at all.
    """

    MANIFEST = "tpu_lecture-manifest.json"

    def __init__(self, folder: Path, user_folder: Path | None = None):
        self.folder = Path(folder)
        self.shared_with_user = user_folder is not None and _same_folder(self.folder, user_folder)

    def __repr__(self) -> str:
        return f"Cache({str(self.folder)!r}, {len(self._manifest())} files written by tpu_lecture)"

    def path(self, name: str) -> Path:
        return self.folder / name

    def wrote(self, name: str) -> bool:
        """True if the package wrote ``name`` here itself (and this is not your data folder too)."""
        return not self.shared_with_user and name in self._manifest()

    def fetch(self, name: str, url: str, download: Download, expected: Expected) -> Path:
        """Download ``url`` as ``name``: into a side file, verified, then renamed into place and listed.

        Raises ``OSError`` (no network, a read-only cache) or ``ValueError`` (not the expected file);
        nothing half-written or unverified is left behind.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        side = self.path(f".{name}.download")
        try:
            download(url, side)
            if not side.is_file():
                raise ValueError(f"the download wrote no file at {side}")
            problem = expected.problem(side)
            if problem is not None:
                raise ValueError(f"the download is not the expected file: {problem}")
            os.replace(side, self.path(name))
        finally:
            with contextlib.suppress(OSError):
                side.unlink()
        self._record(name, expected.sha256, url)
        return self.path(name)

    def discard(self, name: str, problem: str) -> None:
        """Delete a damaged copy the package wrote; anything else is left as it is, with a warning."""
        path = self.path(name)
        if not self.wrote(name):
            _announce(f"skipping {problem}; the package did not write this file, so it is left as it is")
            return
        try:
            path.unlink()
        except OSError as error:
            _announce(f"skipping {problem}; it could not be deleted ({error.strerror or error}), so it stays")
            return
        self._forget(name)
        _announce(f"the cached copy was damaged and is deleted (a fresh download replaces it): {problem}")

    def _manifest(self) -> dict[str, Any]:
        try:
            files = json.loads(self.path(self.MANIFEST).read_text(encoding="utf-8")).get("files", {})
        except (OSError, ValueError, AttributeError):
            return {}
        return files if isinstance(files, dict) else {}

    def _record(self, name: str, sha256: str, url: str) -> None:
        files = {**self._manifest(), name: {"sha256": sha256, "url": url}}
        self._write_manifest(files)

    def _forget(self, name: str) -> None:
        files = self._manifest()
        files.pop(name, None)
        self._write_manifest(files)

    def _write_manifest(self, files: dict[str, Any]) -> None:
        record = {"written_by": "tpu_lecture", "files": files}
        with contextlib.suppress(OSError):
            write_atomically(self.path(self.MANIFEST), json.dumps(record, indent=1).encode("utf-8"))


def _same_folder(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


# ----------------------------------------------------------------------------------------- Shakespeare


@dataclass(frozen=True, repr=False)
class TextCorpus:
    """A training text and where it came from; ``fallback`` is True when it is not Shakespeare."""

    text: str
    source: str
    fallback: bool = False
    path: Path | None = None

    @property
    def note(self) -> str:
        if self.fallback:
            return f"FALLBACK TEXT, not Shakespeare: {self.source}"
        return f"Shakespeare, {len(self.text):,} characters, from {self.source}"

    def __len__(self) -> int:
        return len(self.text)

    def __repr__(self) -> str:
        return f"TextCorpus({len(self.text):,} characters, fallback={self.fallback}, source={self.source!r})"


def _read_text(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def _shakespeare_in_folder(folder: Path | None, expected: Expected) -> TextCorpus | None:
    """The verified text from your data folder, or None (a bad copy is announced and left alone)."""
    if folder is None:
        return None
    present = [folder / name for name in SHAKESPEARE_FILES if (folder / name).is_file()]
    for path in present:
        problem = expected.problem(path)
        if problem is None:
            return TextCorpus(_read_text(path), f"{path} (data folder)", path=path)
        _announce(f"skipping {problem}; your file is left as it is")
    return None


def _shakespeare_cached(cache: Cache, expected: Expected) -> TextCorpus | None:
    cached = cache.path("shakespeare.txt")
    if not cached.is_file():
        return None
    problem = expected.problem(cached)
    if problem is None:
        return TextCorpus(_read_text(cached), f"{cached} (cache of {SHAKESPEARE_URL})", path=cached)
    cache.discard("shakespeare.txt", problem)
    return None


def load_shakespeare(
    *,
    data_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    download: Download = download_file,
    offline: bool | None = None,
    expected: Expected = SHAKESPEARE,
) -> TextCorpus:
    """TensorFlow's shakespeare.txt, verified by size and sha256: from your data folder, the cache or the web.

    A damaged copy the package cached itself is deleted and downloaded again; any other damaged copy is
    skipped with a warning and left alone. With no network and no file, the text is a fallback corpus built
    from the Python standard library's docstrings, announced by a ``FallbackDataWarning`` and labelled
    ``fallback=True``. ``expected`` is the file's checksum (tests pass their own).
    """
    folder = data_folder(data_dir)
    found = _shakespeare_in_folder(folder, expected)
    cache = Cache(cache_folder(cache_dir), user_folder=folder)
    found = found or _shakespeare_cached(cache, expected)
    if found is not None:
        return found
    why = OFFLINE_REASON if (offline_requested() if offline is None else offline) else ""
    if not why:
        try:
            path = cache.fetch("shakespeare.txt", SHAKESPEARE_URL, download, expected)
            return TextCorpus(_read_text(path), f"{path} (downloaded from {SHAKESPEARE_URL})", path=path)
        except ValueError as error:
            why = str(error)
        except Exception as error:  # no network, proxy, HTTP error, read-only cache: all mean "use the fallback"
            why = f"the download failed ({type(error).__name__}: {error})"
    text, source = fallback_corpus()
    _announce(
        f"Shakespeare is not available ({why}; {_no_file_in(folder, ' or '.join(SHAKESPEARE_FILES))}). "
        f"Training on a FALLBACK text instead: {source}. Put {SHAKESPEARE_FILES[0]} into a folder named by "
        "TPU_LECTURE_DATA, or go online, to train on Shakespeare."
    )
    return TextCorpus(text, source, fallback=True)


_FALLBACK: tuple[str, str] | None = None


def fallback_corpus(min_chars: int = SHAKESPEARE_BYTES) -> tuple[str, str]:
    """English prose already on every machine: the docstrings of the Python standard library's modules.

    Read from the source files with ``ast`` (nothing is imported), in sorted file order so the text is the
    same on every machine with the same Python, until at least ``min_chars`` characters (or all of them).
    Returns (text, a description of the source).
    """
    global _FALLBACK
    if _FALLBACK is not None and len(_FALLBACK[0]) >= min_chars:
        return _FALLBACK
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    skip = {"test", "tests", "site-packages", "dist-packages", "idlelib", "__pycache__"}
    packages = sorted(p for p in stdlib.iterdir() if p.is_dir() and p.name not in skip)
    files = sorted(stdlib.glob("*.py")) + [
        f for package in packages for f in sorted(package.rglob("*.py")) if not skip & set(f.parts)
    ]
    pieces: list[str] = []
    total = used = 0
    for path in files:
        try:
            tree = ast.parse(path.read_bytes())
        except (SyntaxError, ValueError, OSError):
            continue
        docs = [
            ast.get_docstring(node)
            for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        ]
        docs = [d for d in docs if d]
        if docs:
            used += 1
            pieces.extend(docs)
            total += sum(len(d) + 2 for d in docs)
        if total >= min_chars:
            break
    if not pieces:
        raise RuntimeError(
            f"no Shakespeare and no fallback text: the Python standard library's sources under {stdlib} "
            f"are missing. Download {SHAKESPEARE_URL} and point TPU_LECTURE_DATA at its folder."
        )
    version = ".".join(map(str, sys.version_info[:3]))
    source = f"docstrings of {used} modules of Python {version}'s standard library ({stdlib})"
    _FALLBACK = ("\n\n".join(pieces) + "\n", source)
    return _FALLBACK


# -------------------------------------------------------------------------------------------- CIFAR-10


@dataclass(frozen=True, repr=False)
class Cifar10:
    """CIFAR-10 as uint8 images (N, 32, 32, 3) and uint8 labels (N,); ``synthetic`` marks stand-in data."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    synthetic: bool = False
    classes: tuple[str, ...] = field(default=CIFAR10_CLASSES)

    @property
    def note(self) -> str:
        if self.synthetic:
            return (
                f"SYNTHETIC CIFAR-shaped data ({self.source}): fine for measuring speed, "
                "meaningless for accuracy"
            )
        return f"CIFAR-10 from {self.source}"

    def __repr__(self) -> str:
        return (
            f"Cifar10(train={len(self.x_train):,}, test={len(self.x_test):,}, "
            f"synthetic={self.synthetic}, source={self.source!r})"
        )


_NUMPY_GLOBALS: dict[tuple[str, str], Any] = {}


def _numpy_globals() -> dict[tuple[str, str], Any]:
    if not _NUMPY_GLOBALS:
        try:
            from numpy._core import multiarray
        except ImportError:  # numpy < 2
            from numpy.core import multiarray
        for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
            _NUMPY_GLOBALS[module, "_reconstruct"] = multiarray._reconstruct
            _NUMPY_GLOBALS[module, "scalar"] = multiarray.scalar
        _NUMPY_GLOBALS["numpy", "ndarray"] = np.ndarray
        _NUMPY_GLOBALS["numpy", "dtype"] = np.dtype
        _NUMPY_GLOBALS["_codecs", "encode"] = codecs.encode  # how Python 3 pickles bytes at protocol 2
    return _NUMPY_GLOBALS


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles a CIFAR-10 batch file but refuses every global except numpy's array rebuilders
    (unpickling can otherwise run any code the file names)."""

    def find_class(self, module: str, name: str) -> Any:
        allowed = _numpy_globals()
        if (module, name) not in allowed:
            raise pickle.UnpicklingError(f"{module}.{name} has no place in a CIFAR-10 batch file")
        return allowed[module, name]


def _parse_batch(raw: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        batch = _BatchUnpickler(io.BytesIO(raw), encoding="bytes").load()
        data = np.asarray(batch[b"data"])  # no cast: a wrong dtype must show, not be silently converted
        labels = np.asarray(batch[b"labels"])
    except (pickle.UnpicklingError, KeyError, TypeError, EOFError, ValueError) as error:
        raise ValueError(f"{where} is not a CIFAR-10 batch file ({error})") from error
    if data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
        raise ValueError(f"{where} holds data of shape {data.shape} and {len(labels)} labels, not (N, 3072) and N")
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def _assemble(batches: dict[str, tuple[np.ndarray, np.ndarray]], where: str) -> tuple[np.ndarray, ...]:
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    missing = [n for n in names if n not in batches]
    if missing:
        raise ValueError(f"{where} lacks {', '.join(missing)}: it is not a complete CIFAR-10 python archive")
    x_train = np.concatenate([batches[n][0] for n in names[:5]])
    y_train = np.concatenate([batches[n][1] for n in names[:5]])
    return x_train, y_train, *batches["test_batch"]


def read_cifar10_archive(path: Path) -> tuple[np.ndarray, ...]:
    """(x_train, y_train, x_test, y_test) from the official cifar-10-python.tar.gz, read without extracting."""
    batches = {}
    with tarfile.open(path, "r:gz") as archive:
        for member in archive.getmembers():
            name = Path(member.name).name
            if member.isfile() and (name.startswith("data_batch_") or name == "test_batch"):
                raw = archive.extractfile(member).read()
                batches[name] = _parse_batch(raw, f"{path}:{member.name}")
    return _assemble(batches, str(path))


def read_cifar10_folder(folder: Path) -> tuple[np.ndarray, ...]:
    """(x_train, y_train, x_test, y_test) from an extracted cifar-10-batches-py folder."""
    batches = {
        p.name: _parse_batch(p.read_bytes(), str(p))
        for p in sorted(folder.iterdir())
        if p.name.startswith("data_batch_") or p.name == "test_batch"
    }
    return _assemble(batches, str(folder))


def keras_cifar10() -> tuple[np.ndarray, ...]:
    """The real ``keras.datasets.cifar10.load_data()`` (downloads once into Keras's cache), flattened labels."""
    import keras

    (x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
    return x_train, y_train.reshape(-1), x_test, y_test.reshape(-1)


def _keras_cache_folders() -> list[Path]:
    home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser() / "datasets"
    return [home / "cifar-10-batches-py-target" / CIFAR10_FOLDER, home / CIFAR10_FOLDER]


def synthetic_cifar10(n_train: int = CIFAR10_TRAIN, n_test: int = CIFAR10_TEST, seed: int = 0) -> Cifar10:
    """CIFAR-shaped stand-in data: each class is a fixed random picture under noise, so a model can learn it.

    Fine for measuring throughput; its accuracy says nothing about CIFAR-10. Labelled ``synthetic=True``.
    """
    rng = np.random.default_rng(seed)
    templates = rng.integers(0, 128, size=(10, 32, 32, 3), dtype=np.uint8)

    def split(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        noise = rng.integers(0, 128, size=(n, 32, 32, 3), dtype=np.uint8)
        return noise + templates[labels], labels

    x_train, y_train = split(n_train)
    x_test, y_test = split(n_test)
    return Cifar10(x_train, y_train, x_test, y_test, f"synthetic (seed {seed})", synthetic=True)


def cifar10_problem(x_train: Any, y_train: Any, x_test: Any, y_test: Any) -> str | None:
    """What makes these arrays not CIFAR-10 as the lecture trains on it, or None: uint8 images of shape
    (N, 32, 32, 3) (pixels 0–255), integer labels 0–9, one label per image."""
    for split, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        x, y = np.asarray(x), np.asarray(y)
        if x.ndim != 4 or x.shape[1:] != (32, 32, 3):
            return f"{split} images have shape {x.shape}, not (N, 32, 32, 3)"
        if x.dtype != np.uint8:
            return f"{split} images are {x.dtype}, not uint8 pixels 0–255 (already scaled or converted?)"
        if y.dtype.kind not in "iu":
            return f"{split} labels are {y.dtype}, not integers"
        y = y.reshape(-1)
        if len(y) != len(x):
            return f"{len(x)} {split} images but {len(y)} labels"
        if len(y) and (int(y.min()) < 0 or int(y.max()) > 9):
            return f"{split} labels run from {int(y.min())} to {int(y.max())}, not 0–9"
    return None


def _cifar10_in_folder(folder: Path | None) -> tuple[tuple[np.ndarray, ...], str] | None:
    """(arrays, source) from your data folder's archive (sha256-checked) or extracted folder, or None."""
    if folder is None:
        return None
    archive, extracted = folder / CIFAR10_ARCHIVE, folder / CIFAR10_FOLDER
    if archive.is_file():
        problem = CIFAR10.problem(archive)
        if problem is None:
            return read_cifar10_archive(archive), f"{archive} (data folder)"
        _announce(f"skipping {problem}; your file is left as it is")
    if extracted.is_dir():
        try:
            return read_cifar10_folder(extracted), f"{extracted} (data folder)"
        except ValueError as error:
            _announce(f"skipping {extracted}: {error}; your folder is left as it is")
    return None


def _cifar10_from_keras(download: Callable[[], tuple[np.ndarray, ...]], offline: bool) -> tuple[Any, str, str]:
    """(arrays or None, source, why not): Keras's cache when offline, else its loader (which downloads)."""
    if offline:
        cached = next((f for f in _keras_cache_folders() if f.is_dir()), None)
        if cached is None:
            return None, "", OFFLINE_REASON
        return read_cifar10_folder(cached), f"{cached} (Keras cache)", OFFLINE_REASON
    try:
        return download(), "keras.datasets.cifar10 (Keras cache or download)", ""
    except Exception as error:  # no network, HTTP error, bad download: all mean "synthetic"
        return None, "", f"the download failed ({type(error).__name__}: {error})"


def _checked(found: tuple[Any, str] | None) -> tuple[tuple[np.ndarray, ...], str] | None:
    """``found`` if its arrays are CIFAR-10 as expected; else None, announcing what was wrong."""
    if found is None or found[0] is None:
        return None
    arrays, source = found
    problem = cifar10_problem(*arrays)
    if problem is not None:
        _announce(f"skipping CIFAR-10 from {source}: {problem}; it is not trained on")
        return None
    return tuple(np.asarray(a) for a in arrays), source


def load_cifar10(
    *,
    limit: int | None = None,
    data_dir: str | os.PathLike | None = None,
    download: Callable[[], tuple[np.ndarray, ...]] = keras_cifar10,
    offline: bool | None = None,
    seed: int = 0,
) -> Cifar10:
    """CIFAR-10 from the data folder (``cifar-10-python.tar.gz``, sha256-checked, or an extracted
    ``cifar-10-batches-py`` folder), else Keras's loader and cache, else announced synthetic data.

    Whatever the source, the arrays are checked (shapes, uint8 pixels, labels 0–9) before they are used.
    ``limit`` keeps only the first ``limit`` images of each split, for small CPU runs.
    """
    if limit is not None:
        limit = whole_number("limit", limit)
    folder = data_folder(data_dir)
    found = _checked(_cifar10_in_folder(folder))
    why = ""
    if found is None:
        arrays, source, why = _cifar10_from_keras(download, offline_requested() if offline is None else offline)
        found = _checked((arrays, source))
    if found is None:
        n_train, n_test = (CIFAR10_TRAIN, CIFAR10_TEST) if limit is None else (limit, min(limit, CIFAR10_TEST))
        _announce(
            f"CIFAR-10 is not available ({why or 'no usable copy'}; {_no_file_in(folder, CIFAR10_ARCHIVE)}). "
            "Using SYNTHETIC CIFAR-shaped data: fine for measuring speed, meaningless for accuracy; results "
            "are labelled synthetic."
        )
        return synthetic_cifar10(n_train, n_test, seed=seed)
    (x_train, y_train, x_test, y_test), source = found
    if limit is not None:
        x_train, y_train, x_test, y_test = (np.ascontiguousarray(a[:limit]) for a in (x_train, y_train, x_test, y_test))
    labels = (np.asarray(y, dtype=np.uint8).reshape(-1) for y in (y_train, y_test))
    return Cifar10(x_train, next(labels), x_test, next(labels), source)


# ----------------------------------------------------------------------------------- input pipelines


def flatten_images(images: np.ndarray) -> np.ndarray:
    """uint8 images (N, 32, 32, 3) as the MLP's input: float32 rows of 3072 values in [0, 1]."""
    images = np.asarray(images)
    if images.ndim < 2:
        raise ValueError(f"images of shape {images.shape} need a leading batch axis, e.g. (N, 32, 32, 3)")
    return images.reshape(len(images), -1).astype(np.float32) / np.float32(255)


def whole_batches(*arrays: np.ndarray, batch_size: int) -> tuple[np.ndarray, ...]:
    """The arrays cut to a whole number of batches (the remainder dropped), so every step has one shape."""
    batch_size = whole_number("batch_size", batch_size)
    lengths = {len(a) for a in arrays}
    if len(lengths) != 1:
        raise ValueError(f"arrays have different lengths {sorted(lengths)}: they must hold the same samples")
    n = lengths.pop()
    if n < batch_size:
        raise ValueError(f"only {n} samples for batch_size={batch_size}: use a smaller batch or more data")
    keep = n - n % batch_size
    return tuple(a[:keep] for a in arrays)


def per_replica_batch(batch_size: int, replicas: int) -> tuple[int, str]:
    """A global batch that splits evenly over ``replicas`` accelerator cores, and a sentence saying so.

    A batch that does not divide is rounded down to the nearest multiple (up to one sample per core when
    it is smaller than the number of cores).
    """
    batch_size, replicas = whole_number("batch_size", batch_size), whole_number("replicas", replicas)
    if batch_size % replicas == 0:
        return batch_size, f"batch {batch_size} splits evenly: {batch_size // replicas} per replica on {replicas}"
    adjusted = max(replicas, batch_size - batch_size % replicas)
    return adjusted, (
        f"batch {batch_size} does not divide across {replicas} replicas: using {adjusted} instead "
        f"({adjusted // replicas} per replica)"
    )


def encode_text(text: str) -> np.ndarray:
    """Text as the byte values (0–255) the character model reads: UTF-8, so tiny Shakespeare's ASCII is 1:1."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def char_arrays(
    text: str,
    seq_len: int = 100,
    *,
    batch_size: int | None = None,
    stride: int | None = None,
    shuffle: bool = False,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, targets) int32 arrays of shape (N, seq_len): windows of the text's bytes and the same
    windows shifted by one byte, the next-character targets. Windows start every ``stride`` bytes
    (default ``seq_len``: no overlap); with ``batch_size`` N is cut to whole batches."""
    seq_len = whole_number("seq_len", seq_len)
    stride = seq_len if stride is None else whole_number("stride", stride)
    codes = encode_text(text)
    if len(codes) < seq_len + 1:
        raise ValueError(f"the text has {len(codes)} bytes, too few for one window of seq_len+1 = {seq_len + 1}")
    starts = np.arange(0, len(codes) - seq_len, stride)
    if shuffle:
        np.random.default_rng(seed).shuffle(starts)
    windows = starts[:, None] + np.arange(seq_len + 1)
    chunks = codes[windows].astype(np.int32)
    x, y = chunks[:, :-1], chunks[:, 1:]
    if batch_size is not None:
        x, y = whole_batches(x, y, batch_size=batch_size)
    return x, y


def split_text(text: str, held_out: float = 0.1) -> tuple[str, str]:
    """(training text, held-out text): the last ``held_out`` of the text, cut at a line break, kept apart so
    that a loss measured on it tells how well the model writes text it has never read."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    held_out = number("held_out", held_out, low=0, high=1, low_open=True, high_open=True)
    cut = int(len(text) * (1 - held_out))
    line_break = text.rfind("\n", 0, cut)
    cut = line_break + 1 if line_break > 0 else cut
    if min(cut, len(text) - cut) < 2:
        raise ValueError(f"a text of {len(text)} characters is too short to hold out {held_out:.0%} of it")
    return text[:cut], text[cut:]


def char_windows(text: str, seq_len: int, count: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``count`` (inputs, targets) windows of ``seq_len`` bytes that start at random places in the text.

    Starts are drawn without repeats while the text has enough of them (a training run that reads the text
    several times then sees each piece in new company), with repeats beyond that. Seeded, so a run repeats.
    """
    seq_len, count = whole_number("seq_len", seq_len), whole_number("count", count)
    codes = encode_text(text)
    starts = len(codes) - seq_len
    if starts < 1:
        raise ValueError(f"the text has {len(codes)} bytes, too few for one window of seq_len+1 = {seq_len + 1}")
    rng = np.random.default_rng(seed)
    picked = rng.choice(starts, size=count, replace=count > starts)
    chunks = codes[picked[:, None] + np.arange(seq_len + 1)].astype(np.int32)
    return chunks[:, :-1], chunks[:, 1:]


def char_dataset(
    text: str,
    seq_len: int = 100,
    batch_size: int = 1024,
    *,
    stride: int | None = None,
    shuffle: bool = True,
    seed: int = 0,
    repeat: bool = False,
) -> Any:
    """A ``tf.data.Dataset`` of (inputs, targets) batches of static shape (batch_size, seq_len)."""
    from tpu_lecture.runtime import tensorflow

    x, y = char_arrays(text, seq_len, batch_size=batch_size, stride=stride)
    return tensorflow.batches(x, y, batch_size, shuffle, seed, repeat)


def cifar_dataset(
    x: np.ndarray, y: np.ndarray, batch_size: int = 1024, *, shuffle: bool = True, seed: int = 0, repeat: bool = False
) -> Any:
    """A ``tf.data.Dataset`` of (images, labels) batches of static shape (``drop_remainder=True``)."""
    from tpu_lecture.runtime import tensorflow

    x, y = whole_batches(np.asarray(x), np.asarray(y), batch_size=batch_size)
    return tensorflow.batches(x, y, batch_size, shuffle, seed, repeat)

