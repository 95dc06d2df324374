"""The chained log: each record linked to the one before, whatever crashed between."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from corral._files import StateFileError
from corral.audit._log import GENESIS, EventLog, events_path
from corral.audit._read import Entry, entries, head, records_after
from corral.audit._verify import verify_log
from tests.support import promptly


def _records(state: Path) -> list[dict[str, object]]:
    return [e.record for e in entries(state) if e.record is not None]


def _seqs(found: list[Entry]) -> list[object]:
    return [e.record["seq"] if e.record else None for e in found]


def _fill(log: EventLog, count: int, **extra: object) -> None:
    for n in range(count):
        log.append({"event": "test.happened", "n": n, **extra})


def test_records_are_numbered_and_each_names_the_digest_of_the_one_before(
    tmp_path: Path,
) -> None:
    log = EventLog(tmp_path)
    first = log.append({"event": "a"})
    second = log.append({"event": "b"})
    lines = log.current.read_bytes().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["seq"] for r in records] == [1, 2]
    assert records[0]["prev"] == GENESIS
    assert records[1]["prev"] == hashlib.sha256(lines[0]).hexdigest()
    assert first.digest == records[1]["prev"]
    assert second.digest == hashlib.sha256(lines[1]).hexdigest()
    assert (second.seq, second.path) == (2, events_path(tmp_path))
    assert all(r["v"] == 2 for r in records)


def test_a_record_is_one_canonical_line_its_own_chain_fields_replaced(
    tmp_path: Path,
) -> None:
    log = EventLog(tmp_path)
    log.append({"zeta": "é", "alpha": [1, {"b": 2, "a": 1}], "seq": 99, "prev": "x"})
    (line,) = log.current.read_bytes().splitlines()
    record = json.loads(line)
    assert (record["seq"], record["prev"], record["v"]) == (1, GENESIS, 2)
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"))
    assert line == canonical.encode("ascii")


def test_the_log_its_witness_and_its_lock_are_private(tmp_path: Path) -> None:
    EventLog(tmp_path).append({"event": "a"})
    for name in ("events.jsonl", "events.head", "events.lock"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name


@pytest.mark.parametrize("name", ["events.jsonl", "events.head", "events.lock"])
def test_a_link_planted_in_place_of_a_log_file_is_refused(
    tmp_path: Path, name: str
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("untouched\n")
    (state / name).symlink_to(victim)
    with pytest.raises(StateFileError, match=f"{name} is a symbolic link"):
        EventLog(state).append({"event": "a"})
    assert victim.read_text() == "untouched\n"


def test_a_link_in_place_of_a_rotated_file_is_not_read_through(
    tmp_path: Path,
) -> None:
    victim = tmp_path / "victim"
    victim.write_text('{"seq":1}\n')
    state = tmp_path / "state"
    state.mkdir()
    (state / "events.000000000001.jsonl").symlink_to(victim)
    with pytest.raises(StateFileError, match="symbolic link"):
        list(entries(state))


def test_a_record_cut_short_stays_a_line_and_the_chain_goes_on_past_it(
    tmp_path: Path,
) -> None:
    log = EventLog(tmp_path)
    _fill(log, 2)
    with log.current.open("ab") as file:
        file.write(b'{"event":"cut sho')
    log.append({"event": "after"})
    lines = log.current.read_bytes().splitlines()
    assert lines[2] == b'{"event":"cut sho'
    assert json.loads(lines[3])["seq"] == 3
    result = verify_log(tmp_path)
    assert [(b.line, b.kind) for b in result.breaks] == [(3, "torn")]


def test_a_witness_rebuilt_for_a_log_with_records_says_so_in_the_next_record(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Removed or spoilt, the witness is rebuilt, but never silently."""
    log = EventLog(tmp_path)
    _fill(log, 3)
    (tmp_path / "events.head").unlink()
    log.append({"event": "no witness"})
    (tmp_path / "events.head").write_text("{not json")
    log.append({"event": "spoilt witness"})
    records = _records(tmp_path)
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5]
    assert [r.get("witness_rebuilt") for r in records] == [
        None, None, None, "missing", "unreadable",
    ]  # fmt: skip
    assert [r.levelname for r in caplog.records] == ["WARNING", "WARNING"]
    assert "events.head" in caplog.records[0].getMessage()
    log.append({"event": "witnessed again"})
    assert "witness_rebuilt" not in _records(tmp_path)[-1]


