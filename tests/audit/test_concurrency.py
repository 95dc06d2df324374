"""Many corral processes at once: every record arrives once, whole, in one chain."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from corral.audit._log import EventLog
from corral.audit._read import Entry, follow
from corral.audit._verify import verify_log

WRITERS = 8
RECORDS_EACH = 50
# Small enough that the log rotates many times while the writers run.
ROTATE_BYTES = 4096

_WRITER = """
import sys
import time
from pathlib import Path
from corral.audit._log import EventLog
state, writer, count, rotate = Path(sys.argv[1]), sys.argv[2], *map(int, sys.argv[3:])
log = EventLog(state, rotate_bytes=rotate)
sys.stdin.read()  # every writer starts at once
for n in range(count):
    log.append({"event": "test.written", "writer": writer, "n": n, "pad": "x" * n})
    time.sleep(0.001)  # let the others in between
"""


def _write_in_parallel(state: Path, writers: int, each: int) -> None:
    """Run `writers` processes that append `each` records apiece, all at once."""
    argv = [sys.executable, "-c", _WRITER, str(state)]
    processes = [
        subprocess.Popen(
            [*argv, f"w{w}", str(each), str(ROTATE_BYTES)],
            stdin=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for w in range(writers)
    ]
    for process in processes:
        assert process.stdin is not None
        process.stdin.close()
    for process in processes:
        assert process.stderr is not None
        with process.stderr:
            errors = process.stderr.read()
        assert process.wait(timeout=120) == 0, errors.decode()


def _collect(found: Iterator[Entry], into: list[Entry], count: int) -> None:
    for entry in found:
        into.append(entry)
        if sum(1 for e in into if e.record is not None) >= count:
            return


def test_parallel_writers_each_record_arrives_once_whole_and_chained(
    tmp_path: Path,
) -> None:
    _write_in_parallel(tmp_path, WRITERS, RECORDS_EACH)

    log = EventLog(tmp_path)
    assert len(log.files()) > 3  # the log rotated while they wrote
    lines = [line for path in log.files() for line in path.read_bytes().splitlines()]
    records = [json.loads(line) for line in lines]
    assert [r["seq"] for r in records] == list(range(1, WRITERS * RECORDS_EACH + 1))
    written = sorted((r["writer"], r["n"]) for r in records)
    assert written == sorted(
        (f"w{w}", n) for w in range(WRITERS) for n in range(RECORDS_EACH)
    )
    for writer in {r["writer"] for r in records}:
        mine = [r["n"] for r in records if r["writer"] == writer]
        assert mine == list(range(RECORDS_EACH))
    turns = [r["writer"] for r in records]
    # The writers took turns: they did write at the same time.
    assert sum(a != b for a, b in itertools.pairwise(turns)) > WRITERS
    result = verify_log(tmp_path)
    assert result.ok, result.breaks
    assert result.records == WRITERS * RECORDS_EACH


def test_a_follower_sees_every_record_once_in_order_across_rotation(
    tmp_path: Path,
) -> None:
    """Records written by other processes while it follows, through renames."""
    EventLog(tmp_path, rotate_bytes=ROTATE_BYTES).append({"event": "before"})
    total = 1 + WRITERS * RECORDS_EACH
    seen: list[Entry] = []
    done = threading.Event()
    follower = threading.Thread(
        target=_collect,
        args=(follow(tmp_path, poll=0.01, stop=done.is_set), seen, total),
        daemon=True,
    )
    follower.start()

    _write_in_parallel(tmp_path, WRITERS, RECORDS_EACH)
    follower.join(timeout=60)
    done.set()

    assert not follower.is_alive()
    assert [e.record for e in seen if e.record is None] == []
    assert [e.record["seq"] for e in seen if e.record] == list(range(1, total + 1))
    assert len(EventLog(tmp_path).files()) > 3


def test_a_follower_waits_for_a_log_that_does_not_exist_yet(tmp_path: Path) -> None:
    state = tmp_path / "state"
    seen: list[Entry] = []
    done = threading.Event()
    follower = threading.Thread(
        target=_collect,
        args=(follow(state, poll=0.01, stop=done.is_set), seen, 2),
        daemon=True,
    )
    follower.start()
    time.sleep(0.05)
    state.mkdir()
    log = EventLog(state, rotate_bytes=200)
    log.append({"event": "first", "pad": "x" * 150})
    log.append({"event": "second", "pad": "x" * 150})
    follower.join(timeout=30)
    done.set()
    assert [e.record["seq"] for e in seen if e.record] == [1, 2]


def test_a_follower_sleeps_between_polls_rather_than_spinning(
    tmp_path: Path,
) -> None:
    EventLog(tmp_path).append({"event": "only"})
    asked = 0
    started = time.monotonic()

    def stop() -> bool:
        nonlocal asked
        asked += 1
        return time.monotonic() - started > 0.5

    seen = list(follow(tmp_path, poll=0.05, stop=stop))

    assert [e.record["seq"] for e in seen if e.record] == [1]
    # About ten polls in half a second; a loop that never slept would ask
    # thousands of times.
    assert asked < 30


def test_a_follower_returns_once_told_after_the_entries_so_far(
    tmp_path: Path,
) -> None:
    log = EventLog(tmp_path, rotate_bytes=300)
    for n in range(6):
        log.append({"event": "test.happened", "n": n})
    seen = list(follow(tmp_path, stop=lambda: True))
    assert [e.record["seq"] for e in seen if e.record] == [1, 2, 3, 4, 5, 6]
