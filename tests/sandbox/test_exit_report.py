"""How a command ended, beyond its exit status: the signal, what it left running,
and how much it wrote.

Real bubblewrap and real processes.  In the sandbox's pid namespace the enforcer
stays as the command's supervisor; its report reaches `RunResult`, ``--json`` and
the ``command.finished`` record, and the exit status stays the command's own.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from corral.policy import load_policy
from corral.sandbox import Layer, Sandbox, find_tools
from corral.sandbox._enforce import EnforcerConfig, enforcer_argv
from corral.sandbox._landlock import ABI_SCOPE, landlock_abi
from corral.sandbox._supervise import LEFT_NAMES_LIMIT, pid_namespace
from tests.conftest import Home
from tests.support import CORRAL, CorralCLI, events, sh

needs_signal_scope = pytest.mark.skipif(
    landlock_abi() < ABI_SCOPE,
    reason="keeping the command's signals from its supervisor needs Landlock ABI 6",
)

# A daemon as the books make one: fork, setsid, fork again, and the first two
# exit, the first once the daemon has become sleep (the pipe closes on exec).
DAEMON = """
import os, sys
r, w = os.pipe()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execvp("sleep", ["sleep", sys.argv[1]])
    os._exit(0)
os.close(w)
os.read(r, 1)
os.wait()
"""

# Every descriptor of the command's parent (the supervisor) that opens for
# writing gets a report claiming a different ending; prints how many opened.
FORGE = """
import os
forged = b'{"signal":15,"left_running":99,"left_names":["forged"]}\\n'
fds = f"/proc/{os.getppid()}/fd"
opened = 0
try:
    names = os.listdir(fds)
except OSError:
    names = []
for name in names:
    try:
        fd = os.open(f"{fds}/{name}", os.O_WRONLY)
    except OSError:
        continue
    opened += 1
    os.write(fd, forged)
print(opened)
"""

# A process whose main thread has ended (SYS_exit, not exit_group) while another
# thread works on: its /proc/PID/stat reads "Z", yet it runs.  The command waits
# until it reads so, then exits.
ZOMBIE_LEADER = """
import ctypes, os, platform, threading, time
SYS_EXIT = {"x86_64": 60, "aarch64": 93}[platform.machine()]
child = os.fork()
if child == 0:
    threading.Thread(target=time.sleep, args=(30,)).start()
    ctypes.CDLL(None).syscall(SYS_EXIT, 0)
while True:
    with open(f"/proc/{child}/stat") as stat:
        if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
            break
"""


def _marker() -> str:
    """A number unique to one test, so that its sleeps alone match on the host."""
    return f"{uuid.uuid4().int % 10**6}{os.getpid()}"


def _running(marker: str) -> list[str]:
    found = subprocess.run(
        ["pgrep", "-f", marker], capture_output=True, text=True, check=False
    )
    return found.stdout.split()


# How long the processes of a run that ended may take to be gone, and a command
# on a terminal to get its foreground, on a loaded machine.
_GONE_SECONDS = 10.0
_FOREGROUND_SECONDS = 30.0


def _left_running(marker: str) -> list[str]:
    """The processes whose command line holds `marker` once they had time to go."""
    deadline = time.monotonic() + _GONE_SECONDS
    while (left := _running(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def _has_the_terminal(argv: bytes) -> bool:
    """Whether a process running `argv` (NUL-separated) is its terminal's
    foreground job, and not stopped."""
    for pid in Path("/proc").iterdir():
        try:
            if (pid / "cmdline").read_bytes() != argv:
                continue
            fields = (pid / "stat").read_text().rpartition(")")[2].split()
        except OSError:  # not a process, or one that ended meanwhile
            continue
        # state, ppid, process group, session, tty, the tty's foreground group
        if fields[0] != "T" and fields[2] == fields[5]:
            return True
    return False


def _wait_for_the_terminal(*argv: str) -> None:
    """Wait until the process running `argv` has its terminal's foreground."""
    wanted = b"".join(os.fsencode(arg) + b"\0" for arg in argv)
    deadline = time.monotonic() + _FOREGROUND_SECONDS
    while not _has_the_terminal(wanted):
        assert time.monotonic() < deadline, f"{argv} never had the terminal"
        time.sleep(0.02)


