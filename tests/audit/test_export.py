"""Export to a collector: a copy of the local log, which stays whole whatever happens.

Every test sends to a real OTLP/HTTP receiver on loopback (`otlp_receiver`)
through the real SDK exporters, and reads the local log back from disk.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics.export import MetricsData

from corral._state import state_dir
from corral.audit import record_event
from corral.audit._read import entries
from corral.audit._verify import verify_log
from corral.audit.export._cursor import read_position
from corral.audit.export._metrics import Tally
from corral.audit.export._process import reap
from corral.audit.export._start import ExportReport, export_pending, start_export
from corral.policy._defaults import DEFAULT_EXPORT_TIMEOUT
from tests.audit.otlp_receiver import Receiver

# Ample for a receiver on loopback, even on a loaded machine.
TIMEOUT = 10.0
# Short enough that a test against a dead port takes a moment (the SDK does not
# retry when its first back-off would outlast the timeout).
SHORT = 0.5
# How long a test waits for a detached exporter to end once it has nothing to do.
EXIT_WAIT = 30.0


@dataclass(frozen=True)
class Settings:
    """The two [audit] settings export reads, as a test chooses them."""

    endpoint: str | None
    export_timeout: float = TIMEOUT


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    return {
        "HOME": str(home),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "PATH": "/usr/bin:/bin",
    }


@pytest.fixture
def state(environ: dict[str, str]) -> Path:
    return state_dir(environ)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def record(state: Path, environ: dict[str, str], event: str, **fields: object) -> None:
    record_event(state, event, fields, environ=environ)


def some_records(state: Path, environ: dict[str, str]) -> None:
    """A run that finished, one refused, one that failed in corral, a connection."""
    record(state, environ, "command.started", run="a" * 16, argv=["make"])
    record(
        state, environ, "command.finished", run="a" * 16, argv=["make"],
        decision="allow", exit_status=0, timed_out=False, duration_ms=42.5,
    )  # fmt: skip
    record(state, environ, "command.refused", argv=["rm", "-r", "/"], decision="forbid")
    record(state, environ, "command.error", run="b" * 16, error="it broke")
    record(state, environ, "network.connection", run="c" * 16, decision="refuse")


def log_lines(state: Path) -> list[bytes]:
    return [entry.raw for entry in entries(state)]


def events_in(state: Path) -> list[str]:
    return [str((entry.record or {}).get("event")) for entry in entries(state)]


def write_policy(environ: dict[str, str], text: str) -> None:
    path = Path(environ["XDG_CONFIG_HOME"]) / "corral" / "policy.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A loopback port that refuses every connection while the test runs.

    Bound and never listening, so the kernel refuses what connects and no other
    program takes the port meanwhile.  Bound with SO_REUSEADDR, as a `Receiver`
    binds: one may listen on the port later, the port staying held.
    """
    with socket.socket() as held:
        held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        held.bind(("127.0.0.1", 0))
        port: int = held.getsockname()[1]
        yield port


# -- what arrives ------------------------------------------------------------


def test_each_record_arrives_whole_with_its_place_in_the_chain(
    state: Path, environ: dict[str, str], receiver: Receiver
) -> None:
    some_records(state, environ)

    report = export_pending(state, Settings(receiver.url), environ=environ)

    assert (report.shipped, report.pending, report.error) == (5, 0, None)
    lines = log_lines(state)
    arrived = receiver.records()
    assert len(arrived) == len(lines) == 5
    for line, one in zip(lines, arrived, strict=True):
        stored = json.loads(line)
        assert one.body == stored
        attributes = one.attributes
        assert attributes["event.name"] == stored["event"]
        assert one.record.event_name == stored["event"]
        assert attributes["corral.seq"] == stored["seq"]
        assert attributes["corral.digest"] == hashlib.sha256(line).hexdigest()
        assert attributes["corral.prev"] == stored["prev"]
        assert attributes["corral.session"] == stored["session"]
        assert attributes.get("corral.run") == stored.get("run")
        assert one.resource == {
            "service.name": "corral",
            "service.version": "0.1.0",
            "host.name": stored["host"],
            "user.name": stored["user"],
        }
        assert one.scope == "corral.audit"


