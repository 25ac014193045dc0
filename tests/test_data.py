"""Data loading with the network forced off: verified files, caches, announced fallbacks, static-shape batches."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import socket
import tarfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tpu_lecture import data
from tpu_lecture.data import FallbackDataWarning

# CI points TPU_LECTURE_DATA at ../shared/data; the file itself may never be copied into this repository.
SHARED = Path(os.environ.get("TPU_LECTURE_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")
REAL_TEXT = SHARED / "tinyshakespeare.txt"
needs_real_text = pytest.mark.skipif(
    not REAL_TEXT.is_file(), reason=f"{REAL_TEXT} is absent (set TPU_LECTURE_DATA to the shared data folder)"
)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Every test runs with sockets refused; the list records any attempt so a test fails on it."""
    attempts: list[str] = []

    def refuse(*args, **kwargs):
        attempts.append(repr(args[:2]))
        raise OSError("network disabled in tests")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    yield attempts
    assert attempts == [], f"a test tried to open a network connection: {attempts}"


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No data folder, a private cache and Keras home, the offline switch off."""
    for name in ("TPU_LECTURE_DATA", "TPU_LECTURE_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TPU_LECTURE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    return tmp_path


def said(record, text: str) -> bool:
    return any(text in str(w.message) for w in record)


def refuse_download(*args):
    raise OSError("no network (test)")


def serve(content: bytes):
    """A fake download that writes ``content`` and counts its calls."""
    calls = []

    def download(url, dest):
        calls.append(url)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(content)

    download.calls = calls
    return download


# ----------------------------------------------------------------------------------------- Shakespeare


@needs_real_text
def test_reads_verified_shakespeare_from_the_data_folder(monkeypatch):
    monkeypatch.setenv("TPU_LECTURE_DATA", str(SHARED))
    corpus = data.load_shakespeare(download=refuse_download)
    assert not corpus.fallback
    assert len(corpus.text) == data.SHAKESPEARE_BYTES
    assert corpus.text.startswith("First Citizen:")
    assert str(REAL_TEXT) in corpus.source and "Shakespeare" in corpus.note


@needs_real_text
def test_accepts_the_name_tensorflow_downloads_as(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "shakespeare.txt").symlink_to(REAL_TEXT)
    corpus = data.load_shakespeare(data_dir=folder, download=refuse_download)
    assert not corpus.fallback and corpus.path == folder / "shakespeare.txt"


def test_offline_without_a_file_announces_and_labels_the_fallback():
    download = serve(b"never")
    with pytest.warns(FallbackDataWarning, match="FALLBACK text"):
        corpus = data.load_shakespeare(download=download, offline=True)
    assert corpus.fallback and download.calls == []
    assert "not Shakespeare" in corpus.note and "standard library" in corpus.source
    assert len(corpus.text) >= 100_000


def test_offline_switch_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("TPU_LECTURE_OFFLINE", "1")
    download = serve(b"never")
    with pytest.warns(FallbackDataWarning, match="TPU_LECTURE_OFFLINE"):
        assert data.load_shakespeare(download=download).fallback
    assert download.calls == []


def test_a_failed_download_falls_back_without_touching_the_network():
    with pytest.warns(FallbackDataWarning, match="download failed"):
        corpus = data.load_shakespeare(download=refuse_download)
    assert corpus.fallback


def test_the_default_downloader_fails_cleanly_with_no_network(no_network):
    with pytest.warns(FallbackDataWarning, match="download failed"):
        assert data.load_shakespeare().fallback
    assert len(no_network) >= 1  # it did try, and the guard refused it
    no_network.clear()
    assert not list((data.cache_folder()).glob("*")), "a failed download left a file in the cache"


@needs_real_text
def test_download_is_verified_cached_and_reused(isolated):
    download = serve(REAL_TEXT.read_bytes())
    first = data.load_shakespeare(download=download)
    assert not first.fallback and "downloaded from" in first.source
    assert download.calls == [data.SHAKESPEARE_URL]
    second = data.load_shakespeare(download=refuse_download)
    assert second.text == first.text and "cache" in second.source
    assert second.path == isolated / "cache" / "shakespeare.txt"


def corrupted(content: bytes, how: str) -> bytes:
    if how == "truncated":
        return content[: len(content) // 2]
    flipped = bytearray(content)
    flipped[12345] ^= 0x20
    return bytes(flipped)


@needs_real_text
@pytest.mark.parametrize("how", ["truncated", "one byte flipped"])
def test_the_checksum_rejects_a_corrupted_file(tmp_path, how):
    path = tmp_path / "shakespeare.txt"
    path.write_bytes(corrupted(REAL_TEXT.read_bytes(), how))
    problem = data.shakespeare_problem(path)
    assert problem is not None and ("bytes" if how == "truncated" else "sha256") in problem
    assert data.shakespeare_problem(REAL_TEXT) is None


@needs_real_text
@pytest.mark.parametrize("how", ["truncated", "one byte flipped"])
def test_a_corrupt_cached_copy_is_replaced(isolated, how):
    real = REAL_TEXT.read_bytes()
    cached = isolated / "cache" / "shakespeare.txt"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(corrupted(real, how))
    download = serve(real)
    with pytest.warns(FallbackDataWarning, match="damaged"):
        corpus = data.load_shakespeare(download=download)
    assert not corpus.fallback and corpus.text.encode() == real
    assert download.calls and hashlib.sha256(cached.read_bytes()).hexdigest() == data.SHAKESPEARE_SHA256


def test_a_corrupt_cached_copy_is_never_trained_on(isolated):
    cached = isolated / "cache" / "shakespeare.txt"
    cached.parent.mkdir(parents=True)
    cached.write_text("ROMEO: a damaged cache\n" * 100)
    with pytest.warns(FallbackDataWarning):
        corpus = data.load_shakespeare(offline=True)
    assert corpus.fallback and "damaged cache" not in corpus.text
    assert not cached.exists()


def test_a_corrupt_file_in_your_data_folder_is_skipped_and_kept(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    mine = folder / "tinyshakespeare.txt"
    mine.write_text("not quite Shakespeare")
    with pytest.warns(FallbackDataWarning) as record:
        corpus = data.load_shakespeare(data_dir=folder, offline=True)
    assert corpus.fallback and said(record, "left as it is") and said(record, "FALLBACK text")
    assert mine.read_text() == "not quite Shakespeare"


def test_a_download_that_is_not_the_file_is_rejected(isolated):
    with pytest.warns(FallbackDataWarning, match="not the expected file"):
        corpus = data.load_shakespeare(download=serve(b"<html>captive portal</html>"))
    assert corpus.fallback
    assert not (isolated / "cache" / "shakespeare.txt").exists()


@pytest.mark.parametrize("loader", [data.load_shakespeare, data.load_cifar10])
def test_a_data_folder_that_does_not_exist_says_so(monkeypatch, tmp_path, loader):
    missing = tmp_path / "no" / "such" / "folder"
    monkeypatch.setenv("TPU_LECTURE_DATA", str(missing))
    with pytest.raises(FileNotFoundError, match="TPU_LECTURE_DATA points at .*folder.*not an existing folder"):
        loader(offline=True)
    with pytest.raises(FileNotFoundError, match="data_dir points at"):
        loader(data_dir=missing, offline=True)


def test_fallback_corpus_is_repeatable_text():
    text, source = data.fallback_corpus()
    again, _ = data.fallback_corpus()
    assert text == again and "Python" in source
    assert text.count(" the ") > 1000  # English prose, not code


# -------------------------------------------------------------------------------------------- CIFAR-10


def batch_pickle(images: np.ndarray, labels: np.ndarray) -> bytes:
    """A CIFAR-10 python batch as the official files hold it: planar rows of 3072 bytes, a labels list."""
    rows = images.transpose(0, 3, 1, 2).reshape(len(images), 3072)
    return pickle.dumps({b"batch_label": b"test", b"data": rows, b"labels": [int(v) for v in labels]}, protocol=2)


def tiny_cifar(n: int = 3, seed: int = 1) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    return {
        name: (rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, n, dtype=np.uint8))
        for name in names
    }


def write_archive(path: Path, batches) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, (x, y) in batches.items():
            raw = batch_pickle(x, y)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            archive.addfile(info, io.BytesIO(raw))
    return path


def write_folder(folder: Path, batches) -> Path:
    folder.mkdir(parents=True)
    for name, (x, y) in batches.items():
        (folder / name).write_bytes(batch_pickle(x, y))
    return folder


def assert_matches(cifar: data.Cifar10, batches) -> None:
    x_train = np.concatenate([batches[f"data_batch_{i}"][0] for i in range(1, 6)])
    y_train = np.concatenate([batches[f"data_batch_{i}"][1] for i in range(1, 6)])
    np.testing.assert_array_equal(cifar.x_train, x_train)
    np.testing.assert_array_equal(cifar.y_train, y_train)
    np.testing.assert_array_equal(cifar.x_test, batches["test_batch"][0])
    assert not cifar.synthetic


def test_offline_cifar10_is_announced_and_labelled_synthetic():
    with pytest.warns(FallbackDataWarning, match="SYNTHETIC"):
        cifar = data.load_cifar10(offline=True, limit=64)
    assert cifar.synthetic and "meaningless for accuracy" in cifar.note
    assert cifar.x_train.shape == (64, 32, 32, 3) and cifar.x_train.dtype == np.uint8
    assert cifar.y_train.shape == (64,) and set(np.unique(cifar.y_train)) <= set(range(10))
    assert "synthetic=True" in repr(cifar)


def test_cifar10_download_failure_gives_synthetic_data():
    with pytest.warns(FallbackDataWarning, match="download failed"):
        assert data.load_cifar10(download=refuse_download, limit=8).synthetic


def test_cifar10_uses_the_keras_loader_when_it_works():
    batches = tiny_cifar()
    x, y = batches["data_batch_1"]
    cifar = data.load_cifar10(download=lambda: (x, y.reshape(-1, 1), x[:2], y[:2].reshape(-1, 1)))
    assert not cifar.synthetic and cifar.y_train.shape == (3,) and "keras" in cifar.source


def test_cifar10_reads_the_official_archive_from_the_data_folder(tmp_path, monkeypatch):
    batches = tiny_cifar()
    archive = write_archive(tmp_path / data.CIFAR10_ARCHIVE, batches)
    monkeypatch.setattr(data, "CIFAR10_SHA256", data.sha256_of(archive))
    cifar = data.load_cifar10(data_dir=tmp_path, download=refuse_download)
    assert_matches(cifar, batches)
    assert str(archive) in cifar.source


def test_cifar10_archive_with_the_wrong_checksum_is_skipped_and_kept(tmp_path):
    archive = write_archive(tmp_path / data.CIFAR10_ARCHIVE, tiny_cifar())
    before = archive.read_bytes()
    with pytest.warns(FallbackDataWarning) as record:
        cifar = data.load_cifar10(data_dir=tmp_path, offline=True, limit=4)
    assert said(record, "left as it is") and said(record, "SYNTHETIC")
    assert cifar.synthetic and archive.read_bytes() == before


def test_cifar10_reads_an_extracted_folder_and_the_keras_cache(tmp_path, isolated):
    batches = tiny_cifar()
    write_folder(tmp_path / "mine" / data.CIFAR10_FOLDER, batches)
    assert_matches(data.load_cifar10(data_dir=tmp_path / "mine", offline=True), batches)
    write_folder(isolated / "keras" / "datasets" / "cifar-10-batches-py-target" / data.CIFAR10_FOLDER, batches)
    cached = data.load_cifar10(offline=True, limit=2)
    assert "Keras cache" in cached.source and cached.x_train.shape == (2, 32, 32, 3)


def test_cifar10_pixel_layout_is_channels_last():
    image = np.zeros((1, 32, 32, 3), dtype=np.uint8)
    image[0, 1, 2] = (10, 20, 30)
    raw = batch_pickle(image, np.array([7]))
    rows = pickle.loads(raw)[b"data"]
    assert rows[0, 0 * 1024 + 34] == 10 and rows[0, 2 * 1024 + 34] == 30  # planar R, G, B as in the real files
    x, y = data._parse_batch(raw, "test")
    np.testing.assert_array_equal(x, image)
    assert y.tolist() == [7]


def test_a_batch_file_with_foreign_code_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    folder = write_folder(tmp_path / "evil", tiny_cifar())
    (folder / "test_batch").write_bytes(pickle.dumps({b"data": Evil(), b"labels": []}, protocol=2))
    with pytest.raises(ValueError, match="not a CIFAR-10 batch file.*no place"):
        data.read_cifar10_folder(folder)


def test_an_incomplete_archive_says_what_is_missing(tmp_path):
    batches = tiny_cifar()
    del batches["data_batch_3"]
    with pytest.raises(ValueError, match="lacks data_batch_3"):
        data.read_cifar10_archive(write_archive(tmp_path / "a.tar.gz", batches))


def test_synthetic_cifar10_repeats_with_its_seed():
    a, b, c = (data.synthetic_cifar10(20, 5, seed=s) for s in (3, 3, 4))
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert not np.array_equal(a.x_train, c.x_train)
    assert a.x_test.shape == (5, 32, 32, 3) and a.synthetic


@pytest.mark.parametrize("limit", [0, -3, 2.5, True])
def test_cifar10_limit_must_be_a_count(limit):
    with pytest.raises(ValueError, match="limit"):
        data.load_cifar10(limit=limit, offline=True)


# ----------------------------------------------------------------------------------- input pipelines


def test_flatten_images_gives_the_mlp_inputs():
    x = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    flat = data.flatten_images(x)
    assert flat.shape == (4, 3072) and flat.dtype == np.float32
    np.testing.assert_allclose(flat, x.reshape(4, -1) / 255.0, rtol=1e-6)
    with pytest.raises(ValueError, match="batch axis"):
        data.flatten_images(np.zeros(3))


def test_whole_batches_drops_the_remainder():
    x, y = data.whole_batches(np.arange(10), np.arange(10) * 2, batch_size=4)
    assert x.tolist() == list(range(8)) and len(y) == 8
    with pytest.raises(ValueError, match="different lengths"):
        data.whole_batches(np.arange(10), np.arange(9), batch_size=4)
    with pytest.raises(ValueError, match="only 3 samples for batch_size=4"):
        data.whole_batches(np.arange(3), batch_size=4)


def test_per_replica_batch():
    assert data.per_replica_batch(1024, 8) == (1024, "batch 1024 splits evenly: 128 per replica on 8")
    size, message = data.per_replica_batch(1023, 8)
    assert size == 1016 and "does not divide across 8 replicas" in message and "1016" in message
    assert data.per_replica_batch(5, 8)[0] == 8
    for bad in (0, -8):
        with pytest.raises(ValueError, match="at least 1"):
            data.per_replica_batch(bad, 8)
    for bad in (2.5, True, "8"):
        with pytest.raises(TypeError, match="whole number"):
            data.per_replica_batch(1024, bad)


@given(st.integers(1, 100_000), st.integers(1, 512))
def test_per_replica_batch_always_divides(batch, replicas):
    size, message = data.per_replica_batch(batch, replicas)
    assert size % replicas == 0 and size >= replicas
    assert size == batch if batch % replicas == 0 else (size > batch - replicas and str(size) in message)


def test_char_arrays_are_next_byte_windows():
    text = "To be, or not to be, that is the question:\n" * 5
    codes = text.encode()
    x, y = data.char_arrays(text, seq_len=10, stride=7)
    assert x.shape == y.shape and x.shape[1] == 10 and x.dtype == np.int32
    assert len(x) == len(range(0, len(codes) - 10, 7))
    for row, start in zip(x, range(0, len(codes), 7)):
        assert bytes(row.astype(np.uint8)) == codes[start : start + 10]
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])
    xs, _ = data.char_arrays(text, seq_len=10, stride=7, shuffle=True, seed=1)
    assert sorted(map(bytes, xs.astype(np.uint8))) == sorted(map(bytes, x.astype(np.uint8)))
    xb, yb = data.char_arrays(text, seq_len=10, batch_size=4)
    assert len(xb) % 4 == 0 and len(xb) == len(yb)
    with pytest.raises(ValueError, match="too few"):
        data.char_arrays("short", seq_len=10)


def test_encode_text_is_utf8_bytes():
    assert data.encode_text("Ab").tolist() == [65, 98]
    assert data.encode_text("é").tolist() == [0xC3, 0xA9]
    with pytest.raises(TypeError, match="str"):
        data.encode_text(b"bytes")


@needs_real_text
def test_the_real_text_makes_the_lectures_batches():
    x, y = data.char_arrays(REAL_TEXT.read_text(), seq_len=100, batch_size=1024)
    assert x.shape == (10 * 1024, 100)  # 11,153 windows of 101 bytes, cut to ten whole batches
    assert bytes(x[0, :14].astype(np.uint8)) == b"First Citizen:"


def test_tf_datasets_have_static_shapes():
    tf = pytest.importorskip("tensorflow")
    text = "All the world's a stage, and all the men and women merely players. " * 40
    chars = data.char_dataset(text, seq_len=20, batch_size=16, shuffle=True)
    assert chars.element_spec[0].shape == (16, 20) and chars.element_spec[1].shape == (16, 20)
    assert int(chars.cardinality()) == len(data.char_arrays(text, 20)[0]) // 16
    images = data.cifar_dataset(np.zeros((50, 3072), np.float32), np.zeros(50, np.uint8), batch_size=16, repeat=True)
    assert images.element_spec[0].shape == (16, 3072)
    assert int(images.cardinality()) == int(tf.data.INFINITE_CARDINALITY)