def _started(program: str) -> str:
    """Shell words that start `program` in the background and wait for its exec."""
    name = program.split(maxsplit=1)[0]
    return f'{program} & until [ "$(cat /proc/$!/comm)" = {name} ]; do :; done'


def _finished(home: Home) -> dict[str, object]:
    return [e for e in events(home.state) if e["event"] == "command.finished"][-1]


@pytest.fixture
def sandbox(workspace: Path, home: Home) -> Iterator[Sandbox]:
    env = home.env()
    with Sandbox(workspace, load_policy(workspace, environ=env), environ=env) as box:
        yield box


def test_a_command_killed_by_a_signal_reports_it_and_exits_128_plus_n(
    sandbox: Sandbox, home: Home
) -> None:
    result = sandbox.run(sh("kill -9 $$"), capture=True)
    assert result.exit_status == 137
    assert (result.signal, result.signal_name) == (9, "SIGKILL")
    finished = _finished(home)
    assert finished["exit_status"] == 137
    assert (finished["signal"], finished["signal_name"]) == (9, "SIGKILL")


def test_a_command_that_exits_reports_no_signal_and_nothing_left(
    sandbox: Sandbox, home: Home
) -> None:
    result = sandbox.run(sh("exit 3"), capture=True)
    assert result.exit_status == 3
    assert result.signal is None
    assert (result.left_running, result.left_names) == (0, [])
    finished = _finished(home)
    assert (finished["signal"], finished["signal_name"]) == (None, None)
    assert (finished["left_running"], finished["left_names"]) == (0, [])


def test_an_exit_status_above_128_is_not_taken_for_a_signal(sandbox: Sandbox) -> None:
    result = sandbox.run(sh("exit 137"))
    assert (result.exit_status, result.signal) == (137, None)


def test_a_background_child_is_counted_named_and_gone_when_the_run_returns(
    sandbox: Sandbox, home: Home
) -> None:
    marker = _marker()
    result = sandbox.run(sh(f"{_started(f'sleep 1{marker}')}; exit 0"), capture=True)
    assert result.exit_status == 0
    assert (result.left_running, result.left_names) == (1, ["sleep"])
    assert _running(marker) == []
    finished = _finished(home)
    assert (finished["left_running"], finished["left_names"]) == (1, ["sleep"])


def test_a_double_forked_daemon_is_counted_and_killed(sandbox: Sandbox) -> None:
    marker = _marker()
    result = sandbox.run(["python3", "-c", DAEMON, f"1{marker}"], capture=True)
    assert result.exit_status == 0, result.stderr
    assert (result.left_running, result.left_names) == (1, ["sleep"])
    assert _running(marker) == []


def test_stopped_leftovers_count_and_the_names_stop_at_the_limit(
    sandbox: Sandbox,
) -> None:
    marker = _marker()
    many = LEFT_NAMES_LIMIT + 5
    script = f"for i in $(seq {many}); do {_started(f'sleep 1{marker}')}; done"
    script += "; kill -STOP $!"
    result = sandbox.run(sh(script), capture=True)
    assert result.left_running == many
    assert result.left_names == ["sleep"] * LEFT_NAMES_LIMIT
    assert _running(marker) == []


def test_a_leftover_still_forking_when_the_command_ends_leaves_nothing(
    sandbox: Sandbox,
) -> None:
    marker = _marker()
    script = f"(while :; do sleep 1{marker} & done) & sleep 0.2"
    result = sandbox.run(sh(script), capture=True)
    assert result.exit_status == 0
    assert result.left_running is not None
    assert result.left_running >= 2  # the loop's shell, and a sleep at least
    assert _running(marker) == []