def test_a_record_keeps_its_own_time_and_says_how_severe_it_is(
    state: Path, environ: dict[str, str], receiver: Receiver
) -> None:
    some_records(state, environ)
    export_pending(state, Settings(receiver.url), environ=environ)

    severities = {}
    for one in receiver.records():
        stored = one.body
        assert isinstance(stored, dict)
        when = time.strptime(stored["time"][:19], "%Y-%m-%dT%H:%M:%S")
        milliseconds = int(stored["time"][20:23])
        expected = (int(_timegm(when)) * 1000 + milliseconds) * 1_000_000
        assert one.record.time_unix_nano == expected
        severities[stored["event"]] = (
            one.record.severity_text,
            one.record.severity_number,
        )
    assert severities == {
        "command.started": ("INFO", 9),
        "command.finished": ("INFO", 9),
        "command.refused": ("WARN", 13),
        "command.error": ("ERROR", 17),
        "network.connection": ("WARN", 13),
    }


def _timegm(when: time.struct_time) -> int:
    import calendar  # noqa: PLC0415

    return calendar.timegm(when)


def test_the_figures_of_the_records_sent_go_as_delta_metrics(
    state: Path, environ: dict[str, str], receiver: Receiver
) -> None:
    some_records(state, environ)
    record(state, environ, "network.connection", run="c" * 16, decision="allow")
    record(state, environ, "approval.granted", scope="session", request="r1")

    export_pending(state, Settings(receiver.url), environ=environ)

    figures = _figures(receiver)
    assert figures["corral.commands"] == {
        (("decision", "allow"), ("outcome", "ok")): 1,
        (("decision", "forbid"), ("outcome", "refused")): 1,
        (("decision", "unknown"), ("outcome", "error")): 1,
    }
    assert figures["corral.network.connections"] == {
        (("decision", "allow"),): 1,
        (("decision", "refuse"),): 1,
    }
    assert figures["corral.approvals"] == {
        (("answer", "granted"), ("scope", "session")): 1
    }
    assert figures["corral.events"][(("event", "network.connection"),)] == 2
    assert sum(int(str(n)) for n in figures["corral.events"].values()) == 7
    assert figures["corral.command.duration"] == {(("outcome", "ok"),): (1, 42.5)}


_Points = dict[tuple[tuple[str, str], ...], object]


def _figures(receiver: Receiver) -> dict[str, _Points]:
    """Every metric's points by attributes: a count, or (count, sum) for histograms,
    each summed over the requests that arrived (as a collector sums deltas)."""
    from tests.audit.otlp_receiver import attributes  # noqa: PLC0415

    delta = 1  # AGGREGATION_TEMPORALITY_DELTA
    figures: dict[str, _Points] = {}
    for request in receiver.metrics:
        for resource_metrics in request.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    points = figures.setdefault(metric.name, {})
                    if metric.HasField("sum"):
                        assert metric.sum.aggregation_temporality == delta
                        for point in metric.sum.data_points:
                            key = tuple(sorted(_strs(attributes(point.attributes))))
                            points[key] = int(str(points.get(key, 0))) + point.as_int
                    else:
                        assert metric.histogram.aggregation_temporality == delta
                        assert metric.unit == "ms"
                        for hpoint in metric.histogram.data_points:
                            key = tuple(sorted(_strs(attributes(hpoint.attributes))))
                            count, total = _pair(points.get(key, (0, 0.0)))
                            points[key] = (count + hpoint.count, total + hpoint.sum)
    return figures


def _pair(value: object) -> tuple[int, float]:
    assert isinstance(value, tuple)
    count, total = value
    return int(count), float(total)


def _strs(values: dict[str, object]) -> list[tuple[str, str]]:
    return [(key, str(value)) for key, value in values.items()]


# -- the cursor ----------------------------------------------------------------


def test_the_cursor_moves_past_what_was_sent_and_only_new_records_follow(
    state: Path, environ: dict[str, str], receiver: Receiver
) -> None:
    some_records(state, environ)
    export_pending(state, Settings(receiver.url), environ=environ)
    position = read_position(state, receiver.url)
    assert position.seq == 5
    assert position.digest == hashlib.sha256(log_lines(state)[-1]).hexdigest()
    cursor = state / "export.cursor"
    assert cursor.stat().st_mode & 0o777 == 0o600

    again = export_pending(state, Settings(receiver.url), environ=environ)
    assert (again.shipped, again.pending) == (0, 0)
    record(state, environ, "command.started", run="d" * 16)
    record(state, environ, "command.finished", run="d" * 16, exit_status=1)
    later = export_pending(state, Settings(receiver.url), environ=environ)

    assert later.shipped == 2
    assert receiver.seqs() == [1, 2, 3, 4, 5, 6, 7]