def test_a_crash_before_the_first_witness_was_written_is_no_rebuild(
    tmp_path: Path,
) -> None:
    """The witness is created empty with the first record: a crash may leave it so."""
    log = EventLog(tmp_path)
    log.append({"event": "first"})
    (tmp_path / "events.head").write_bytes(b"")
    log.append({"event": "second"})
    assert "witness_rebuilt" not in _records(tmp_path)[-1]
    assert verify_log(tmp_path).ok


@pytest.mark.parametrize("name", ["events.jsonl", "events.head", "events.lock"])
def test_a_fifo_at_a_log_file_is_refused_and_no_record_is_reported_written(
    tmp_path: Path, name: str
) -> None:
    log = EventLog(tmp_path)
    log.append({"event": "first"})
    (tmp_path / name).unlink()
    os.mkfifo(tmp_path / name, 0o600)
    with pytest.raises(StateFileError, match=f"{name} is a FIFO"):
        log.append({"event": "second"})


@pytest.mark.parametrize(
    ("name", "head_reads_it"),
    [
        ("events.jsonl", True),
        ("events.head", True),
        ("events.lock", False),
        ("events.000000000001.jsonl", False),
    ],
)
def test_a_reader_never_waits_on_a_fifo_at_a_log_file(
    tmp_path: Path, name: str, *, head_reads_it: bool
) -> None:
    """Refused at once: a reader blocked under the shared lock would stop writers."""
    log = EventLog(tmp_path)
    _fill(log, 2)
    if name == "events.jsonl":
        log.current.rename(tmp_path / "events.000000000001.jsonl")
    (tmp_path / name).unlink(missing_ok=True)
    os.mkfifo(tmp_path / name, 0o600)
    raised = promptly(lambda: list(entries(tmp_path)), tmp_path / name)
    assert isinstance(raised, StateFileError), raised
    assert f"{tmp_path / name} is a FIFO" in str(raised)
    raised = promptly(lambda: head(tmp_path), tmp_path / name)
    assert isinstance(raised, StateFileError) is head_reads_it, raised


def test_a_line_nested_too_deep_to_parse_is_passed_over_by_the_writer(
    tmp_path: Path,
) -> None:
    log = EventLog(tmp_path)
    _fill(log, 2)
    with log.current.open("ab") as file:
        file.write(b"[" * 100_000 + b"]" * 100_000 + b"\n")
    assert log.append({"event": "after"}).seq == 3
    (tmp_path / "events.head").unlink()
    with log.current.open("ab") as file:
        file.write(b'{"a":' * 100_000 + b"1" + b"}" * 100_000 + b"\n")
    assert log.append({"event": "after again"}).seq == 4
    assert [e.record is None for e in entries(tmp_path)] == [
        False, False, True, False, True, False,
    ]  # fmt: skip


def test_a_crash_before_the_witness_is_written_starts_no_new_chain(
    tmp_path: Path,
) -> None:
    """The log is ahead of its witness: the log's own last record comes next."""
    log = EventLog(tmp_path)
    _fill(log, 3)
    witness = (tmp_path / "events.head").read_bytes()
    log.append({"event": "written, not witnessed"})
    (tmp_path / "events.head").write_bytes(witness)
    assert head(tmp_path) is not None
    assert head(tmp_path).seq == 4  # type: ignore[union-attr]
    appended = log.append({"event": "next"})
    assert appended.seq == 5
    assert verify_log(tmp_path).ok


def test_a_crash_between_rotating_and_the_next_record_starts_no_new_chain(
    tmp_path: Path,
) -> None:
    log = EventLog(tmp_path)
    _fill(log, 3)
    log.current.rename(tmp_path / "events.000000000001.jsonl")
    appended = log.append({"event": "after the crash"})
    assert appended.seq == 4
    assert verify_log(tmp_path).ok


