"""Helpers the tests share: running the real ``corral`` command line."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

IS_ROOT = os.geteuid() == 0

CORRAL = (sys.executable, "-m", "corral")
"""The real ``corral`` command line, run by the interpreter running the tests."""


@dataclass
class Ran:
    """A finished ``corral`` process."""

    returncode: int
    stdout: str
    stderr: str


class CorralCLI:
    """Runs ``python -m corral`` with a fixed base environment."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = dict(env)

    def __call__(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        stdin: str = "",
        timeout: float = 60,
    ) -> Ran:
        done = subprocess.run(
            [*CORRAL, *args],
            env={**self.env, **(env or {})},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return Ran(done.returncode, done.stdout, done.stderr)

    def run(
        self,
        workspace: Path,
        *command: str,
        env: Mapping[str, str] | None = None,
        stdin: str = "",
        timeout: float = 60,
    ) -> Ran:
        """``corral run -C WORKSPACE -- COMMAND...``"""
        return self(
            "run",
            "-C",
            str(workspace),
            "--",
            *command,
            env=env,
            stdin=stdin,
            timeout=timeout,
        )


def sh(script: str) -> tuple[str, ...]:
    """Return the argv that runs `script` with the shell inside the sandbox."""
    return ("sh", "-c", script, "sh")


def run_in_pty(
    argv: Sequence[str], env: Mapping[str, str], timeout: float = 60
) -> tuple[int, str]:
    """Run `argv` on a fresh pseudo-terminal; return its exit status and output."""
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child execs at once
        os.execvpe(argv[0], list(argv), dict(env))  # noqa: S606 - the test's own
    output = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace")


# How every question corral asks at a terminal ends: "...? [y/N]: " or
# "...? [o]nce, [s]ession, [N]o: ".
_QUESTION_END = re.compile(rb"\? \[[^\n]*: $")


@dataclass
class Answered:
    """A finished program that may have asked a question at its terminal."""

    returncode: int
    output: str
    """All the terminal showed, the echo of what was typed included."""
    asked: bool
    """Whether the question appeared, and so was answered."""


def answer_in_pty(
    argv: Sequence[str],
    env: Mapping[str, str],
    answer: str,
    *,
    typed_ahead: str | None = None,
    timeout: float = 60,
) -> Answered:
    """Run `argv` on a fresh pseudo-terminal; type `answer` once a question shows.

    `typed_ahead` is a line typed before the program starts, as an agent writing
    into the terminal would: the program is started only once it waits there.
    A program that asks nothing runs to its end unanswered.
    """
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child execs at once
        if typed_ahead is not None:
            select.select([0], [], [])  # the line is in the terminal's input
        os.execvpe(argv[0], list(argv), dict(env))  # noqa: S606 - the test's own
    if typed_ahead is not None:
        os.write(fd, f"{typed_ahead}\n".encode())
    output, asked = b"", False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the program ended: its side of the terminal is gone
            break
        if not chunk:
            break
        output += chunk
        if not asked and _QUESTION_END.search(output):
            os.write(fd, f"{answer}\n".encode())
            asked = True
    else:
        os.kill(pid, signal.SIGKILL)  # still running: a question nobody saw
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return Answered(
        os.waitstatus_to_exitcode(status), output.decode(errors="replace"), asked
    )


def events(xdg_state: Path) -> list[dict[str, Any]]:
    """The event records corral wrote with ``XDG_STATE_HOME`` at `xdg_state`."""
    log = xdg_state / "corral" / "events.jsonl"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


def request_id(refused: Ran) -> str:
    """The request id that a run refused for want of an approval names on stderr."""
    found = re.search(r"corral approve ([0-9a-f]+) ", refused.stderr)
    assert found is not None, refused.stderr
    return found.group(1)


class Listener:
    """A server the test runs on the host, answering 'reached' to whoever connects.

    `reached` records each connection, so a test can check on the host side
    that a refused connection never arrived.
    """

    path: Path | None = None
    """Where a unix listener is bound; removed on close."""

    def __init__(self, server: socket.socket) -> None:
        self.server = server
        self.reached: list[bool] = []
        server.listen()
        server.settimeout(0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @classmethod
    def tcp(cls) -> Listener:
        """Listen on an unused port of the host's 127.0.0.1."""
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.bind(("127.0.0.1", 0))
        return cls(server)

    @classmethod
    def unix(cls, path: Path) -> Listener:
        """Listen on a unix socket bound at `path` on the host."""
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
        listener = cls(server)
        listener.path = path
        return listener

    @property
    def port(self) -> int:
        return int(self.server.getsockname()[1])

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            self.reached.append(True)
            with conn:
                conn.sendall(b"reached\n")

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.server.close()
        if self.path is not None:
            self.path.unlink(missing_ok=True)


# Long enough for any open that does not wait; a call still running after it waits.
PROMPT_SECONDS = 5.0


def promptly(call: Callable[[], object], fifo: Path) -> BaseException | None:
    """Run `call`; return what it raised.  A call blocked on `fifo` is set free."""
    raised: list[BaseException | None] = [None]

    def target() -> None:
        try:
            call()
        except BaseException as exc:  # noqa: BLE001 (handed to the test)
            raised[0] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(PROMPT_SECONDS)
    if thread.is_alive():
        # Open the other end, so the open that waits for one returns.
        for flags in (os.O_WRONLY | os.O_NONBLOCK, os.O_RDONLY | os.O_NONBLOCK):
            try:
                os.close(os.open(fifo, flags))
            except OSError:
                continue
        thread.join(PROMPT_SECONDS)
        pytest.fail(f"blocked on the FIFO at {fifo}")
    return raised[0]


# The kernel lists a socket's name as its bytes, one record per line: a name
# may hold any byte but NUL, newlines and invalid UTF-8 included.
ODD_SOCKET_NAMES = [
    pytest.param("v\x0bt.sock", id="vertical-tab"),
    pytest.param("l\u2028s.sock", id="line-separator"),
    pytest.param("n\nl.sock", id="newline"),
    pytest.param("n\n0: 2 0 1 1 1 1 x", id="record-inside"),
    pytest.param(os.fsdecode(b"b\xffd.sock"), id="not-utf-8"),
    pytest.param("trailing.sock ", id="trailing-space"),
]
