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

# A small stand-in for the Shakespeare file, with its checksum injected into the loaders: these tests make
# their own files and run everywhere (the real text is never needed, and never copied into the repository).
PLAY = ("First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n" * 400).encode()
EXPECTED = data.Expected(sha256=hashlib.sha256(PLAY).hexdigest(), size=len(PLAY))


def play_folder(folder: Path, name: str = "tinyshakespeare.txt", content: bytes = PLAY) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)
    return folder


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


def test_reads_verified_shakespeare_from_the_data_folder(monkeypatch, tmp_path):
    folder = play_folder(tmp_path / "mine")
    monkeypatch.setenv("TPU_LECTURE_DATA", str(folder))
    corpus = data.load_shakespeare(download=refuse_download, expected=EXPECTED)
    assert not corpus.fallback and corpus.text.encode() == PLAY
    assert corpus.text.startswith("First Citizen:")
    assert str(folder / "tinyshakespeare.txt") in corpus.source and "Shakespeare" in corpus.note


def test_accepts_the_name_tensorflow_downloads_as(tmp_path):
    folder = play_folder(tmp_path / "mine", "shakespeare.txt")
    corpus = data.load_shakespeare(data_dir=folder, download=refuse_download, expected=EXPECTED)
    assert not corpus.fallback and corpus.path == folder / "shakespeare.txt"


def test_the_real_checksum_is_the_one_the_loader_checks_by_default():
    published = ("86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed", 1_115_394)
    assert (data.SHAKESPEARE.sha256, data.SHAKESPEARE.size) == published
    assert data.SHAKESPEARE_BYTES == 1_115_394


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
    assert not [p for p in data.cache_folder().glob("*") if p.name != data.Cache.MANIFEST], \
        "a failed download left a file in the cache"


def test_download_is_verified_cached_listed_and_reused(isolated):
    download = serve(PLAY)
    first = data.load_shakespeare(download=download, expected=EXPECTED)
    assert not first.fallback and "downloaded from" in first.source
    assert download.calls == [data.SHAKESPEARE_URL]
    second = data.load_shakespeare(download=refuse_download, expected=EXPECTED)
    assert second.text == first.text and "cache" in second.source
    assert second.path == isolated / "cache" / "shakespeare.txt"
    assert data.Cache(isolated / "cache").wrote("shakespeare.txt")
    assert sorted(p.name for p in (isolated / "cache").iterdir()) == sorted([data.Cache.MANIFEST, "shakespeare.txt"])


