"""Every command that fails leaves the file system as it found it, and says so in one line (issue 24).

A new output folder is removed, an existing one keeps every byte; a results file is appended to whole or not
at all; SIGINT and SIGTERM during a command that writes leave what was there intact; a writer killed mid-append
loses nothing saved before. File errors name the path and the fix.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tpu_lecture import files, handout
from tpu_lecture.__main__ import main
from tpu_lecture.bench import harness, store
from tpu_lecture.bench.record import BenchmarkResult

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too) and its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def one_error_line(capsys) -> str:
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, (out, err)
    return lines[0]


def existing_handout(folder: Path) -> dict[str, bytes]:
    """A folder holding an earlier handout (pages the handout would replace) and a file of the user's."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("00_start_here.html", "index.html"):
        (folder / name).write_text(f"<html><head>{handout.MARKER}</head><body>the earlier {name}</body></html>")
    (folder / "notes.txt").write_text("the user's own notes")
    return snapshot(folder)


# ------------------------------------------------------------------------------ handout


@pytest.fixture(params=["not json", "", "{\"cells\": 3}", "[1, 2]"], ids=["text", "empty", "bad-cells", "list"])
def bad_notebook(request, tmp_path) -> Path:
    path = tmp_path / "bad.ipynb"
    path.write_text(request.param)
    return path


def test_handout_of_a_bad_notebook_leaves_no_new_folder(bad_notebook, tmp_path, capsys):
    pytest.importorskip("nbconvert")
    for out in (tmp_path / "new", tmp_path / "deep" / "er" / "new"):
        assert main(["handout", "--out", str(out), str(bad_notebook)]) == 2
        assert "bad.ipynb" in one_error_line(capsys)
        assert not out.exists() and not (tmp_path / "deep").exists()


def test_handout_of_a_bad_notebook_leaves_an_existing_folder_as_it_was(bad_notebook, tmp_path, capsys):
    pytest.importorskip("nbconvert")
    before = existing_handout(tmp_path / "out")
    assert main(["handout", "--out", str(tmp_path / "out"), "00", str(bad_notebook)]) == 2
    one_error_line(capsys)
    assert snapshot(tmp_path / "out") == before


def test_handout_interrupted_while_writing_keeps_the_earlier_pages(tmp_path, capsys, monkeypatch):
    pytest.importorskip("nbconvert")
    before = existing_handout(tmp_path / "out")
    calls = []

    def replace_then_stop(src, dst):
        calls.append(dst)
        raise KeyboardInterrupt

    monkeypatch.setattr(files.os, "replace", replace_then_stop)
    assert main(["handout", "--out", str(tmp_path / "out"), "00"]) == 2
    assert "interrupted" in one_error_line(capsys) and calls
    assert snapshot(tmp_path / "out") == before  # no page replaced, no partial file left
    assert main(["handout", "--out", str(tmp_path / "new"), "00"]) == 2
    assert not (tmp_path / "new").exists()


# ------------------------------------------------------------------------------ bench --save, the results store


def test_bench_save_onto_a_folder_names_the_path_and_the_fix(tmp_path, capsys):
    assert main(["bench", "--quick", "--frameworks", "numpy", "--save", str(tmp_path)]) == 2
    line = one_error_line(capsys)
    assert str(tmp_path) in line and "folder" in line and "results.jsonl" in line and "Errno" not in line


def test_bench_save_into_a_missing_folder_names_the_path_and_the_fix(tmp_path, capsys):
    target = tmp_path / "no" / "such" / "r.jsonl"
    assert main(["bench", "--quick", "--frameworks", "numpy", "--save", str(target)]) == 2
    line = one_error_line(capsys)
    assert str(target) in line and f"mkdir -p {target.parent}" in line and "Errno" not in line
    assert not (tmp_path / "no").exists()


def test_bench_that_fails_leaves_no_empty_results_file(tmp_path, capsys):
    target = tmp_path / "r.jsonl"
    assert main(["bench", "--frameworks", "numpy", "--sizes", "1000000", "--save", str(target)]) == 2
    assert not target.exists()  # before: an empty file, created by the early check


def test_save_results_onto_a_folder_is_one_line_with_the_fix(tmp_path):
    with pytest.raises(OSError, match=r"cannot append results to .*: is a directory; it is a folder") as error:
        store.save_results(BenchmarkResult(name="x", median=1.0), tmp_path)
    assert "Errno" not in str(error.value)


def test_values_a_result_cannot_store_are_refused_before_the_run():
    ran = []
    for bad in (math.nan, math.inf, -math.inf, {"deep": [1, math.nan]}, object(), {1: "int key"}):
        with pytest.raises((ValueError, TypeError), match="results file"):
            harness.benchmark(lambda: ran.append(1), repeat=1, warmup=0, info={"threshold": bad})
    assert ran == []  # refused before a single call was timed


def test_a_result_that_cannot_be_stored_leaves_the_file_byte_identical(tmp_path):
    path = tmp_path / "r.jsonl"
    store.save_results(BenchmarkResult(name="kept", median=1.0), path)
    before = path.read_bytes()
    with pytest.raises(TypeError, match="cannot store"):
        store.save_results([BenchmarkResult(name="ok", median=1.0),
                            BenchmarkResult(name="bad", median=1.0, params={"x": math.nan})], path)
    assert path.read_bytes() == before


# ------------------------------------------------------------------------------ signals


