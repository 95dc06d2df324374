"""Checking the chain: each kind of tampering is found, named, and placed exactly."""

from __future__ import annotations

import json
from pathlib import Path

from corral.audit._log import EventLog
from corral.audit._verify import BREAK_KINDS, Break, verify_log


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


def test_every_break_kind_is_one_the_schema_names() -> None:
    assert set(BREAK_KINDS) == {
        "torn",
        "altered",
        "missing",
        "out-of-order",
        "start-missing",
        "truncated",
        "head-mismatch",
        "not-a-record",
    }