def corrupted(content: bytes, how: str) -> bytes:
    if how == "truncated":
        return content[: len(content) // 2]
    flipped = bytearray(content)
    flipped[1234] ^= 0x20
    return bytes(flipped)


@pytest.mark.parametrize("how", ["truncated", "one byte flipped"])
def test_the_checksum_rejects_a_corrupted_file(tmp_path, how):
    path = tmp_path / "shakespeare.txt"
    path.write_bytes(corrupted(PLAY, how))
    problem = data.shakespeare_problem(path, EXPECTED)
    assert problem is not None and ("bytes" if how == "truncated" else "sha256") in problem
    path.write_bytes(PLAY)
    assert data.shakespeare_problem(path, EXPECTED) is None


@pytest.mark.parametrize("how", ["truncated", "one byte flipped"])
def test_a_damaged_copy_the_package_cached_is_replaced(isolated, how):
    data.load_shakespeare(download=serve(PLAY), expected=EXPECTED)
    cached = isolated / "cache" / "shakespeare.txt"
    cached.write_bytes(corrupted(PLAY, how))
    download = serve(PLAY)
    with pytest.warns(FallbackDataWarning, match="damaged and is deleted"):
        corpus = data.load_shakespeare(download=download, expected=EXPECTED)
    assert not corpus.fallback and corpus.text.encode() == PLAY
    assert download.calls and cached.read_bytes() == PLAY


def test_a_damaged_copy_is_never_trained_on_and_a_foreign_one_is_kept(isolated):
    cached = isolated / "cache" / "shakespeare.txt"
    cached.parent.mkdir(parents=True)
    cached.write_text("ROMEO: a file the package did not write\n" * 100)
    with pytest.warns(FallbackDataWarning) as record:
        corpus = data.load_shakespeare(offline=True, expected=EXPECTED)
    assert corpus.fallback and "did not write" not in corpus.text
    assert said(record, "left as it is") and cached.exists()


def test_data_and_cache_in_one_folder_never_lose_your_file(monkeypatch, tmp_path):
    """Finding 1 of the robustness issue: an edited shakespeare.txt was first 'left as it is', then deleted."""
    folder = play_folder(tmp_path / "both", "shakespeare.txt", b"my own edited Shakespeare\n")
    monkeypatch.setenv("TPU_LECTURE_DATA", str(folder))
    monkeypatch.setenv("TPU_LECTURE_CACHE", str(folder))
    with pytest.warns(FallbackDataWarning):
        corpus = data.load_shakespeare(offline=True, expected=EXPECTED)
    assert corpus.fallback
    assert (folder / "shakespeare.txt").read_bytes() == b"my own edited Shakespeare\n"
    cache = data.Cache(folder, user_folder=folder)
    cache._record("shakespeare.txt", "0" * 64, "listed by mistake")
    assert not cache.wrote("shakespeare.txt"), "a cache that is your data folder deletes nothing"


def test_a_cache_that_cannot_delete_falls_back(isolated, monkeypatch):
    """Finding 8: a read-only cache holding a damaged copy raised PermissionError instead of falling back."""
    data.load_shakespeare(download=serve(PLAY), expected=EXPECTED)
    cached = isolated / "cache" / "shakespeare.txt"
    cached.write_bytes(b"damaged")
    real_unlink = Path.unlink

    def read_only(self, *args, **kwargs):
        if self.parent == cached.parent:
            raise PermissionError(13, "Permission denied", str(self))
        return real_unlink(self, *args, **kwargs)

    monkeypatch.setattr(Path, "unlink", read_only)
    with pytest.warns(FallbackDataWarning) as record:
        corpus = data.load_shakespeare(download=serve(PLAY), expected=EXPECTED)
    assert said(record, "could not be deleted") and not corpus.text.startswith("damaged")


def test_a_download_that_is_not_the_file_is_rejected(isolated):
    with pytest.warns(FallbackDataWarning, match="not the expected file"):
        corpus = data.load_shakespeare(download=serve(b"<html>captive portal</html>"), expected=EXPECTED)
    assert corpus.fallback
    assert not (isolated / "cache" / "shakespeare.txt").exists()
    assert not [p for p in (isolated / "cache").iterdir() if p.name != data.Cache.MANIFEST]


def test_an_interrupted_download_leaves_nothing(isolated):
    def half_then_fail(url, dest):
        dest.write_bytes(PLAY[:100])
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        data.load_shakespeare(download=half_then_fail, expected=EXPECTED)
    assert not list((isolated / "cache").iterdir())


@pytest.mark.parametrize("kind", ["missing", "a file", "no expected files"])
@pytest.mark.parametrize("loader", [data.load_shakespeare, data.load_cifar10])
def test_a_data_folder_setting_that_names_no_data_says_so_and_falls_back(monkeypatch, tmp_path, loader, kind):
    target = tmp_path / "no" / "such" / "folder"
    if kind == "a file":
        target = tmp_path / "notes.txt"
        target.write_text("not a folder")
    elif kind == "no expected files":
        target.mkdir(parents=True)
    monkeypatch.setenv("TPU_LECTURE_DATA", str(target))
    with pytest.warns(FallbackDataWarning) as record:
        result = loader(offline=True)
    assert getattr(result, "fallback", None) or getattr(result, "synthetic", None)
    messages = [str(w.message) for w in record]
    assert any(str(target) in m for m in messages), messages
    if kind != "no expected files":
        assert any("TPU_LECTURE_DATA points at" in m and "ignoring it" in m for m in messages)
    assert not any("shared" in m for m in messages)


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
    monkeypatch.setattr(data, "CIFAR10", data.Expected(sha256=data.sha256_of(archive)))
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


@pytest.mark.parametrize("damage", ["label 10", "label -1", "float pixels", "scaled pixels", "wrong shape"])
def test_cifar10_that_is_not_cifar10_is_refused_before_training(tmp_path, damage):
    """Finding 5: out-of-range labels and pixels of the wrong dtype or scale were accepted and trained on."""
    batches = tiny_cifar()
    x, y = batches["data_batch_2"]
    if damage == "label 10":
        y = y.copy()
        y[0] = 10
    elif damage == "label -1":
        y = y.astype(np.int64)
        y[0] = -1
    elif damage == "float pixels":
        x = x.astype(np.float32)
    elif damage == "scaled pixels":
        x = x.astype(np.float64) / 255
    batches["data_batch_2"] = (x, y)
    folder = tmp_path / "mine"
    if damage == "wrong shape":
        write_folder(folder / data.CIFAR10_FOLDER, batches)
        download = lambda: (x[:, :16], y, x, y)  # noqa: E731 — a Keras loader gone wrong
        with pytest.warns(FallbackDataWarning) as record:
            cifar = data.load_cifar10(download=download, limit=4)
        assert said(record, "not (N, 32, 32, 3)") and cifar.synthetic
        return
    write_folder(folder / data.CIFAR10_FOLDER, batches)
    with pytest.warns(FallbackDataWarning) as record:
        cifar = data.load_cifar10(data_dir=folder, offline=True, limit=4)
    assert cifar.synthetic and said(record, "not trained on")
    expected = {"label 10": "not 0–9", "label -1": "not 0–9", "float pixels": "not uint8",
                "scaled pixels": "not uint8"}[damage]
    assert said(record, expected)


def test_a_damaged_extracted_folder_is_skipped_not_fatal(tmp_path):
    folder = write_folder(tmp_path / "mine" / data.CIFAR10_FOLDER, tiny_cifar())
    (folder / "data_batch_4").write_bytes(b"not a pickle")
    with pytest.warns(FallbackDataWarning) as record:
        cifar = data.load_cifar10(data_dir=tmp_path / "mine", offline=True, limit=2)
    assert cifar.synthetic and said(record, "not a CIFAR-10 batch file") and said(record, "left as it is")


def test_cifar10_problem_accepts_the_real_layout():
    batches = tiny_cifar()
    x, y = batches["test_batch"]
    assert data.cifar10_problem(x, y, x, y.reshape(-1, 1)) is None
    assert "3 train images but 2 labels" in data.cifar10_problem(x, y[:2], x, y)


def test_synthetic_cifar10_repeats_with_its_seed():
    a, b, c = (data.synthetic_cifar10(20, 5, seed=s) for s in (3, 3, 4))
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert not np.array_equal(a.x_train, c.x_train)
    assert a.x_test.shape == (5, 32, 32, 3) and a.synthetic


@pytest.mark.parametrize("limit", [0, -3, 2.5, True])
def test_cifar10_limit_must_be_a_count(limit):
    with pytest.raises((ValueError, TypeError), match="limit"):
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


def test_a_text_the_size_of_tiny_shakespeare_makes_the_lectures_batches():
    text = "First Citizen:\n" + "x" * (1_115_394 - 15)
    x, y = data.char_arrays(text, seq_len=100, batch_size=1024)
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


def test_split_text_holds_out_the_end_at_a_line_break():
    text = "".join(f"line {i}\n" for i in range(100))
    train, held = data.split_text(text, 0.1)
    assert train + held == text and train.endswith("\n") and held.startswith("line ")
    assert 0.08 < len(held) / len(text) < 0.13
    for bad in (0, 1, 1.5):
        with pytest.raises(ValueError, match=r"held_out must be in \(0, 1\)"):
            data.split_text(text, bad)
    with pytest.raises(ValueError, match="too short to hold out"):
        data.split_text("ab", 0.1)
    with pytest.raises(TypeError, match="must be a str"):
        data.split_text(b"bytes")


def test_char_windows_start_at_random_places_and_repeat_with_their_seed():
    text = "".join(map(chr, np.random.default_rng(0).integers(65, 91, 500)))  # no window appears twice
    x, y = data.char_windows(text, 10, 40, seed=3)
    assert x.shape == y.shape == (40, 10) and x.dtype == np.int32
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])
    codes = text.encode()
    starts = [codes.index(bytes(row.astype(np.uint8))) for row in x]  # every window is a piece of the text
    assert len(set(starts)) == 40, "starts do not repeat while the text has enough of them"
    np.testing.assert_array_equal(data.char_windows(text, 10, 40, seed=3)[0], x)
    assert not np.array_equal(data.char_windows(text, 10, 40, seed=4)[0], x)
    many, _ = data.char_windows("abcdefghijkl", 10, 9, seed=0)  # more windows than starts: repeats allowed
    assert many.shape == (9, 10)
    with pytest.raises(ValueError, match="too few for one window"):
        data.char_windows("short", 10, 1)