def test_a_log_cut_short_continues_from_its_witness_so_the_gap_shows(
    tmp_path: Path,
) -> None:
    log = EventLog(tmp_path)
    _fill(log, 6)
    lines = log.current.read_bytes().splitlines(keepends=True)
    log.current.write_bytes(b"".join(lines[:3]))
    appended = log.append({"event": "after the cut"})
    assert appended.seq == 7
    result = verify_log(tmp_path)
    assert [(b.kind, b.line, b.seq) for b in result.breaks] == [("missing", 4, 4)]
    assert "records 4..6 are missing" in result.breaks[0].message


def test_a_log_replaced_by_another_file_continues_from_its_witness(
    tmp_path: Path,
) -> None:
    log = EventLog(tmp_path)
    _fill(log, 4)
    kept = log.current.read_bytes().splitlines(keepends=True)[:2]
    log.current.unlink()
    log.current.write_bytes(b"".join(kept))
    assert log.append({"event": "after"}).seq == 5
    assert [b.seq for b in verify_log(tmp_path).breaks] == [3]


def test_a_full_log_is_rotated_under_its_first_seq_and_the_chain_crosses_files(
    tmp_path: Path,
) -> None:
    log = EventLog(tmp_path, rotate_bytes=1000)
    _fill(log, 20)
    files = log.files()
    assert len(files) > 2
    assert files[0].name == "events.000000000001.jsonl"
    assert files[-1] == log.current
    seq_of_first = [json.loads(f.read_bytes().splitlines()[0])["seq"] for f in files]
    for path, first in zip(files[:-1], seq_of_first, strict=False):
        assert path.name == f"events.{first:012d}.jsonl"
        assert path.stat().st_size <= 1000
    records = _records(tmp_path)
    assert [r["seq"] for r in records] == list(range(1, 21))
    assert verify_log(tmp_path).ok


def test_a_record_larger_than_a_file_goes_alone_into_one(tmp_path: Path) -> None:
    log = EventLog(tmp_path, rotate_bytes=200)
    log.append({"event": "small"})
    log.append({"event": "big", "pad": "x" * 500})
    log.append({"event": "small again"})
    sizes = [len(f.read_bytes().splitlines()) for f in log.files()]
    assert sizes == [1, 1, 1]
    assert verify_log(tmp_path).ok


def test_rotation_never_replaces_a_rotated_file(tmp_path: Path) -> None:
    log = EventLog(tmp_path, rotate_bytes=300)
    log.append({"event": "first"})
    planted = tmp_path / "events.000000000001.jsonl"
    planted.write_text("evidence\n")
    with pytest.raises(FileExistsError, match="never replaces a rotated file"):
        log.append({"event": "second", "pad": "x" * 300})
    assert planted.read_text() == "evidence\n"
    assert len(log.current.read_bytes().splitlines()) == 1


def test_a_log_of_unchained_records_starts_the_chain_at_one(tmp_path: Path) -> None:
    """Records of schema 1 stay where they are; the chain begins after them."""
    events_path(tmp_path).write_text('{"event":"old","v":1}\n{"event":"old","v":1}\n')
    appended = EventLog(tmp_path).append({"event": "new"})
    assert appended.seq == 1
    assert _records(tmp_path)[-1]["prev"] == GENESIS
    result = verify_log(tmp_path)
    assert result.ok
    assert (result.unchained, result.records) == (2, 1)


def test_head_names_the_last_record_even_in_a_rotated_file(tmp_path: Path) -> None:
    assert head(tmp_path) is None
    log = EventLog(tmp_path, rotate_bytes=400)
    _fill(log, 5)
    last = log.append({"event": "last"})
    found = head(tmp_path)
    assert found is not None
    assert (found.seq, found.digest) == (last.seq, last.digest)
    (tmp_path / "events.head").unlink()
    first = json.loads(log.current.read_bytes().splitlines()[0])["seq"]
    log.current.rename(tmp_path / f"events.{first:012d}.jsonl")
    found = head(tmp_path)
    assert found is not None
    assert (found.seq, found.digest) == (last.seq, last.digest)


