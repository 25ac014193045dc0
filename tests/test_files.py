"""Files the package writes appear whole or not at all: a failure or an interrupt mid-write keeps the old file."""

import pytest

from tpu_lecture.files import replaced_when_done, write_atomically


def test_write_atomically_writes_text_and_bytes_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "results.html"
    write_atomically(target, "<p>é</p>")
    assert target.read_text(encoding="utf-8") == "<p>é</p>"
    write_atomically(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert [p.name for p in tmp_path.iterdir()] == ["results.html"]


@pytest.mark.parametrize("fault", [OSError("disk full"), KeyboardInterrupt()])
def test_a_write_that_fails_half_way_keeps_what_was_there(tmp_path, fault):
    target = tmp_path / "systolic.gif"
    target.write_bytes(b"the user's GIF")
    with pytest.raises(type(fault)), replaced_when_done(target) as partial:
        partial.write_bytes(b"half a")
        raise fault
    assert target.read_bytes() == b"the user's GIF"
    assert [p.name for p in tmp_path.iterdir()] == ["systolic.gif"]