def _wait_for(predicate, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_animate_keeps_the_existing_output(tmp_path, signum):
    out = tmp_path / "systolic.gif"
    out.write_bytes(b"GIF89a the earlier animation")
    before = snapshot(tmp_path)
    command = [sys.executable, "-m", "tpu_lecture", "animate", "--array", "4x4", "--m", "60", "--k", "4", "--n", "4",
               "--fps", "10", "--out", str(out)]  # 66 frames: seconds of rendering into the partial file
    process = subprocess.Popen(command, cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert _wait_for(lambda: any(p.name.startswith(".systolic.partial-") for p in tmp_path.iterdir())), \
            "animate never began to write"
        process.send_signal(signum)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    if process.returncode == 0:  # a busy machine delivered the signal after the last frame: the new file is whole
        assert out.read_bytes().startswith(b"GIF89a") and sorted(p.name for p in tmp_path.iterdir()) == [out.name]
        pytest.skip("animate finished before the signal arrived")
    assert process.returncode == 2, err
    assert err.strip().splitlines()[-1].startswith("error: ") and "Traceback" not in err
    assert snapshot(tmp_path) == before  # the earlier animation, byte for byte, and no partial file


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_handout_keeps_the_existing_output(tmp_path, signum):
    pytest.importorskip("nbconvert")
    out = tmp_path / "out"
    before = existing_handout(out)
    command = [sys.executable, "-m", "tpu_lecture", "handout", "--out", str(out)]  # the whole lecture: seconds
    process = subprocess.Popen(command, cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(4)  # past the imports, into the rendering of the pages
        process.send_signal(signum)
        _, err = process.communicate(timeout=120)
    finally:
        process.kill()
    if process.returncode == 0:  # the machine was fast enough to finish first: every page whole
        pytest.skip("the handout finished before the signal")
    assert process.returncode == 2, err
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("error: ")
    after = snapshot(out)
    if after != before:  # the signal came while the finished pages were being renamed into place: all new, whole
        assert after["notes.txt"] == before["notes.txt"] and all(
            text.rstrip().endswith(b"</html>") and b"the earlier" not in text
            for name, text in after.items() if name.endswith(".html"))
        assert not [name for name in after if ".partial-" in name]


WRITER = """
import sys
from tpu_lecture.bench import store
from tpu_lecture.bench.record import BenchmarkResult
batch = [BenchmarkResult(name=f"new {i}", median=1.0, note="x" * 2000) for i in range(2000)]
print("ready", flush=True)
while True:
    store.save_results(batch, sys.argv[1])
"""


def test_a_writer_killed_mid_append_loses_nothing_saved_before(tmp_path):
    path = tmp_path / "results.jsonl"
    store.save_results([BenchmarkResult(name=f"saved {i}", median=1.0 + i) for i in range(50)], path)
    saved = path.read_bytes()
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], cwd=ROOT, env=ENV, stdout=subprocess.PIPE,
                               text=True)
    try:
        assert process.stdout.readline().strip() == "ready"
        assert _wait_for(lambda: path.stat().st_size > len(saved) + 10_000)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        process.kill()
    assert path.read_bytes().startswith(saved)  # appends only ever add
    with pytest.warns(UserWarning) if _cut_short(path) else _no_warning():
        loaded = store.load_results(path)
    names = [r.name for r in loaded]
    assert names[:50] == [f"saved {i}" for i in range(50)]
    assert all(name.startswith("new ") for name in names[50:])
    store.save_results(BenchmarkResult(name="after", median=2.0), path)  # the next save starts a fresh line
    with pytest.warns(Warning) if _cut_short(path) else _no_warning():
        assert store.load_results(path)[-1].name == "after"


def _cut_short(path: Path) -> bool:
    lines = path.read_bytes().split(b"\n")
    return any(line and not _is_record(line) for line in lines)


def _is_record(line: bytes) -> bool:
    try:
        json.loads(line)
        return True
    except ValueError:
        return False


class _no_warning:
    def __enter__(self):
        import warnings

        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("error")

    def __exit__(self, *exc):
        return self._catch.__exit__(*exc)


def test_a_torn_last_line_is_skipped_and_the_next_save_starts_a_new_line(tmp_path):
    path = tmp_path / "results.jsonl"
    store.save_results([BenchmarkResult(name="a", median=1.0), BenchmarkResult(name="b", median=2.0)], path)
    whole = path.read_bytes()
    path.write_bytes(whole + json.dumps(BenchmarkResult(name="c", median=3.0).to_dict()).encode()[:40])
    store.save_results(BenchmarkResult(name="d", median=4.0), path)
    with pytest.warns(UserWarning, match=r"results.jsonl:3: skipped a corrupt results line"):
        assert [r.name for r in store.load_results(path)] == ["a", "b", "d"]


# ------------------------------------------------------------------------------ file errors, one line each


def _a_file(path: Path) -> Path:
    path.write_text("")
    return path


@pytest.mark.parametrize("make, says", [
    (lambda tmp: tmp, "is a folder"),
    (lambda tmp: tmp / "missing" / "x.jsonl", "mkdir -p"),
    (lambda tmp: _a_file(tmp / "f") / "x.jsonl", "a part of the path is a file"),
])
def test_describe_names_the_path_and_the_fix(tmp_path, make, says):
    target = make(tmp_path)
    with pytest.raises(OSError) as error:
        files.check_writable_file(target)
    line = files.describe(error.value)
    assert str(target) in line and says in line and "\n" not in line
