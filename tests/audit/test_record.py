"""The event writer: who, where and when are corral's, whatever the fields say."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from corral.audit import record_event
from corral.audit._record import events_path


def test_fields_cannot_replace_who_where_and_when(tmp_path: Path) -> None:
    forged = {"host": "elsewhere", "pid": 1, "uid": 12345, "time": "then", "x": 1}
    record_event(tmp_path, "thing.happened", forged)
    (line,) = events_path(tmp_path).read_text().splitlines()
    record = json.loads(line)
    assert record["event"] == "thing.happened"
    assert record["host"] == socket.gethostname()
    assert record["pid"] == os.getpid()
    assert record["uid"] == os.geteuid()
    assert record["time"] != "then"
    assert record["x"] == 1