def test_signals_sent_to_every_process_do_not_end_the_supervisor(
    sandbox: Sandbox,
) -> None:
    """kill -1 reaches the supervisor too: it ignores all it can, so the command
    runs on with its sandbox."""
    names = ("TERM", "HUP", "INT", "QUIT", "USR1", "USR2", "ALRM", "TSTP", "PIPE")
    script = (
        "import os, signal\n"
        f"for name in {names!r}:\n"
        "    os.kill(-1, getattr(signal, 'SIG' + name))\n"
        "print('survived')\n"
    )
    result = sandbox.run(["python3", "-c", script], capture=True)
    assert result.exit_status == 0, result.stderr
    assert result.stdout == b"survived\n"
    assert result.left_running == 0


def test_corrals_own_bridge_is_not_counted(workspace: Path, home: Home) -> None:
    """In allow-list mode the proxy's bridge runs in the sandbox too, and stays."""
    policy = home.config / "corral" / "policy.toml"
    policy.parent.mkdir(parents=True)
    policy.write_text('[network]\nmode = "allow-list"\nallow = ["pkg.test"]\n')
    env = home.env()
    marker = _marker()
    with Sandbox(workspace, load_policy(workspace, environ=env), environ=env) as box:
        alone = box.run(["true"], capture=True)
        assert (alone.exit_status, alone.left_running) == (0, 0), alone.stderr
        script = f"{_started(f'sleep 1{marker}')}; exit 0"
        leaving = box.run(sh(script), capture=True)
        assert (leaving.left_running, leaving.left_names) == (1, ["sleep"])


def test_a_process_whose_main_thread_ended_is_counted_as_left_running(
    sandbox: Sandbox,
) -> None:
    """Its other thread still runs: one process left, not none."""
    result = sandbox.run(["python3", "-c", ZOMBIE_LEADER], capture=True, timeout=20)
    assert (result.exit_status, result.timed_out) == (0, False), result.stderr
    assert (result.left_running, result.left_names) == (1, ["python3"])


def test_processes_the_command_killed_on_its_way_out_are_not_counted(
    sandbox: Sandbox,
) -> None:
    """A SIGKILL the command sent ends them, though some may not have died yet."""
    marker = _marker()
    started = f'{_started(f"sleep 1{marker}")}; pids="$pids $!"'
    script = f"for i in $(seq 20); do {started}; done; kill -9 $pids; exit 0"
    for _ in range(3):
        result = sandbox.run(sh(script), capture=True)
        assert (result.exit_status, result.left_running) == (0, 0), result.stderr
    assert _running(marker) == []


@needs_signal_scope
def test_kill_all_from_the_command_does_not_reach_its_supervisor(
    sandbox: Sandbox,
) -> None:
    """kill -9 -1 skips its caller: the shell runs on and exits as it will."""
    marker = _marker()
    script = f"{_started(f'sleep 1{marker}')}; kill -9 -1; echo still; exit 4"
    result = sandbox.run(sh(script), capture=True)
    assert result.stdout == b"still\n", result.stderr
    assert (result.exit_status, result.signal, result.left_running) == (4, None, 0)
    assert _running(marker) == []


@needs_signal_scope
def test_kill_of_its_process_group_ends_the_command_alone(sandbox: Sandbox) -> None:
    """The supervisor shares the group, and is outside the command's domain."""
    result = sandbox.run(sh("kill -9 0"), capture=True)
    assert (result.exit_status, result.signal) == (137, 9), result.stderr
    assert result.left_running == 0


@needs_signal_scope
def test_the_command_cannot_kill_or_stop_its_supervisor(sandbox: Sandbox) -> None:
    """The run then ends as the command did, at once: no hang, no time-out."""
    marker = _marker()
    script = (
        f"{_started(f'sleep 1{marker}')}; kill -9 $PPID || echo not-killed; "
        "kill -STOP $PPID || echo not-stopped; exit 3"
    )
    result = sandbox.run(sh(script), capture=True, timeout=20)
    assert result.stdout == b"not-killed\nnot-stopped\n", result.stderr
    assert (result.exit_status, result.timed_out, result.signal) == (3, False, None)
    assert (result.left_running, result.left_names) == (1, ["sleep"])
    assert _running(marker) == []


