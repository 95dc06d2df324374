"""The event writer: who, where and when are corral's, whatever the fields say."""

from __future__ import annotations

import json
import os
import re
import socket
from datetime import UTC, datetime
from pathlib import Path

from corral.audit import new_id, record_event
from corral.audit._log import digest_of, events_path


def test_fields_cannot_replace_who_where_and_when(tmp_path: Path) -> None:
    forged = {
        "host": "elsewhere", "pid": 1, "uid": 12345, "time": "then", "x": 1,
        "id": "0" * 16, "session": "forged", "seq": 7, "prev": "f" * 64, "v": 9,
    }  # fmt: skip
    record_event(tmp_path, "thing.happened", forged)
    (line,) = events_path(tmp_path).read_text().splitlines()
    record = json.loads(line)
    assert record["event"] == "thing.happened"
    assert record["host"] == socket.gethostname()
    assert record["pid"] == os.getpid()
    assert record["uid"] == os.geteuid()
    assert record["time"] != "then"
    assert record["x"] == 1
    assert record["id"] != "0" * 16
    assert record["session"] != "forged"
    assert (record["seq"], record["prev"], record["v"]) == (1, "0" * 64, 2)


def test_the_time_is_utc_to_the_millisecond_as_datetime_writes_it(
    tmp_path: Path,
) -> None:
    before = datetime.now(UTC)
    record_event(tmp_path, "thing.happened", {})
    after = datetime.now(UTC)
    (line,) = events_path(tmp_path).read_text().splitlines()
    written = json.loads(line)["time"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", written)
    moment = datetime.fromisoformat(written.removesuffix("Z") + "+00:00")
    assert before.replace(microsecond=before.microsecond // 1000 * 1000) <= moment
    assert moment <= after


def test_ids_are_sixteen_hex_digits_never_twice_the_same() -> None:
    ids = {new_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch(r"[0-9a-f]{16}", i) for i in ids)


def test_a_record_cut_short_before_does_not_swallow_the_next(tmp_path: Path) -> None:
    log = events_path(tmp_path)
    record_event(tmp_path, "command.started", {"x": 1})
    whole = log.read_text()
    log.write_text(whole + '{"event":"command.started","cut sho')
    record_event(tmp_path, "command.finished", {"x": 1})
    lines = log.read_text().splitlines()
    assert lines[1] == '{"event":"command.started","cut sho'
    assert json.loads(lines[2])["event"] == "command.finished"
    # The torn line is a break of its own; the record after it still chains on.
    assert json.loads(lines[2])["prev"] == digest_of(lines[0].encode())
