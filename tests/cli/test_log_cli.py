"""``corral log``: what it says when the log or its options are not what they should be.

Every failure is one ``corral:`` line with the next step, never a traceback,
and no planted file makes it wait.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from corral.audit._log import EventLog
from tests.conftest import Home
from tests.support import CorralCLI

# A planted FIFO must not make corral wait: well under this, or it hangs.
_TIMEOUT = 30


def _state(home: Home) -> Path:
    return home.state / "corral"


def _fill(home: Home, count: int) -> EventLog:
    state = _state(home)
    state.mkdir(parents=True, mode=0o700)
    log = EventLog(state)
    for n in range(count):
        log.append({"event": "test.happened", "n": n})
    return log


@pytest.mark.parametrize("since", ["999999w", "999999d"])
def test_an_age_beyond_the_calendar_is_a_usage_error(
    corral: CorralCLI, since: str
) -> None:
    ran = corral("log", "--since", since, timeout=_TIMEOUT)
    assert ran.returncode == 2, ran.stderr
    assert ran.stderr.startswith("corral: --since")
    assert "Traceback" not in ran.stderr


def test_a_malformed_since_is_a_usage_error(corral: CorralCLI) -> None:
    ran = corral("log", "--since", "yesterday", timeout=_TIMEOUT)
    assert ran.returncode == 2
    assert "give an ISO 8601 date" in ran.stderr
    ran = corral("log", "--since", "\u0663h", timeout=_TIMEOUT)
    assert ran.returncode == 2
    assert "give an ISO 8601 date" in ran.stderr


def test_a_link_at_a_rotated_name_is_a_break_for_verify_and_an_error_for_show(
    corral: CorralCLI, home: Home
) -> None:
    log = _fill(home, 3)
    planted = _state(home) / "events.000000000005.jsonl"
    planted.symlink_to(log.current)
    ran = corral("log", "verify", timeout=_TIMEOUT)
    assert ran.returncode == 1, ran.stderr
    assert f"broken: {planted} (record 5): not-a-file:" in ran.stdout
    assert "Traceback" not in ran.stderr
    ran = corral("log", timeout=_TIMEOUT)
    assert ran.returncode == 125
    assert ran.stderr.startswith(f"corral: {planted} is a symbolic link")
    assert "Traceback" not in ran.stderr


@pytest.mark.parametrize("name", ["events.jsonl", "events.lock"])
def test_a_fifo_at_a_log_file_is_refused_at_once_and_writers_go_on_failing_clearly(
    corral: CorralCLI, home: Home, name: str
) -> None:
    """``corral event`` prints no id for a record it could not store."""
    log = _fill(home, 2)
    (_state(home) / name).unlink()
    os.mkfifo(_state(home) / name, 0o600)
    ran = corral("log", timeout=_TIMEOUT)
    assert ran.returncode == 125
    assert f"{_state(home) / name} is a FIFO" in ran.stderr
    ran = corral("log", "verify", timeout=_TIMEOUT)
    assert ran.returncode in (1, 125)
    assert "Traceback" not in ran.stderr
    ran = corral("event", "note", timeout=_TIMEOUT)
    assert ran.returncode == 125
    assert ran.stdout == ""
    assert f"{_state(home) / name} is a FIFO" in ran.stderr
    assert log.current.exists() or name == "events.jsonl"


def test_a_line_nested_too_deep_is_shown_as_not_a_record(
    corral: CorralCLI, home: Home
) -> None:
    log = _fill(home, 1)
    with log.current.open("ab") as file:
        file.write(b"[" * 100_000 + b"]" * 100_000 + b"\n")
    ran = corral("log", "--json", timeout=_TIMEOUT)
    assert ran.returncode == 0, ran.stderr
    assert "not a whole record" in ran.stderr
    ran = corral("log", "verify", timeout=_TIMEOUT)
    assert ran.returncode == 1
    assert "not-a-record" in ran.stdout
    ran = corral("event", "after", timeout=_TIMEOUT)
    assert ran.returncode == 0, ran.stderr


def _policy(home: Home, text: str) -> None:
    path = home.config / "corral" / "policy.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_log_shows_filters_and_verifies_what_corral_wrote(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    env = {"CORRAL_SESSION": "task-17", "CORRAL_AGENT": "tester"}
    corral.run(workspace, "sh", "-c", "exit 3", env=env)
    corral("event", "prompt", "--field", "text=hello", env={"CORRAL_SESSION": "b"})

    shown = corral("log", timeout=_TIMEOUT)
    assert shown.returncode == 0, shown.stderr
    finished = [
        line for line in shown.stdout.splitlines() if "command.finished" in line
    ]
    assert len(finished) == 1
    assert "exit 3" in finished[0]
    assert "named:task-17" in finished[0]

    mine = corral("log", "--json", "--session", "task-17", timeout=_TIMEOUT)
    records = [json.loads(line) for line in mine.stdout.splitlines()]
    assert {r["session"] for r in records} == {"named:task-17"}
    assert {r["agent"] for r in records} == {"tester"}
    stored = (_state(home) / "events.jsonl").read_text().splitlines()
    assert mine.stdout.splitlines() == stored[: len(records)]

    only = corral("log", "--json", "--event", "agent", timeout=_TIMEOUT)
    assert [json.loads(x)["event"] for x in only.stdout.splitlines()] == [
        "agent.prompt"
    ]
    later = corral("log", "--since", "2999-01-01", timeout=_TIMEOUT)
    assert later.returncode == 0
    assert later.stdout == ""

    verified = corral("log", "verify", timeout=_TIMEOUT)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith(f"ok: {len(stored)} records")
    path = corral("log", "path", timeout=_TIMEOUT)
    assert path.stdout.strip() == str(_state(home) / "events.jsonl")


def test_log_export_sends_what_is_pending_and_says_how_it_went(
    corral: CorralCLI, home: Home
) -> None:
    from tests.audit.otlp_receiver import Receiver  # noqa: PLC0415 (needs the SDK)

    assert corral("log", "export", timeout=_TIMEOUT).returncode == 2  # no collector
    receiver = Receiver()
    try:
        _policy(home, f'[audit.export]\nendpoint = "{receiver.url}"\n')
        for n in range(3):
            corral("event", "tool_call", "--field", f"n={n}")
        sent = corral("log", "export", timeout=_TIMEOUT)
        assert sent.returncode == 0, sent.stderr
        assert sent.stdout.startswith(("exported ", "nothing was pending"))
        assert receiver.wait_for(lambda r: len(r.seqs()) >= 3)
        receiver.status = 503
        corral("event", "tool_call", "--field", "n=3")
        refused = corral("log", "export", timeout=_TIMEOUT)
        assert refused.returncode == 125
        assert "records wait in the local log" in refused.stderr
    finally:
        receiver.close()