def test_a_limit_set_on_the_supervisor_never_gives_a_false_count(
    sandbox: Sandbox,
) -> None:
    """No descriptor left to it, the supervisor cannot look in /proc: it still
    kills what is left, and says it does not know how many rather than none."""
    marker = _marker()
    script = f"{_started(f'sleep 1{marker}')}; prlimit --pid $PPID --nofile=0; exit 0"
    result = sandbox.run(sh(script), capture=True, timeout=20)
    assert (result.exit_status, result.timed_out) == (0, False), result.stderr
    assert (result.left_running, result.left_names) in ((1, ["sleep"]), (None, []))
    assert _left_running(marker) == []


def test_the_command_cannot_write_its_supervisors_report(sandbox: Sandbox) -> None:
    """The supervisor holds the status fd; /proc does not open it to the command."""
    result = sandbox.run(["python3", "-c", FORGE], capture=True)
    assert result.exit_status == 0, result.stderr
    assert result.stdout == b"0\n"
    assert (result.signal, result.left_running, result.left_names) == (None, 0, [])


def test_captured_output_is_counted(sandbox: Sandbox, home: Home) -> None:
    result = sandbox.run(sh("printf abcde; printf xyz >&2"), capture=True)
    assert (result.stdout_bytes, result.stderr_bytes) == (5, 3)
    finished = _finished(home)
    assert (finished["stdout_bytes"], finished["stderr_bytes"]) == (5, 3)


@pytest.mark.parametrize(
    ("before", "mode", "script"),
    [
        (b"x" * 100, "r+b", "printf hi"),  # 1<>file: written over, no growth
        (b"", "wb", "printf x | dd bs=1 seek=100000 status=none"),  # sparse
        (b"written before\n", "ab", "printf 'twelve bytes'"),
    ],
    ids=["overwritten", "after-a-seek", "appended"],
)
def test_output_straight_to_a_regular_file_is_not_counted(
    sandbox: Sandbox, tmp_path: Path, before: bytes, mode: str, script: str
) -> None:
    """A file's growth is not the bytes written to it: null, not a guess."""
    target = tmp_path / "out.log"
    target.write_bytes(before)
    with target.open(mode) as out, Path(os.devnull).open("wb") as null:
        result = sandbox.run(sh(script), stdout=out, stderr=null)
    assert result.exit_status == 0
    assert target.stat().st_size >= 2
    assert result.stdout_bytes is None
    assert result.stderr_bytes == 0  # carried, to explain refusals


def test_output_straight_to_a_pipe_is_not_counted(sandbox: Sandbox) -> None:
    """corral never saw those bytes: null, not a guess."""
    reader, writer = os.pipe()
    try:
        with Path(os.devnull).open("wb") as null:
            result = sandbox.run(sh("printf abc"), stdout=writer, stderr=null)
        os.close(writer)
        assert os.read(reader, 100) == b"abc"
    finally:
        os.close(reader)
    assert (result.stdout_bytes, result.stderr_bytes) == (None, 0)


def test_stderr_merged_into_stdout_is_counted_with_it(sandbox: Sandbox) -> None:
    reader, writer = os.pipe()
    try:
        result = sandbox.run(
            sh("printf abc; printf de >&2"), stdout=writer, stderr=writer
        )
        os.close(writer)
        assert os.read(reader, 100) == b"abcde"
    finally:
        os.close(reader)
    assert (result.stdout_bytes, result.stderr_bytes) == (5, None)


def test_exec_failures_keep_their_statuses(sandbox: Sandbox, workspace: Path) -> None:
    (workspace / "not-executable").write_text("echo never\n")
    missing = sandbox.run(["corral-no-such-command"], capture=True)
    assert missing.exit_status == 127
    assert missing.start_error is not None
    refused = sandbox.run(["./not-executable"], capture=True)
    assert refused.exit_status == 126
    assert refused.start_error is not None
    for failed in (missing, refused):
        assert (failed.signal, failed.left_running) == (None, 0)


