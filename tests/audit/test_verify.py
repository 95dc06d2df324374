"""Checking the chain: each kind of tampering is found, named, and placed exactly."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from corral.audit._log import EventLog
from corral.audit._verify import Break, verify_log


def _log(state: Path, count: int, *, rotate_bytes: int = 32 << 20) -> EventLog:
    log = EventLog(state, rotate_bytes=rotate_bytes)
    for n in range(count):
        log.append({"event": "test.happened", "n": n})
    return log


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def _write(path: Path, lines: list[bytes]) -> None:
    """Rewrite `path` in place, as an editor that keeps the file would."""
    with path.open("r+b") as file:
        file.write(b"".join(lines))
        file.truncate()


def _edit(line: bytes, **changes: object) -> bytes:
    record = json.loads(line)
    record.update(changes)
    return json.dumps(record, sort_keys=True, separators=(",", ":")).encode() + b"\n"


def _where(breaks: tuple[Break, ...]) -> list[tuple[str, int, int | None, str]]:
    return [(b.path.name, b.line, b.seq, b.kind) for b in breaks]


def test_an_untouched_log_verifies_across_its_files(tmp_path: Path) -> None:
    log = _log(tmp_path, 39, rotate_bytes=1000)
    last = log.append({"event": "last"})
    result = verify_log(tmp_path)
    assert result.ok
    assert (result.records, result.files) == (40, len(log.files()))
    assert (result.first_seq, result.last_seq) == (1, 40)
    assert result.last_digest == last.digest


def test_an_empty_log_verifies(tmp_path: Path) -> None:
    result = verify_log(tmp_path)
    assert result.ok
    assert (result.records, result.files, result.last_seq) == (0, 0, None)


def test_an_edited_field_names_the_record_that_was_changed(tmp_path: Path) -> None:
    log = _log(tmp_path, 8)
    lines = _lines(log.current)
    lines[4] = _edit(lines[4], event="something.else")
    _write(log.current, lines)
    result = verify_log(tmp_path)
    assert _where(result.breaks) == [("events.jsonl", 5, 5, "altered")]
    assert "record 5 at line 5 was changed after it was written" in (
        result.breaks[0].message
    )
    assert "record 6's prev" in result.breaks[0].message


def test_a_deleted_record_is_named_missing(tmp_path: Path) -> None:
    log = _log(tmp_path, 8)
    lines = _lines(log.current)
    del lines[4]
    _write(log.current, lines)
    result = verify_log(tmp_path)
    assert _where(result.breaks) == [("events.jsonl", 5, 5, "missing")]
    assert result.breaks[0].message.startswith("record 5 is missing")


def test_two_swapped_records_are_named_out_of_order(tmp_path: Path) -> None:
    log = _log(tmp_path, 8)
    lines = _lines(log.current)
    lines[4], lines[5] = lines[5], lines[4]
    _write(log.current, lines)
    result = verify_log(tmp_path)
    assert _where(result.breaks) == [("events.jsonl", 6, 5, "out-of-order")]
    assert "belongs before record 6 at line 5" in result.breaks[0].message


def test_a_copied_record_is_named_a_repeat(tmp_path: Path) -> None:
    log = _log(tmp_path, 5)
    lines = _lines(log.current)
    _write(log.current, [*lines, lines[1]])
    result = verify_log(tmp_path)
    assert _where(result.breaks)[0] == ("events.jsonl", 6, 2, "out-of-order")
    assert "repeats record 2 at line 2" in result.breaks[0].message


def test_a_tail_cut_off_is_named_by_the_records_the_witness_saw(
    tmp_path: Path,
) -> None:
    log = _log(tmp_path, 10)
    _write(log.current, _lines(log.current)[:7])
    result = verify_log(tmp_path)
    assert _where(result.breaks) == [("events.jsonl", 8, 8, "truncated")]
    assert result.breaks[0].message.startswith("records 8..10 are missing at the end")


def test_a_log_cut_in_the_middle_of_a_line_shows_the_torn_line_and_the_loss(
    tmp_path: Path,
) -> None:
    log = _log(tmp_path, 10)
    lines = _lines(log.current)
    _write(log.current, [*lines[:6], lines[6][:40]])
    result = verify_log(tmp_path)
    assert _where(result.breaks) == [
        ("events.jsonl", 7, None, "torn"),
        ("events.jsonl", 7, 7, "truncated"),
    ]
    assert "records 7..10 are missing at the end" in result.breaks[1].message


def test_a_removed_rotated_file_is_named_by_the_records_it_held(
    tmp_path: Path,
) -> None:
    log = _log(tmp_path, 30, rotate_bytes=1000)
    files = log.files()
    assert len(files) >= 4
    gone = files[1]
    held = [json.loads(line)["seq"] for line in _lines(gone)]
    gone.unlink()
    result = verify_log(tmp_path)
    assert _where(result.breaks) == [(files[2].name, 1, held[0], "missing")]
    assert result.breaks[0].message.startswith(
        f"records {held[0]}..{held[-1]} are missing: {files[2].name} begins where "
        "its name says, so a rotated file before it was removed"
    )


def test_removed_oldest_files_are_named_a_missing_start(tmp_path: Path) -> None:
    log = _log(tmp_path, 30, rotate_bytes=1000)
    files = log.files()
    first_kept = json.loads(_lines(files[1])[0])["seq"]
    files[0].unlink()
    result = verify_log(tmp_path)
    assert _where(result.breaks) == [(files[1].name, 1, 1, "start-missing")]
    assert result.breaks[0].message.startswith(
        f"records 1..{first_kept - 1} are missing"
    )
    assert "older files were removed" in result.breaks[0].message


def test_an_edited_last_record_is_caught_by_the_witness(tmp_path: Path) -> None:
    log = _log(tmp_path, 6)
    lines = _lines(log.current)
    lines[-1] = _edit(lines[-1], n=1000)
    _write(log.current, lines)
    result = verify_log(tmp_path)
    assert _where(result.breaks) == [("events.jsonl", 6, 6, "head-mismatch")]
    assert "record 6 (the last) was changed" in result.breaks[0].message


def test_the_last_record_of_a_rotated_file_edited_is_named_in_that_file(
    tmp_path: Path,
) -> None:
    log = _log(tmp_path, 20, rotate_bytes=1000)
    first = log.files()[0]
    lines = _lines(first)
    lines[-1] = _edit(lines[-1], n=-1)
    _write(first, lines)
    seq = json.loads(lines[-1])["seq"]
    result = verify_log(tmp_path)
    assert _where(result.breaks) == [(first.name, len(lines), seq, "altered")]


def test_a_line_that_is_not_json_is_named_and_the_chain_goes_on(
    tmp_path: Path,
) -> None:
    log = _log(tmp_path, 5)
    lines = _lines(log.current)
    lines.insert(2, b"hello\n")
    _write(log.current, lines)
    result = verify_log(tmp_path)
    assert _where(result.breaks) == [("events.jsonl", 3, None, "not-a-record")]
    assert result.records == 5


def test_every_break_is_listed_and_the_first_is_the_headline(tmp_path: Path) -> None:
    log = _log(tmp_path, 12)
    lines = _lines(log.current)
    lines[9] = _edit(lines[9], event="late edit")
    del lines[6]
    lines[2] = _edit(lines[2], event="early edit")
    _write(log.current, lines)
    result = verify_log(tmp_path)
    assert _where(result.breaks) == [
        ("events.jsonl", 3, 3, "altered"),
        ("events.jsonl", 7, 7, "missing"),
        ("events.jsonl", 9, 10, "altered"),
    ]


def test_a_renumbered_first_record_is_named(tmp_path: Path) -> None:
    log = _log(tmp_path, 3)
    lines = _lines(log.current)
    _write(log.current, [_edit(lines[0], prev="1" * 64), *lines[1:]])
    result = verify_log(tmp_path)
    assert _where(result.breaks)[0] == ("events.jsonl", 1, 1, "altered")


def test_a_torn_record_left_by_a_crash_is_the_only_break(tmp_path: Path) -> None:
    """The writer skips a torn line, so the chain around it still holds."""
    log = _log(tmp_path, 3)
    with log.current.open("ab") as file:
        file.write(b'{"event":"half')
    _log(tmp_path, 2)
    result = verify_log(tmp_path)
    assert _where(result.breaks) == [("events.jsonl", 4, None, "torn")]
    assert result.records == 5


def test_a_tail_cut_off_with_the_witness_removed_is_still_a_break(
    tmp_path: Path,
) -> None:
    log = _log(tmp_path, 10)
    _write(log.current, _lines(log.current)[:7])
    (tmp_path / "events.head").unlink()
    result = verify_log(tmp_path)
    assert _where(result.breaks) == [("events.head", 0, None, "witness-missing")]
    assert "the end of the log cannot be checked" in result.breaks[0].message


@pytest.mark.parametrize("content", [b"garbage\n", b"", b'{"seq":"x"}'])
def test_a_garbled_or_emptied_witness_is_a_break(
    tmp_path: Path, content: bytes
) -> None:
    log = _log(tmp_path, 3)
    _write(log.current, _lines(log.current)[:2])
    (tmp_path / "events.head").write_bytes(content)
    result = verify_log(tmp_path)
    assert _where(result.breaks) == [("events.head", 0, None, "witness-unreadable")]
    assert "the end of the log cannot be checked" in result.breaks[0].message


def test_a_record_written_over_a_rebuilt_witness_stays_a_break(
    tmp_path: Path,
) -> None:
    """The writer rebuilds a removed witness, and the evidence stays in the log."""
    log = _log(tmp_path, 5)
    _write(log.current, _lines(log.current)[:3])
    (tmp_path / "events.head").unlink()
    log.append({"event": "after"})
    result = verify_log(tmp_path)
    assert _where(result.breaks) == [("events.jsonl", 4, 4, "witness-rebuilt")]
    assert "events.head was missing" in result.breaks[0].message


def test_a_log_without_records_needs_no_witness(tmp_path: Path) -> None:
    (tmp_path / "events.jsonl").write_bytes(b"")
    assert verify_log(tmp_path).ok


@pytest.mark.parametrize("planted", ["fifo", "symlink", "directory"])
def test_something_other_than_a_file_at_a_rotated_name_is_a_break(
    tmp_path: Path, planted: str
) -> None:
    log = _log(tmp_path, 3)
    path = tmp_path / "events.000000000002.jsonl"
    if planted == "fifo":
        os.mkfifo(path, 0o600)
    elif planted == "symlink":
        path.symlink_to(log.current)
    else:
        path.mkdir()
    result = verify_log(tmp_path)
    assert _where(result.breaks) == [(path.name, 0, 2, "not-a-file")]
    assert "move it out of the state directory" in result.breaks[0].message


def test_a_fifo_at_the_witness_is_a_break_not_a_hang(tmp_path: Path) -> None:
    _log(tmp_path, 3)
    (tmp_path / "events.head").unlink()
    os.mkfifo(tmp_path / "events.head", 0o600)
    result = verify_log(tmp_path)
    assert _where(result.breaks) == [("events.head", 0, None, "witness-unreadable")]
    assert "a FIFO" in result.breaks[0].message


def test_an_empty_file_with_a_rotated_name_is_a_break(tmp_path: Path) -> None:
    log = _log(tmp_path, 20, rotate_bytes=1000)
    second = log.files()[1]
    first = json.loads(_lines(second)[0])["seq"]
    planted = tmp_path / f"events.{first + 2:012d}.jsonl"
    planted.write_bytes(b"")
    result = verify_log(tmp_path)
    assert _where(result.breaks) == [(planted.name, 0, first + 2, "empty-file")]


def test_a_rotated_file_renamed_from_its_first_record_is_a_break(
    tmp_path: Path,
) -> None:
    log = _log(tmp_path, 20, rotate_bytes=1000)
    second = log.files()[1]
    first = json.loads(_lines(second)[0])["seq"]
    renamed = tmp_path / f"events.{first - 1:012d}.jsonl"
    second.rename(renamed)
    result = verify_log(tmp_path)
    assert _where(result.breaks) == [(renamed.name, 0, first - 1, "misnamed")]
    assert f"its first record is {first}" in result.breaks[0].message


def test_a_rotated_name_spelled_in_other_digits_is_not_a_log_file(
    tmp_path: Path,
) -> None:
    log = _log(tmp_path, 20, rotate_bytes=1000)
    second = log.files()[1]
    arabic = str.maketrans(
        "0123456789", "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669"
    )
    second.rename(tmp_path / second.name.translate(arabic))
    assert second not in log.files()
    assert not verify_log(tmp_path).ok


def test_a_line_nested_too_deep_to_parse_is_not_a_record(tmp_path: Path) -> None:
    log = _log(tmp_path, 3)
    lines = _lines(log.current)
    lines.insert(1, b"[" * 100_000 + b"]" * 100_000 + b"\n")
    lines.append(b'{"a":' * 100_000 + b"1" + b"}" * 100_000 + b"\n")
    _write(log.current, lines)
    result = verify_log(tmp_path)
    assert _where(result.breaks) == [
        ("events.jsonl", 2, None, "not-a-record"),
        ("events.jsonl", 5, None, "not-a-record"),
    ]
    assert "nested deeper" in result.breaks[0].message


@pytest.mark.parametrize("where", [2, 4])
def test_a_record_altered_to_hold_bytes_corral_never_writes_is_named_altered(
    tmp_path: Path, where: int
) -> None:
    """Neither torn nor deleted: the record in that place was changed."""
    log = _log(tmp_path, 5)
    lines = _lines(log.current)
    lines[where] = lines[where].replace(b'"n":', b'"m":"\xff\xfe","n":')
    _write(log.current, lines)
    result = verify_log(tmp_path)
    assert _where(result.breaks) == [("events.jsonl", where + 1, where + 1, "altered")]
    assert "not a record as corral writes it" in result.breaks[0].message