def test_a_link_planted_as_the_cursor_is_replaced_not_written_through(
    state: Path, environ: dict[str, str], receiver: Receiver, tmp_path: Path
) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("untouched")
    (state / "export.cursor").symlink_to(target)
    some_records(state, environ)

    export_pending(state, Settings(receiver.url), environ=environ)

    assert target.read_text() == "untouched"
    assert not (state / "export.cursor").is_symlink()
    assert read_position(state, receiver.url).seq == 5


def test_a_new_endpoint_gets_the_whole_log_and_the_old_one_keeps_its_place(
    state: Path, environ: dict[str, str], receiver: Receiver
) -> None:
    some_records(state, environ)
    export_pending(state, Settings(receiver.url), environ=environ)
    other = Receiver()
    try:
        report = export_pending(state, Settings(other.url), environ=environ)
        assert report.shipped == 5
        assert other.seqs() == [1, 2, 3, 4, 5]
    finally:
        other.close()
    assert read_position(state, receiver.url).seq == 5
    assert export_pending(state, Settings(receiver.url), environ=environ).shipped == 0


def test_a_log_replaced_since_the_last_export_is_sent_again_from_its_start(
    state: Path, environ: dict[str, str], receiver: Receiver
) -> None:
    some_records(state, environ)
    export_pending(state, Settings(receiver.url), environ=environ)
    for path in state.glob("events*"):
        path.unlink()
    record(state, environ, "command.started", run="e" * 16)
    record(state, environ, "command.finished", run="e" * 16, exit_status=0)

    report = export_pending(state, Settings(receiver.url), environ=environ)

    assert report.shipped == 2
    assert receiver.seqs() == [1, 2, 3, 4, 5, 1, 2]


def test_many_records_go_in_several_batches_in_order(
    state: Path, environ: dict[str, str], receiver: Receiver
) -> None:
    for n in range(1100):
        record(state, environ, "agent.step", n=n)

    report = export_pending(state, Settings(receiver.url), environ=environ)

    assert report.shipped == 1100
    assert len(receiver.logs) == 3  # 512 records a batch
    assert receiver.seqs() == list(range(1, 1101))


# -- failures ------------------------------------------------------------------


def test_an_unreachable_collector_loses_nothing_and_is_recorded_once(
    state: Path, environ: dict[str, str], dead_port: int
) -> None:
    some_records(state, environ)
    before = log_lines(state)
    settings = Settings(f"http://127.0.0.1:{dead_port}", SHORT)

    first = export_pending(state, settings, environ=environ)
    second = export_pending(state, settings, environ=environ)

    assert first.shipped == second.shipped == 0
    assert first.error is not None
    assert "cannot reach" in first.error
    assert "refused" in first.error.lower()
    assert events_in(state).count("export.failed") == 1
    assert log_lines(state)[:5] == before
    assert verify_log(state).ok
    position = read_position(state, settings.endpoint or "")
    assert position.seq == 0
    assert position.failing is not None
    assert position.failing.attempts == 2
    failed = json.loads(log_lines(state)[-1])
    assert failed["event"] == "export.failed"
    assert failed["endpoint"] == settings.endpoint
    assert failed["after_seq"] == 0
    assert failed["pending"] == 5


def test_a_collector_that_never_answers_costs_one_timeout_and_no_record(
    state: Path, environ: dict[str, str]
) -> None:
    some_records(state, environ)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # the kernel completes the handshake; nobody ever reads
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        report = export_pending(state, Settings(url, SHORT), environ=environ)
        took = time.monotonic() - started

    assert report.error is not None
    assert "timed out" in report.error
    # Loading the SDK and recording take a while on a loaded machine; an export
    # that waited out the default timeout instead of SHORT would take longer.
    assert took < DEFAULT_EXPORT_TIMEOUT - 2
    assert read_position(state, url).seq == 0
    assert events_in(state).count("export.failed") == 1
    assert verify_log(state).ok


def test_a_collector_that_answers_500_loses_nothing_and_once_back_gets_everything(
    state: Path, environ: dict[str, str], receiver: Receiver
) -> None:
    some_records(state, environ)
    receiver.status = 500

    failed = export_pending(state, Settings(receiver.url), environ=environ)
    export_pending(state, Settings(receiver.url), environ=environ)

    assert failed.error is not None
    assert "HTTP 500" in failed.error
    assert failed.pending == 6  # the five, and export.failed
    assert receiver.records() == []
    assert events_in(state).count("export.failed") == 1
    assert verify_log(state).ok

    receiver.status = 200
    back = export_pending(state, Settings(receiver.url), environ=environ)

    assert (back.error, back.pending) == (None, 0)
    names = [str(one.attributes["event.name"]) for one in receiver.records()]
    assert names.count("export.failed") == 1
    assert names[-1] == "export.resumed"
    resumed = json.loads(log_lines(state)[-1])
    assert resumed["event"] == "export.resumed"
    assert resumed["shipped"] == 6
    assert read_position(state, receiver.url).failing is None
    assert receiver.seqs() == list(range(1, 8))
    assert verify_log(state).ok