def test_without_the_namespaces_layer_nothing_left_running_is_claimed(
    workspace: Path, home: Home
) -> None:
    """No pid namespace of the sandbox's own: null, as corral cannot count."""
    env = home.env()
    box = Sandbox(workspace, load_policy(workspace, environ=env), environ=env)
    layers = frozenset({Layer.LANDLOCK, Layer.SECCOMP, Layer.IDENTITY})
    box.profile = dataclasses.replace(box.profile, layers=layers)
    result = box.run(sh("kill -9 $$"), capture=True)
    assert (result.exit_status, result.signal) == (137, 9)
    assert (result.left_running, result.left_names) == (None, [])


def test_a_timed_out_run_reports_its_kill_and_leaves_nothing(sandbox: Sandbox) -> None:
    marker = _marker()
    script = f"sleep 1{marker} & sleep 2{marker}"
    result = sandbox.run(sh(script), capture=True, timeout=1)
    assert result.timed_out
    assert (result.signal_name, result.left_running) == ("SIGKILL", None)
    assert _left_running(marker) == []


def test_json_reports_the_ending_and_the_output_sizes(
    corral: CorralCLI, workspace: Path
) -> None:
    marker = _marker()
    script = f"printf abc; {_started(f'sleep 1{marker}')}; kill -TERM $$"
    ran = corral("run", "-C", str(workspace), "--json", "--", *sh(script))
    assert ran.returncode == 143, ran.stderr
    described = json.loads(ran.stdout.splitlines()[-1])
    assert described["exit_status"] == 143
    assert (described["signal"], described["signal_name"]) == (15, "SIGTERM")
    assert (described["left_running"], described["left_names"]) == (1, ["sleep"])
    assert (described["stdout_bytes"], described["stderr_bytes"]) == (3, 0)


