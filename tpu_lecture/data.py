"""The lecture's data: CIFAR-10 images and the Shakespeare text, with caching and an announced offline fallback.

Where the data comes from, in order: a data folder you name (``TPU_LECTURE_DATA``), the download
(verified, then cached), and only when both are missing a clearly labelled stand-in. Every object
returned says which one it got. Input pipelines keep shapes static (whole batches only), as TPUs need.
TensorFlow is reached only by the ``tf.data`` helpers (through ``runtime.tensorflow``), Keras only by the online
CIFAR-10 loader.
"""

from __future__ import annotations

import ast
import codecs
import hashlib
import io
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

SHAKESPEARE_URL = "https://storage.googleapis.com/download.tensorflow.org/data/shakespeare.txt"
# Size and sha256 of TensorFlow's shakespeare.txt ("tiny Shakespeare"); source: ../shared/data/README.md,
# FACTS.md ("The lecture's workloads").
SHAKESPEARE_BYTES = 1_115_394
SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
SHAKESPEARE_FILES = ("tinyshakespeare.txt", "shakespeare.txt")

CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR10_FOLDER = "cifar-10-batches-py"
# sha256 of the official cifar-10-python.tar.gz; source: the file_hash that keras.datasets.cifar10.load_data
# verifies its download with (keras/src/datasets/cifar10.py, Keras 3.15).
CIFAR10_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR10_TRAIN, CIFAR10_TEST = 50_000, 10_000

Download = Callable[[str, Path], None]
OFFLINE_REASON = "offline mode: offline=True or TPU_LECTURE_OFFLINE=1"


class FallbackDataWarning(UserWarning):
    """The real data could not be had, so a labelled stand-in is used instead."""


def _announce(message: str) -> None:
    warnings.warn(message, FallbackDataWarning, stacklevel=3)


# --------------------------------------------------------------------------------------------- places