def test_entries_name_each_line_and_leave_a_torn_one_without_a_record(
    tmp_path: Path,
) -> None:
    log = EventLog(tmp_path, rotate_bytes=300)
    _fill(log, 4)
    with log.current.open("ab") as file:
        file.write(b"{torn")
    found = list(entries(tmp_path))
    assert [(e.path.name, e.line) for e in found][:2] == [
        ("events.000000000001.jsonl", 1),
        ("events.000000000001.jsonl", 2),
    ]
    assert found[-1].record is None
    assert found[-1].raw == b"{torn"
    assert _seqs(found) == [1, 2, 3, 4, None]


def test_records_after_starts_where_asked_in_any_file(tmp_path: Path) -> None:
    log = EventLog(tmp_path, rotate_bytes=256 << 10)
    _fill(log, 3000, pad="p" * 200)
    assert len(log.files()) > 2
    everything = {e.record["seq"]: e for e in entries(tmp_path) if e.record}
    for after in (0, 1, 999, 1234, 2500, 2999, 3000, 5000):
        found = list(records_after(tmp_path, after))
        assert _seqs(found) == list(range(after + 1, 3001))
        for entry in found[:3]:
            same = everything[entry.record["seq"]]  # type: ignore[index]
            assert (entry.path, entry.line, entry.raw) == (
                same.path,
                same.line,
                same.raw,
            )


def test_records_after_passes_over_what_is_not_a_record(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    _fill(log, 2)
    with log.current.open("ab") as file:
        file.write(b"not json\n")
    _fill(log, 2)
    assert _seqs(list(records_after(tmp_path, 1))) == [2, 3, 4]


def test_records_after_is_not_misled_by_an_empty_file_with_a_rotated_name(
    tmp_path: Path,
) -> None:
    """The file a name points to must really begin by the record asked for."""
    log = EventLog(tmp_path, rotate_bytes=1000)
    _fill(log, 40)
    files = log.files()
    second = files[1]
    first_of_second = json.loads(second.read_bytes().splitlines()[0])["seq"]
    planted = tmp_path / f"events.{first_of_second + 2:012d}.jsonl"
    assert not planted.exists()
    planted.write_bytes(b"")
    after = first_of_second + 3
    assert _seqs(list(records_after(tmp_path, after))) == list(range(after + 1, 41))
    planted.write_bytes(b"not a record\n")
    assert _seqs(list(records_after(tmp_path, after))) == list(range(after + 1, 41))


def test_a_record_the_disk_cannot_hold_leaves_nothing_behind(tmp_path: Path) -> None:
    """On a full file system the log and its witness keep only whole records."""
    full = tmp_path / "full"
    full.mkdir()
    script = tmp_path / "fill.py"
    script.write_text(_FILL_AND_APPEND)
    shell = f"mount -t tmpfs -o size=16k tmpfs {full} && cd {full} && "
    shell += f"{sys.executable} {script}"
    mounted = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", shell],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert mounted.returncode == 0, mounted.stderr
    assert mounted.stdout.splitlines() == ["refused", "[1, 2]", "ok"]


_FILL_AND_APPEND = """
import os
from pathlib import Path
from corral.audit._log import EventLog
from corral.audit._read import entries
from corral.audit._verify import verify_log
here = Path(".")
log = EventLog(here)
log.append({"event": "first"})
with open("filler", "wb", buffering=0) as filler:
    try:
        while True:
            filler.write(b"x" * 512)
    except OSError:
        pass
try:
    log.append({"event": "big", "pad": "y" * 65536})
except OSError:
    print("refused")
os.unlink("filler")
log.append({"event": "second"})
print([e.record["seq"] for e in entries(here)])
print("ok" if verify_log(here).ok else verify_log(here).breaks)
"""


def test_the_state_directory_is_used_as_given(tmp_path: Path) -> None:
    """No file of the log is written outside the state directory."""
    state = tmp_path / "state"
    state.mkdir()
    _fill(EventLog(state, rotate_bytes=200), 5)
    assert [path.name for path in tmp_path.iterdir()] == ["state"]
    names = sorted(path.name for path in state.iterdir())
    assert names[-3:] == ["events.head", "events.jsonl", "events.lock"]
