"""atomic_write: the target is either the old file or the complete new one, never half of it."""

import pytest

from m3dreid.utils.io import atomic_write, atomic_write_text


def test_writes_text_and_bytes(tmp_path):
    path = atomic_write_text(tmp_path / "sub" / "a.json", '{"x": "é"}\n')
    assert path.read_bytes() == '{"x": "é"}\n'.encode()
    atomic_write(path, lambda handle: handle.write(b"\x00\x01"))
    assert path.read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.json"]


def test_failure_keeps_the_old_file_and_removes_the_temp(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"old")

    def write(handle):
        handle.write(b"half")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        atomic_write(path, write)
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin"]