def offline_requested() -> bool:
    """True when ``TPU_LECTURE_OFFLINE`` is set to 1/true/yes: no download is attempted."""
    return os.environ.get("TPU_LECTURE_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def data_folder(path: str | os.PathLike | None = None) -> Path | None:
    """The folder that holds pre-downloaded data: ``path``, else ``TPU_LECTURE_DATA``, else None."""
    chosen = path if path is not None else os.environ.get("TPU_LECTURE_DATA") or None
    if chosen is None:
        return None
    folder = Path(chosen).expanduser()
    if not folder.is_dir():
        origin = "data_dir" if path is not None else "TPU_LECTURE_DATA"
        raise FileNotFoundError(
            f"{origin} points at {folder}, which is not an existing folder: create it and put "
            f"{SHAKESPEARE_FILES[0]} or {CIFAR10_ARCHIVE} there, or unset {origin} to download instead"
        )
    return folder


def cache_folder(path: str | os.PathLike | None = None) -> Path:
    """The package's own download cache: ``path``, else ``TPU_LECTURE_CACHE``, else ~/.cache/tpu_lecture."""
    if path is not None:
        return Path(path).expanduser()
    if os.environ.get("TPU_LECTURE_CACHE"):
        return Path(os.environ["TPU_LECTURE_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tpu_lecture"


def _no_file_in(folder: Path | None, names: str) -> str:
    return f"no {names} in {folder}" if folder is not None else "TPU_LECTURE_DATA is not set"


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


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


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


def shakespeare_problem(path: Path) -> str | None:
    """What is wrong with a supposed copy of shakespeare.txt (size, then sha256), or None if it is intact."""
    size = path.stat().st_size
    if size != SHAKESPEARE_BYTES:
        return f"{path} has {size:,} bytes, not {SHAKESPEARE_BYTES:,} (truncated or a different file)"
    digest = sha256_of(path)
    if digest != SHAKESPEARE_SHA256:
        return f"{path} has sha256 {digest[:16]}…, not {SHAKESPEARE_SHA256[:16]}… (corrupted)"
    return None


def _read_text(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def load_shakespeare(
    *,
    data_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    download: Download = download_file,
    offline: bool | None = None,
) -> TextCorpus:
    """TensorFlow's shakespeare.txt, verified by size and sha256: from the data folder, the cache or the web.

    A corrupt copy in the package's cache is deleted and downloaded again; a corrupt copy in your data
    folder is skipped with a warning and left alone. With no network and no file, the text is a fallback
    corpus built from the Python standard library's docstrings, announced by a ``FallbackDataWarning``
    and labelled ``fallback=True``.
    """
    folder = data_folder(data_dir)
    if folder is not None:
        for name in SHAKESPEARE_FILES:
            path = folder / name
            if not path.is_file():
                continue
            problem = shakespeare_problem(path)
            if problem is None:
                return TextCorpus(_read_text(path), f"{path} (data folder)", path=path)
            _announce(f"skipping {problem}; your file is left as it is")

    cached = cache_folder(cache_dir) / "shakespeare.txt"
    if cached.is_file():
        problem = shakespeare_problem(cached)
        if problem is None:
            return TextCorpus(_read_text(cached), f"{cached} (cache of {SHAKESPEARE_URL})", path=cached)
        _announce(f"the cached copy is damaged and is deleted (a fresh download replaces it): {problem}")
        cached.unlink()

    offline_now = offline_requested() if offline is None else offline
    why = OFFLINE_REASON if offline_now else ""
    if not offline_now:
        try:
            download(SHAKESPEARE_URL, cached)
        except Exception as error:  # no network, proxy, HTTP error: all mean "use the fallback"
            why = f"the download failed ({type(error).__name__}: {error})"
        else:
            problem = shakespeare_problem(cached) if cached.is_file() else f"{cached} was not written"
            if problem is None:
                return TextCorpus(_read_text(cached), f"{cached} (downloaded from {SHAKESPEARE_URL})", path=cached)
            why = f"the download is not the expected file: {problem}"
            cached.unlink(missing_ok=True)

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
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.uint8)
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

    ``limit`` keeps only the first ``limit`` images of each split, for small CPU runs.
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit={limit!r} must be a whole number of images, at least 1 (or None for all)")
    arrays, source, why = None, "", ""
    folder = data_folder(data_dir)
    if folder is not None:
        archive, extracted = folder / CIFAR10_ARCHIVE, folder / CIFAR10_FOLDER
        if archive.is_file():
            digest = sha256_of(archive)
            if digest == CIFAR10_SHA256:
                arrays, source = read_cifar10_archive(archive), f"{archive} (data folder)"
            else:
                _announce(
                    f"skipping {archive}: sha256 {digest[:16]}… is not the official {CIFAR10_SHA256[:16]}… "
                    "(truncated or corrupted); your file is left as it is"
                )
        if arrays is None and extracted.is_dir():
            arrays, source = read_cifar10_folder(extracted), f"{extracted} (data folder)"

    if arrays is None:
        if offline_requested() if offline is None else offline:
            why = OFFLINE_REASON
            cached = next((f for f in _keras_cache_folders() if f.is_dir()), None)
            if cached is not None:
                arrays, source = read_cifar10_folder(cached), f"{cached} (Keras cache)"
        else:
            try:
                arrays, source = download(), "keras.datasets.cifar10 (Keras cache or download)"
            except Exception as error:  # no network, HTTP error, bad download: all mean "synthetic"
                why = f"the download failed ({type(error).__name__}: {error})"

    if arrays is None:
        n_train, n_test = (CIFAR10_TRAIN, CIFAR10_TEST) if limit is None else (limit, min(limit, CIFAR10_TEST))
        data = synthetic_cifar10(n_train, n_test, seed=seed)
        _announce(
            f"CIFAR-10 is not available ({why}; {_no_file_in(folder, CIFAR10_ARCHIVE)}). Using SYNTHETIC "
            "CIFAR-shaped data: fine for measuring speed, meaningless for accuracy; results are labelled synthetic."
        )
        return data

    x_train, y_train, x_test, y_test = (np.asarray(a) for a in arrays)
    if limit is not None:
        x_train, y_train, x_test, y_test = (np.ascontiguousarray(a[:limit]) for a in (x_train, y_train, x_test, y_test))
    return Cifar10(x_train, y_train.reshape(-1), x_test, y_test.reshape(-1), source)


# ----------------------------------------------------------------------------------- input pipelines


def flatten_images(images: np.ndarray) -> np.ndarray:
    """uint8 images (N, 32, 32, 3) as the MLP's input: float32 rows of 3072 values in [0, 1]."""
    images = np.asarray(images)
    if images.ndim < 2:
        raise ValueError(f"images of shape {images.shape} need a leading batch axis, e.g. (N, 32, 32, 3)")
    return images.reshape(len(images), -1).astype(np.float32) / np.float32(255)


def _check_positive(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}={value!r} must be a whole number")
    if value < 1:
        raise ValueError(f"{name}={value} must be at least 1")
    return int(value)


def whole_batches(*arrays: np.ndarray, batch_size: int) -> tuple[np.ndarray, ...]:
    """The arrays cut to a whole number of batches (the remainder dropped), so every step has one shape."""
    batch_size = _check_positive("batch_size", batch_size)
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
    batch_size, replicas = _check_positive("batch_size", batch_size), _check_positive("replicas", replicas)
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
    seq_len = _check_positive("seq_len", seq_len)
    stride = seq_len if stride is None else _check_positive("stride", stride)
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