def test_a_collector_back_on_its_port_gets_everything_sent_while_it_was_away(
    state: Path, environ: dict[str, str], dead_port: int
) -> None:
    url = f"http://127.0.0.1:{dead_port}"
    some_records(state, environ)
    assert export_pending(state, Settings(url, SHORT), environ=environ).error

    back = Receiver(dead_port)
    try:
        report = export_pending(state, Settings(url), environ=environ)
        assert report.error is None
        names = [str(one.attributes["event.name"]) for one in back.records()]
    finally:
        back.close()
    assert names[:5] == events_in(state)[:5]
    assert names[5:] == ["export.failed", "export.resumed"]


def test_an_endpoints_credentials_are_sent_but_never_written_down(
    state: Path, environ: dict[str, str], receiver: Receiver
) -> None:
    some_records(state, environ)
    receiver.status = 500
    url = receiver.url.replace("http://", "http://export:s3cret@")

    report = export_pending(state, Settings(url), environ=environ)

    assert receiver.headers[0]["authorization"].startswith("Basic ")
    assert report.error is not None
    assert "s3cret" not in report.error
    assert b"s3cret" not in b"".join(log_lines(state))
    assert "s3cret" not in (state / "export.cursor").read_text()
    assert read_position(state, url).failing is not None


def test_a_redirect_is_not_taken_for_acceptance(
    state: Path, environ: dict[str, str], receiver: Receiver
) -> None:
    """The SDK takes any 3xx as success; the records would be lost."""
    some_records(state, environ)
    receiver.status = 307

    report = export_pending(state, Settings(receiver.url), environ=environ)

    assert report.error is not None
    assert "HTTP 307" in report.error
    assert read_position(state, receiver.url).seq == 0


def test_a_collector_that_drops_some_of_a_batch_is_reported(
    state: Path, environ: dict[str, str], receiver: Receiver
) -> None:
    some_records(state, environ)
    receiver.rejected = 2

    report = export_pending(state, Settings(receiver.url), environ=environ)

    # The five, then the export.rejected record of them (of which this receiver
    # again says it dropped two).
    assert (report.shipped, report.rejected, report.error) == (6, 4, None)


def test_proxy_and_otel_variables_do_not_redirect_the_export(
    state: Path,
    environ: dict[str, str],
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only the policy's endpoint is reached: no proxy, no header from the environ."""
    decoy = Receiver()
    try:
        for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "all_proxy"):
            monkeypatch.setenv(name, decoy.url)
        for name in ("no_proxy", "NO_PROXY"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-leak=1")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "x-leak=2")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent")
        some_records(state, environ)

        report = export_pending(state, Settings(receiver.url), environ=environ)

        assert report.error is None
        assert decoy.paths == []
    finally:
        decoy.close()
    assert len(receiver.records()) == 5
    assert all("x-leak" not in headers for headers in receiver.headers)
    assert os.environ["OTEL_EXPORTER_OTLP_HEADERS"] == "x-leak=1"


def test_export_without_an_endpoint_is_an_error_not_an_attempt(
    state: Path, environ: dict[str, str]
) -> None:
    from corral.errors import CorralError  # noqa: PLC0415

    some_records(state, environ)
    with pytest.raises(CorralError, match=r"\[audit.export\] endpoint"):
        export_pending(state, Settings(None), environ=environ)
    assert "export.failed" not in events_in(state)


# -- the background exporter ---------------------------------------------------


def test_start_export_ships_from_a_detached_process_that_then_ends(
    state: Path, environ: dict[str, str], receiver: Receiver
) -> None:
    write_policy(environ, f'[audit.export]\nendpoint = "{receiver.url}"\n')
    some_records(state, environ)

    # The receiver answers nothing while its lock is held: a start that waited
    # for the export would wait out the export's timeout (TIMEOUT by default).
    with receiver._lock:
        started = time.monotonic()
        pid = start_export(state, environ)
        took = time.monotonic() - started
        burst = [start_export(state, environ) for _ in range(5)]

    assert pid is not None
    ended = False
    try:
        assert took < TIMEOUT / 2
        assert burst == [None] * 5  # the lock went with the first one
        assert receiver.wait_for(lambda seen: len(seen.records()) == 5)
        record(state, environ, "command.started", run="f" * 16)
        assert start_export(state, environ) is None  # the running one takes it
        assert receiver.wait_for(lambda seen: len(seen.records()) == 6)
        ended = _ended(pid, EXIT_WAIT)
        assert ended
    finally:
        if not ended:
            _end(pid)
    assert receiver.seqs() == [1, 2, 3, 4, 5, 6]
    assert read_position(state, receiver.url).seq == 6


