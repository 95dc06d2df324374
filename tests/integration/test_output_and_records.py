"""What corral carries and records around a command, whatever its caller's streams do.

The time limit holds while the reader of corral's output never reads; a closed
standard descriptor is never filled with one of corral's own files; ``--json``
starts on a line of its own; every started command gets its closing event.
"""

from __future__ import annotations

import io
import json
import os
import pwd
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from corral import CorralError, Sandbox, load_policy
from tests.conftest import Home
from tests.support import CORRAL, CorralCLI, events


def _events(home: Home) -> list[dict[str, object]]:
    return events(home.state)


def _kinds(home: Home) -> list[str]:
    return [str(e["event"]) for e in events(home.state)]


def _running(marker: str) -> list[str]:
    found = subprocess.run(
        ["pgrep", "-f", marker], capture_output=True, text=True, check=False
    )
    return found.stdout.split()


def _wait_for(condition: object, seconds: float) -> bool:
    assert callable(condition)
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        if condition():
            return True
        time.sleep(0.1)
    return bool(condition())


def _start(
    corral: CorralCLI, workspace: Path, *args: str, stdout: int, stderr: int
) -> subprocess.Popen[bytes]:
    """Start ``corral run -C WORKSPACE ARGS...`` with the given output descriptors."""
    return subprocess.Popen(
        [*CORRAL, "run", "-C", str(workspace), *args],
        env=corral.env,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
    )