def _bwrap_enforced(
    bwrap_options: Sequence[str], argv: Sequence[str], *, supervise: str | None
) -> tuple[int, str, list[dict[str, object]]]:
    """Run the enforcer under bubblewrap with `bwrap_options`; return its exit
    status, the command's stdout and the status lines."""
    bwrap = find_tools().bwrap
    assert bwrap is not None
    status_r, status_w = os.pipe()
    config = EnforcerConfig(
        status_fd=status_w,
        stderr_fd=None,
        landlock=None,
        seccomp_allow_inet=None,
        identity=False,
        supervise=supervise,
    )
    command = enforcer_argv(sys.executable, config, argv)
    try:
        done = subprocess.run(
            [
                bwrap,
                "--unshare-user",
                "--die-with-parent",
                *bwrap_options,
                "--",
                *command,
            ],
            pass_fds=(status_w,),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(status_w)
    with os.fdopen(status_r, encoding="utf-8") as reader:
        lines = [json.loads(line) for line in reader.read().splitlines()]
    return done.returncode, done.stdout, lines


# Every run below has a pid namespace of its own: whatever the enforcer does,
# a signal to every process it can see never leaves it.
OWN_PROC = ["--unshare-pid", "--dev-bind", "/", "/", "--proc", "/proc"]
HOST_PROC = ["--unshare-pid", "--dev-bind", "/", "/"]


def test_the_enforcer_supervises_in_a_pid_namespace_of_its_own() -> None:
    code, parent, lines = _bwrap_enforced(
        OWN_PROC, sh("echo $PPID; exit 5"), supervise=pid_namespace()
    )
    assert code == 5
    assert parent.strip() == "2"  # the supervisor, child of bubblewrap's init
    assert lines[-1] == {
        "exited": 5,
        "left_running": 0,
        "left_names": [],
        "mounts_lost": [],
    }


@pytest.mark.parametrize(
    ("options", "asked"),
    [(HOST_PROC, True), (OWN_PROC, False)],
    ids=["the-hosts-proc", "not-asked"],
)
def test_no_supervisor_unless_asked_and_the_namespace_is_confirmed(
    options: list[str], asked: bool
) -> None:
    """Where /proc shows the processes of another namespace, signalling all it
    sees would reach them: the enforcer becomes the command, as without it."""
    supervise = pid_namespace() if asked else None
    code, parent, lines = _bwrap_enforced(
        options, sh("echo $PPID; exit 5"), supervise=supervise
    )
    assert code == 5
    assert parent.strip() == "1"
    assert [line for line in lines if "exited" in line or "signal" in line] == []


class _Terminal:
    """A program on a fresh pseudo-terminal, driven as a person types."""

    def __init__(self, argv: Sequence[str], env: dict[str, str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # pragma: no cover - the child execs at once
            os.execvpe(argv[0], list(argv), env)  # noqa: S606 - the test's own
        self.output = b""
        self.seen = 0
        self.status: int | None = None

    def expect(self, text: bytes, timeout: float = 30) -> None:
        """Wait until `text` appears after what was expected last."""
        deadline = time.monotonic() + timeout
        while text not in self.output[self.seen :]:
            assert time.monotonic() < deadline, f"no {text!r} in {self.output!r}"
            ready, _, _ = select.select([self.fd], [], [], 0.2)
            if ready:
                try:
                    self.output += os.read(self.fd, 4096)
                except OSError:  # the program ended
                    break
        assert text in self.output[self.seen :], self.output
        self.seen = self.output.index(text, self.seen) + len(text)

    def type(self, keys: bytes) -> None:
        os.write(self.fd, keys)

    def wait(self, timeout: float = 30) -> int:
        """Wait for the program to end; return its exit status."""
        deadline = time.monotonic() + timeout
        while self.status is None:
            assert time.monotonic() < deadline, f"still running: {self.output!r}"
            if select.select([self.fd], [], [], 0.2)[0]:
                with contextlib.suppress(OSError):  # the program ended
                    self.output += os.read(self.fd, 4096)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
        return self.status

    def close(self) -> None:
        """End the program if it still runs, and close the terminal."""
        if self.status is None:
            os.kill(self.pid, signal.SIGKILL)
            self.status = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        os.close(self.fd)


def test_job_control_and_ctrl_c_reach_an_interactive_shell_s_jobs(
    workspace: Path, home: Home
) -> None:
    """The shell takes the terminal's foreground; Ctrl-Z stops its job, fg brings
    it back, Ctrl-C interrupts it, and the shell and corral carry on."""
    marker = _marker()
    argv = [*CORRAL, "run", "-C", str(workspace), "--"]
    terminal = _Terminal([*argv, "bash", "--norc", "--noprofile", "-i"], home.env())
    try:
        terminal.expect(b"[N]o: ")  # a shell reading a terminal is for a person
        terminal.type(b"o\n")
        terminal.expect(b"bash-")  # its own prompt: it reads the terminal now
        terminal.type(b"PS1='P''S> '\n")
        terminal.expect(b"PS> ")
        terminal.type(f"echo start-$((6*7)); sleep 1{marker}\n".encode())
        terminal.expect(b"start-42")
        _wait_for_the_terminal("sleep", f"1{marker}")
        terminal.type(b"\x1a")  # Ctrl-Z
        terminal.expect(b"Stopped")
        terminal.expect(b"PS> ")
        terminal.type(b"fg\n")
        terminal.expect(f"sleep 1{marker}".encode())
        _wait_for_the_terminal("sleep", f"1{marker}")
        terminal.type(b"\x03")  # Ctrl-C
        terminal.expect(b"PS> ")
        assert _running(marker) == []
        terminal.type(b"echo alive-$((6*7))\n")
        terminal.expect(b"alive-42")
        terminal.type(b"exit 7\n")
        assert terminal.wait() == 7
    finally:
        terminal.close()


def test_ctrl_c_interrupts_a_command_that_has_the_terminal(
    workspace: Path, home: Home
) -> None:
    marker = _marker()
    argv = [*CORRAL, "run", "-C", str(workspace), "--"]
    script = f"echo ready; sleep 1{marker}; echo not-interrupted"
    terminal = _Terminal([*argv, *sh(script)], home.env())
    try:
        terminal.expect(b"ready")
        _wait_for_the_terminal("sleep", f"1{marker}")
        terminal.type(b"\x03")  # Ctrl-C
        assert terminal.wait() == 130
    finally:
        terminal.close()
    assert b"not-interrupted" not in terminal.output
    assert _running(marker) == []