def test_start_export_does_nothing_without_an_endpoint_or_pending_records(
    state: Path, environ: dict[str, str], receiver: Receiver
) -> None:
    some_records(state, environ)
    assert start_export(state, environ) is None

    write_policy(environ, f'[audit.export]\nendpoint = "{receiver.url}"\n')
    export_pending(state, Settings(receiver.url), environ=environ)
    assert start_export(state, environ) is None
    assert not (state / "export.log").exists()


def test_after_a_failure_the_next_commands_leave_the_collector_alone_a_while(
    state: Path, environ: dict[str, str], dead_port: int
) -> None:
    url = f"http://127.0.0.1:{dead_port}"
    write_policy(environ, f'[audit.export]\nendpoint = "{url}"\ntimeout = 0.5\n')
    some_records(state, environ)
    assert export_pending(state, Settings(url, SHORT), environ=environ).error

    assert start_export(state, environ) is None
    assert not (state / "export.log").exists()


def test_a_second_exporter_leaves_at_once_while_one_holds_the_lock(
    state: Path, environ: dict[str, str], receiver: Receiver
) -> None:
    write_policy(environ, f'[audit.export]\nendpoint = "{receiver.url}"\n')
    some_records(state, environ)
    fd = os.open(state / "export.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert start_export(state, environ) is None
        done = _module(["--state", str(state)], environ, timeout=20)
    finally:
        os.close(fd)
    assert done.returncode == 0
    assert receiver.records() == []


def test_once_exports_in_the_foreground_and_says_whether_all_went(
    state: Path, environ: dict[str, str], receiver: Receiver, dead_port: int
) -> None:
    write_policy(environ, f'[audit.export]\nendpoint = "{receiver.url}"\n')
    some_records(state, environ)

    done = _module(["--once"], environ)

    assert done.returncode == 0, done.stderr
    assert "exported 5 records" in done.stdout
    assert receiver.seqs() == [1, 2, 3, 4, 5]

    url = f"http://127.0.0.1:{dead_port}"
    write_policy(environ, f'[audit.export]\nendpoint = "{url}"\ntimeout = 1\n')
    failed = _module(["--once"], environ)

    assert failed.returncode != 0
    assert failed.stderr.startswith("corral: export failed: cannot reach")
    assert verify_log(state).ok


def test_the_command_side_of_export_imports_no_opentelemetry(
    state: Path, environ: dict[str, str], receiver: Receiver
) -> None:
    """The SDK is imported only by the exporting process, never by a command."""
    write_policy(environ, f'[audit.export]\nendpoint = "{receiver.url}"\n')
    some_records(state, environ)
    export_pending(state, Settings(receiver.url), environ=environ)
    code = (
        "import json, sys; from pathlib import Path\n"
        "from corral.audit.export._start import start_export\n"
        f"print(start_export(Path({str(state)!r}), json.loads(sys.argv[1])))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('opentelemetry', 'google', 'requests')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code, json.dumps(environ)],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert done.stdout.splitlines() == ["None", "[]"]
    assert "opentelemetry" not in done.stderr


def _module(
    args: list[str], environ: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "corral.audit.export", *args],
        capture_output=True, text=True, check=False, timeout=timeout, env=environ,
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip


def _ended(pid: int, timeout: float) -> bool:
    """Reap the exporter `pid` (our child) once it exits; False if it outlives that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return True
        if done == pid:
            return True
        time.sleep(0.1)
    return False


def _end(pid: int) -> None:
    """End the exporter this test started and has not reaped (so `pid` is still it)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _ended(pid, 5)


# -- records the protocol cannot carry as they are ------------------------------


def nested(depth: int) -> object:
    """A list `depth` levels deep with a string at the bottom."""
    value: object = "bottom"
    for _ in range(depth):
        value = [value]
    return value


def test_undecodable_bytes_travel_escaped_and_never_stop_the_records_after(
    state: Path, environ: dict[str, str], receiver: Receiver
) -> None:
    """A lone surrogate (an undecodable byte, as Python keeps it) is sent visibly."""
    odd = {**environ, "CORRAL_SESSION": "task-\udcff"}
    record(state, environ, "command.started", run="a" * 16, argv=["ls", "\udcff\udcfe"])
    record(state, odd, "command.finished", cwd="/srv/\udc9b", **{"k\udcff": "v"})
    record(state, environ, "command.started", run="b" * 16, argv=["echo", "later"])

    report = export_pending(state, Settings(receiver.url), environ=environ)

    assert (report.shipped, report.error) == (3, None)
    assert receiver.seqs() == [1, 2, 3]
    first, second, third = (one.body for one in receiver.records())
    assert isinstance(first, dict)
    assert isinstance(second, dict)
    assert first["argv"] == ["ls", "\\udcff\\udcfe"]
    assert second["cwd"] == "/srv/\\udc9b"
    assert second["k\\udcff"] == "v"
    assert str(second["session"]).endswith("\\udcff")
    assert receiver.records()[1].attributes["corral.session"] == second["session"]
    assert third == json.loads(log_lines(state)[2])


def test_data_nested_deeper_than_the_protocol_allows_goes_as_json_text(
    state: Path, environ: dict[str, str], receiver: Receiver
) -> None:
    deep = {"list": nested(60), "map": {"a": {"b": {"c": nested(40)}}}}
    record(state, environ, "agent.deep", data=deep)
    record(state, environ, "command.started", run="b" * 16, argv=["echo", "later"])

    report = export_pending(state, Settings(receiver.url), environ=environ)

    assert (report.shipped, report.error) == (2, None)
    assert receiver.seqs() == [1, 2]
    body = receiver.records()[0].body
    stored = json.loads(log_lines(state)[0])
    assert isinstance(body, dict)
    assert _unflattened(body) == stored


def _unflattened(value: object) -> object:
    """`value` with every flattened subtree (a JSON text of a list) parsed back."""
    if isinstance(value, dict):
        return {key: _unflattened(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unflattened(item) for item in value]
    if isinstance(value, str) and value.startswith("["):
        return json.loads(value)
    return value


def test_a_record_the_mapping_cannot_carry_goes_as_its_stored_line(
    state: Path, environ: dict[str, str], receiver: Receiver
) -> None:
    """The last resort: the body is the line as text, with the same seq and digest."""
    from corral.audit.export._collector import Collector  # noqa: PLC0415

    record(state, environ, "command.started", run="a" * 16, argv=["make"])
    record(state, environ, "command.finished", run="a" * 16, exit_status=0)
    first, second = log_lines(state)
    collector = Collector(receiver.url, timeout=TIMEOUT)
    try:
        sent = collector.send_records([(first, _Unreadable()), (second, {})])
    finally:
        collector.close()

    assert sent.accepted, sent.error
    fallback, other = receiver.records()
    assert fallback.body == first.decode()
    assert fallback.attributes["corral.digest"] == hashlib.sha256(first).hexdigest()
    assert fallback.attributes["corral.seq"] == 1
    assert other.attributes["corral.digest"] == hashlib.sha256(second).hexdigest()


class _Unreadable(dict[str, object]):
    """A parsed record whose contents cannot be read back."""

    def get(self, key: str, default: object = None) -> object:
        raise RuntimeError("unreadable")

    def items(self) -> Any:
        raise RuntimeError("unreadable")


def test_an_http_error_with_an_empty_body_says_nothing_more(
    state: Path, environ: dict[str, str], receiver: Receiver
) -> None:
    some_records(state, environ)
    receiver.status = 500

    report = export_pending(state, Settings(receiver.url), environ=environ)

    assert report.error is not None
    assert report.error.endswith("HTTP 500 Internal Server Error")


def test_what_the_collector_says_it_dropped_is_recorded_in_the_trail(
    state: Path, environ: dict[str, str], receiver: Receiver
) -> None:
    """The cursor moves on (a resend cannot help), and the loss is an event."""
    some_records(state, environ)
    receiver.rejected = 2
    receiver.rejected_message = "quota exceeded"

    report = export_pending(state, Settings(receiver.url), environ=environ)

    assert report.error is None
    assert report.rejected == 4  # two of the five, two of the export.rejected
    assert read_position(state, receiver.url).seq == len(log_lines(state))
    records = [json.loads(line) for line in log_lines(state)]
    (rejected,) = [r for r in records if r["event"] == "export.rejected"]
    assert rejected["endpoint"] == receiver.url
    assert rejected["rejected"] == 2
    assert rejected["message"] == "quota exceeded"
    assert (rejected["first_seq"], rejected["last_seq"]) == (1, 5)
    assert "export.rejected" in [
        str(one.attributes["event.name"]) for one in receiver.records()
    ]
    assert verify_log(state).ok


def test_a_dropped_record_of_drops_is_not_recorded_again(
    state: Path, environ: dict[str, str], receiver: Receiver
) -> None:
    """A collector that drops everything gets one export.rejected, not a loop."""
    some_records(state, environ)
    receiver.rejected = 1

    for _ in range(3):
        export_pending(state, Settings(receiver.url), environ=environ)

    assert events_in(state).count("export.rejected") == 1


# -- figures the metrics cannot take, and metrics apart from records -----------


def append_raw(state: Path, **fields: object) -> None:
    """Append a chained record holding exactly `fields`, as an edited log may."""
    from corral.audit._log import EventLog  # noqa: PLC0415

    EventLog(state).append(fields)


UNCOUNTABLE_DURATIONS = (10**400, float("nan"), float("inf"), -5, "slow", True)


def test_a_duration_the_metrics_cannot_take_is_skipped_and_export_goes_on(
    state: Path, environ: dict[str, str], receiver: Receiver
) -> None:
    """A huge int, NaN, inf, a negative, a string or a bool is left out of the
    histogram; the command is still counted and every later record still goes."""
    some_records(state, environ)
    export_pending(state, Settings(receiver.url), environ=environ)
    for duration in UNCOUNTABLE_DURATIONS:
        append_raw(
            state, event="command.finished", time="2026-12-04T15:12:15.000Z",
            duration_ms=duration, exit_status=0, decision="allow",
        )  # fmt: skip

    report = export_pending(state, Settings(receiver.url), environ=environ)
    record(state, environ, "command.started", run="f" * 16, argv=["after"])
    later = export_pending(state, Settings(receiver.url), environ=environ)

    assert (report.error, report.metrics_error) == (None, None)
    assert (later.shipped, later.error, later.metrics_error) == (1, None, None)
    assert receiver.seqs() == list(range(1, 13))
    position = read_position(state, receiver.url)
    assert position.metrics_seq == position.seq == 12
    figures = _figures(receiver)
    assert figures["corral.commands"][(("decision", "allow"), ("outcome", "ok"))] == 7
    assert figures["corral.command.duration"] == {(("outcome", "ok"),): (1, 42.5)}


def test_metric_labels_with_undecodable_bytes_travel_escaped(
    state: Path, environ: dict[str, str], receiver: Receiver
) -> None:
    """A lone surrogate in a label is sent visibly, as in the records, not dropped."""
    append_raw(
        state, event="command.finished", time="2026-12-04T15:12:15.000Z",
        decision="allow\udcff", exit_status=0, duration_ms=3,
    )  # fmt: skip
    append_raw(state, event="approval.granted\udcfe", scope="s\udcfd")
    append_raw(state, event="approval.granted", scope="s\udcfd")

    report = export_pending(state, Settings(receiver.url), environ=environ)

    assert (report.error, report.metrics_error) == (None, None)
    figures = _figures(receiver)
    assert figures["corral.commands"] == {
        (("decision", "allow\\udcff"), ("outcome", "ok")): 1
    }
    assert figures["corral.approvals"] == {
        (("answer", "granted"), ("scope", "s\\udcfd")): 1
    }
    assert figures["corral.events"][(("event", "approval.granted\\udcfe"),)] == 1


def test_a_collector_that_refuses_the_metrics_still_gets_every_record(
    state: Path, environ: dict[str, str], receiver: Receiver
) -> None:
    """Records and figures advance apart: the failure is reported and recorded
    once, records keep flowing, and the figures go once, counted once, later."""
    some_records(state, environ)
    receiver.metrics_status = 500

    first = export_pending(state, Settings(receiver.url), environ=environ)
    record(state, environ, "command.started", run="f" * 16, argv=["later"])
    second = export_pending(state, Settings(receiver.url), environ=environ)

    assert (first.error, second.error) == (None, None)
    assert first.metrics_error is not None
    assert "HTTP 500" in first.metrics_error
    assert second.metrics_error is not None
    assert second.shipped == 1
    assert first.pending == second.pending == 0
    assert receiver.seqs() == list(range(1, len(log_lines(state)) + 1))
    assert events_in(state).count("export.failed") == 1
    assert receiver.metrics == []

    receiver.metrics_status = 200
    back = export_pending(state, Settings(receiver.url), environ=environ)

    assert (back.error, back.metrics_error) == (None, None)
    assert events_in(state)[-1] == "export.resumed"
    counted = sum(int(str(n)) for n in _figures(receiver)["corral.events"].values())
    assert counted == len(log_lines(state))  # export.resumed too: once each
    position = read_position(state, receiver.url)
    assert position.failing is None
    assert position.seq == len(log_lines(state))


def test_after_a_metrics_failure_the_next_command_still_starts_an_exporter(
    state: Path, environ: dict[str, str], receiver: Receiver
) -> None:
    """Only a collector that takes no records is left alone a while."""
    write_policy(environ, f'[audit.export]\nendpoint = "{receiver.url}"\n')
    some_records(state, environ)
    receiver.metrics_status = 500
    assert export_pending(state, Settings(receiver.url), environ=environ).metrics_error
    record(state, environ, "command.started", run="f" * 16, argv=["later"])

    pid = start_export(state, environ)

    assert pid is not None
    ended = False
    try:
        assert receiver.wait_for(lambda seen: "later" in str(seen.records()[-1].body))
        ended = _ended(pid, EXIT_WAIT)
        assert ended
    finally:
        if not ended:
            _end(pid)
        reap()  # what start_export does: it knows the exporter ended


def test_figures_that_cannot_be_made_into_a_request_are_not_retried_forever(
    state: Path, environ: dict[str, str], receiver: Receiver
) -> None:
    from corral.audit.export._collector import Collector  # noqa: PLC0415

    collector = Collector(receiver.url, timeout=TIMEOUT)
    try:
        sent = collector.send_metrics(_BrokenTally())
    finally:
        collector.close()

    assert not sent.accepted
    assert sent.unsendable
    assert sent.error is not None
    assert "cannot be sent" in sent.error
    assert receiver.paths == []


class _BrokenTally(Tally):
    """A tally whose figures cannot be built."""

    def metrics_data(self) -> MetricsData:
        raise ValueError("broken figures")


@pytest.mark.parametrize(
    "when",
    ["1969-12-31T23:59:59.000Z", "2600-01-01T00:00:00.000Z", "0001-01-01T00:00Z"],
)
def test_a_record_dated_outside_what_otlp_can_carry_keeps_its_shape(
    state: Path,
    environ: dict[str, str],
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
    when: str,
) -> None:
    """It goes without a record time (the observed time stays), with its attributes."""
    append_raw(state, event="agent.step", time=when, n=1)
    append_raw(state, event={"not": "a string"}, time="2026-12-04T15:12:15.000Z")

    report = export_pending(state, Settings(receiver.url), environ=environ)

    assert (report.shipped, report.error, report.metrics_error) == (2, None, None)
    dated, odd = receiver.records()
    assert dated.body == json.loads(log_lines(state)[0])
    assert dated.attributes["event.name"] == "agent.step"
    assert dated.record.time_unix_nano == 0
    assert dated.record.observed_time_unix_nano > 0
    assert isinstance(odd.body, dict)
    assert odd.attributes["event.name"] == str({"not": "a string"})
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


# -- what a foreground export says when a background one went first -------------


def test_export_after_a_background_exporter_says_what_it_sent_and_dropped(
    state: Path, environ: dict[str, str], receiver: Receiver
) -> None:
    """The batch went meanwhile: the report says so, and what the collector
    dropped of it, instead of "0 exported" and nothing more."""
    import threading  # noqa: PLC0415

    from corral.audit.export._process import exporter_lock  # noqa: PLC0415
    from corral.audit.export._ship import ship  # noqa: PLC0415

    some_records(state, environ)
    receiver.rejected = 2
    reports: list[ExportReport] = []
    waiting = threading.Thread(
        target=lambda: reports.append(
            export_pending(state, Settings(receiver.url), environ=environ)
        )
    )
    with exporter_lock(state, deadline=None) as held:
        assert held
        waiting.start()
        time.sleep(1.0)  # it reads where export stands, then waits for the lock
        assert waiting.is_alive()
        background = ship(state, receiver.url, TIMEOUT, environ=environ)
    waiting.join(timeout=60)

    assert background.shipped == 6  # the five, then their export.rejected
    (report,) = reports
    assert (report.shipped, report.pending, report.error) == (0, 0, None)
    assert report.elsewhere == 6
    assert report.rejected == 2  # as the export.rejected record says


def test_once_says_nothing_was_pending_when_nothing_was(
    state: Path, environ: dict[str, str], receiver: Receiver
) -> None:
    write_policy(environ, f'[audit.export]\nendpoint = "{receiver.url}"\n')
    some_records(state, environ)
    export_pending(state, Settings(receiver.url), environ=environ)

    done = _module(["--once"], environ)

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("nothing was pending")