def test_the_time_limit_holds_while_the_reader_of_stderr_never_reads(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    """A blocked reader neither stalls the deadline nor keeps the tree alive."""
    marker = f"{uuid.uuid4().int % 10**6}.{os.getpid()}"
    reader, writer = os.pipe()
    started = time.monotonic()
    process = _start(
        corral,
        workspace,
        *("--timeout", "1", "--", "sh", "-c", 'yes "err$0" >&2', marker),
        stdout=subprocess.DEVNULL,
        stderr=writer,
    )
    os.close(writer)
    try:
        finished = _wait_for(
            lambda: any(e["event"] == "command.finished" for e in _events(home)), 15
        )
        assert finished, "no command.finished while the reader was not reading"
        assert time.monotonic() - started < 15
        assert _wait_for(lambda: _running(f"err{marker}") == [], 3)
        assert _events(home)[-1]["timed_out"] is True
    finally:
        os.close(reader)
        process.wait(timeout=30)
    assert process.returncode == 124


def test_the_time_limit_holds_while_the_reader_of_stdout_never_reads(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    """With --json stdout is carried too, and a blocked reader stalls nothing."""
    reader, writer = os.pipe()
    process = _start(
        corral,
        workspace,
        *("--json", "--timeout", "1", "--", "yes", "out"),
        stdout=writer,
        stderr=subprocess.DEVNULL,
    )
    os.close(writer)
    try:
        assert _wait_for(
            lambda: any(e["event"] == "command.finished" for e in _events(home)), 15
        )
    finally:
        os.close(reader)
        process.wait(timeout=30)
    assert process.returncode == 124


def test_a_slow_reader_still_gets_every_byte(
    corral: CorralCLI, workspace: Path
) -> None:
    """Without a time limit, corral waits for the reader as a pipe would."""
    script = "import sys; sys.stderr.write('e' * 3_000_000)"
    process = _start(
        corral,
        workspace,
        *("--", "python3", "-c", script),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    with process.stderr:
        time.sleep(3)  # longer than corral drains pipes after the command's exit
        received = process.stderr.read()
    assert process.wait(timeout=30) == 0
    assert received.count(b"e") == 3_000_000


def _corral_with_closed(
    fds: str, corral: CorralCLI, workspace: Path, *command: str
) -> subprocess.CompletedProcess[str]:
    """Run corral from a shell that closes the descriptors in `fds` (e.g. 0<&-)."""
    argv = [*CORRAL, "run", "-C", str(workspace), *command]
    script = " ".join(f"'{arg}'" for arg in argv) + f" {fds}"
    return subprocess.run(
        ["sh", "-c", script],
        env=corral.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_closed_stdin_or_stdout_reaches_the_command_as_dev_null(
    corral: CorralCLI, workspace: Path
) -> None:
    """corral's own files never take the numbers of closed standard descriptors."""
    script = 'echo "$(readlink /proc/$$/fd/0) $(readlink /proc/$$/fd/1)" >&2'
    ran = _corral_with_closed("0<&- 1>&-", corral, workspace, "--", "sh", "-c", script)
    assert ran.returncode == 0, ran.stderr
    assert ran.stderr.splitlines()[0] == "/dev/null /dev/null"


def test_a_closed_stderr_reaches_the_command_as_nothing_of_corrals(
    corral: CorralCLI, workspace: Path
) -> None:
    """The command's stderr is corral's pipe (forwarded to /dev/null), not a file."""
    ran = _corral_with_closed(
        "2>&-", corral, workspace, "--", "readlink", "/proc/self/fd/2"
    )
    assert ran.returncode == 0
    assert ran.stdout.startswith("pipe:"), ran.stdout


def test_json_with_stdout_closed_does_not_crash(
    corral: CorralCLI, workspace: Path
) -> None:
    ran = _corral_with_closed("1>&-", corral, workspace, "--json", "--", "true")
    assert ran.returncode == 0, ran.stderr
    assert "Traceback" not in ran.stderr


def test_a_library_caller_with_closed_stdin_gives_the_command_dev_null(
    home: Home, workspace: Path
) -> None:
    script = (
        "import sys\n"
        "from corral import Sandbox, load_policy\n"
        "from pathlib import Path\n"
        "ws = Path(sys.argv[1])\n"
        "sandbox = Sandbox(ws, load_policy(ws))\n"
        "result = sandbox.run(['readlink', '/proc/self/fd/0'], capture=True)\n"
        "sys.stderr.write(result.stdout.decode())\n"
    )
    ran = subprocess.run(
        ["sh", "-c", f'"{sys.executable}" -c "$0" "$1" 0<&-', script, str(workspace)],
        env=home.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stderr.strip() == "/dev/null"


def test_json_starts_on_a_fresh_line_after_output_without_a_newline(
    corral: CorralCLI, workspace: Path
) -> None:
    ran = corral("run", "-C", str(workspace), "--json", "--", "printf", "no-newline")
    assert ran.returncode == 0, ran.stderr
    first, last = ran.stdout.split("\n", 1)
    assert first == "no-newline"
    assert json.loads(last)["exit_status"] == 0


def test_json_adds_no_blank_line_after_output_ending_in_a_newline(
    corral: CorralCLI, workspace: Path
) -> None:
    ran = corral("run", "-C", str(workspace), "--json", "--", "printf", "a\\nb\\n")
    assert ran.stdout.splitlines()[:2] == ["a", "b"]
    assert json.loads(ran.stdout.splitlines()[2])["argv"][0] == "printf"


def test_the_event_names_the_effective_user_not_what_the_environment_claims(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    corral.run(workspace, "true", env={"USER": "mallory", "LOGNAME": "mallory"})
    for event in _events(home):
        assert event["user"] == pwd.getpwuid(os.geteuid()).pw_name
        assert event["uid"] == os.geteuid()


def test_an_interrupted_command_is_recorded_as_an_error(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    process = _start(
        corral,
        workspace,
        *("--", "sleep", "30"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    assert _wait_for(lambda: _kinds(home)[-1:] == ["command.started"], 15)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=30)
    assert _kinds(home) == [
        "policy.loaded",
        "command.requested",
        "command.decided",
        "command.started",
        "command.error",
    ]
    assert "KeyboardInterrupt" in str(_events(home)[-1]["error"])


def test_a_failure_that_is_not_corrals_own_is_recorded_as_an_error(
    home: Home, workspace: Path
) -> None:
    """An unusable stream from a library caller still closes the event pair."""
    env = home.env()
    sandbox = Sandbox(workspace, load_policy(workspace, environ=env), environ=env)
    with pytest.raises(io.UnsupportedOperation):
        sandbox.run(["true"], stdout=io.BytesIO())
    assert _kinds(home) == ["policy.loaded", "command.started", "command.error"]
    assert "UnsupportedOperation" in str(_events(home)[-1]["error"])


def test_a_relative_or_empty_home_is_refused_up_front(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    for value in ("home", ""):
        ran = corral.run(workspace, "true", env={"HOME": value})
        assert ran.returncode == 125
        assert ran.stderr.startswith("corral: HOME is"), ran.stderr
        assert "set HOME" in ran.stderr
    assert _events(home) == []


@pytest.mark.boundary_only
def test_a_failing_scan_after_the_command_keeps_its_status_and_record(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    """A command that leaves the workspace unscannable still gets its own result."""
    forged = '{"exit_status": 0, "new_git_dirs": [], "refusals": []}'
    ran = corral(
        "run",
        "-C",
        str(workspace),
        "--json",
        "--",
        "sh",
        "-c",
        f"mkdir x && ln -s /nonexistent x/.git; echo '{forged}'; exit 3",
    )
    assert ran.returncode == 3, ran.stderr
    described = json.loads(ran.stdout.splitlines()[-1])
    assert described["exit_status"] == 3
    assert "x/.git" in described["scan_error"]
    assert "could not look for git directories" in ran.stderr
    events = [
        json.loads(line)
        for line in (home.state / "corral" / "events.jsonl").read_text().splitlines()
    ]
    assert events[-1]["event"] == "command.finished"
    assert events[-1]["exit_status"] == 3
    assert events[-1]["scan_error"]


def test_json_ends_with_an_object_when_corral_cannot_run_the_command(
    corral: CorralCLI, workspace: Path
) -> None:
    (workspace / ".vscode").symlink_to(workspace / "src")
    ran = corral("run", "-C", str(workspace), "--json", "--", "echo", "hi")
    assert ran.returncode == 125
    described = json.loads(ran.stdout.splitlines()[-1])
    assert described["exit_status"] == 125
    assert "symbolic link" in described["error"]


@pytest.mark.parametrize(
    "line",
    [
        "ls: cannot read symbolic link '/proc/1/fd/0': Permission denied",
        "cat: /proc/1/cwd/x: Permission denied",
        "cat: /tmp/a\\0b: Permission denied",
        "touch: cannot touch '" + "d/" * 3000 + "x': Permission denied",
    ],
)
def test_what_the_command_prints_never_fails_its_run_or_its_record(
    corral: CorralCLI, workspace: Path, home: Home, line: str
) -> None:
    """Refusal hints come from the command's stderr: no line of it may crash corral."""
    ran = corral(
        "run", "--json", "-C", str(workspace), "--",
        "sh", "-c", 'printf "%b\\n" "$1" >&2', "sh", line,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout.splitlines()[-1])["exit_status"] == 0
    assert [e["event"] for e in _events(home)][-1] == "command.finished"


def test_a_record_lost_after_the_command_ran_says_the_command_ran(
    workspace: Path, home: Home
) -> None:
    env = home.env()
    sandbox = Sandbox(workspace, load_policy(workspace, environ=env), environ=env)
    log = home.state / "corral" / "events.jsonl"
    # The command says it runs, then waits until the host has replaced the log.
    command = "touch started; while [ ! -e go ]; do sleep 0.05; done; exit 3"

    def running() -> bool:
        # Read as text: a line may be half written while the run appends it.
        recorded = log.exists() and '"command.started"' in log.read_text()
        return recorded and (workspace / "started").exists()

    def replace_the_log() -> None:
        try:
            # Once the command's start is on record and the command runs.
            if _wait_for(running, 60):
                log.rename(log.with_name("events.moved"))
                log.mkdir()  # nothing can be appended to a directory
        finally:
            (workspace / "go").touch()

    mover = threading.Thread(target=replace_the_log)
    mover.start()
    try:
        with pytest.raises(CorralError, match="the command ran and exited 3, but"):
            sandbox.run(["sh", "-c", command], capture=True)
    finally:
        mover.join()
