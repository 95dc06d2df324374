"""A prestarted sandbox holds the same boundary as a fresh one, for one run only."""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path

import pytest

from corral.policy import load_policy
from corral.sandbox import RunResult, Sandbox
from corral.sandbox._launch import Outcome
from corral.sandbox._prestart import Prestarted
from corral.sandbox._streams import Streams
from tests.conftest import Home
from tests.support import Listener

# How long a prestarted sandbox may take to be set up, on a loaded machine.
_READY_SECONDS = 30.0
# A time limit, and a pause longer than it between a sandbox's set-up and its run.
_LIMIT_SECONDS = 4.0
_PAUSE_SECONDS = _LIMIT_SECONDS + 0.5


def _bwrap_children() -> set[int]:
    """This process's children that are bubblewrap: sandboxes it started."""
    found = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except FileNotFoundError:  # a thread that ended meanwhile
            continue
        for pid in children:
            try:
                exe = Path(f"/proc/{pid}/exe").readlink()
            except OSError:
                continue
            if exe.name == "bwrap":
                found.add(int(pid))
    return found


def _wait_until_prestarted(box: Sandbox) -> None:
    """Wait until the sandbox of `box`'s next run is set up and waits for it."""
    slot = box._prestarted
    assert slot is not None
    slot.settle()
    waiting = slot._waiting
    assert waiting is not None, "no sandbox was prestarted"
    # Its view is mounted once every path it covers is a mount point inside.
    deadline = time.monotonic() + _READY_SECONDS
    while waiting.lost_mounts() and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.fixture
def prestarted_runs(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each run handed to a prestarted sandbox ran in it, in order."""
    ran: list[bool] = []
    handover = Prestarted.run

    def run(
        self: Prestarted,
        argv: Sequence[str],
        streams: Streams,
        timeout: float | None,
        sockets: Collection[Path] | None = None,
    ) -> Outcome | None:
        outcome = handover(self, argv, streams, timeout, sockets)
        ran.append(outcome is not None)
        return outcome

    monkeypatch.setattr(Prestarted, "run", run)
    return ran


@pytest.fixture
def sandbox(home: Home, workspace: Path) -> Iterator[Sandbox]:
    env = home.env()
    box = Sandbox(
        workspace, load_policy(workspace, environ=env), environ=env, prestart=True
    )
    with box:
        box.run(["true"], capture=True)  # the first run starts the next's sandbox
        _wait_until_prestarted(box)
        yield box


def _stdout(result: RunResult) -> bytes:
    assert result.stdout is not None
    return result.stdout


def test_a_run_after_a_pause_starts_in_a_sandbox_set_up_before_it(
    sandbox: Sandbox, prestarted_runs: list[bool]
) -> None:
    result = sandbox.run(["sh", "-c", "echo ran"], capture=True)

    assert _stdout(result) == b"ran\n"
    assert prestarted_runs == [True]


def test_the_prestarted_run_passes_streams_and_exit_status_through(
    sandbox: Sandbox, workspace: Path
) -> None:
    (workspace / "input.txt").write_text("from stdin\n")
    with (workspace / "input.txt").open("rb") as stdin:
        result = sandbox.run(
            ["sh", "-c", "cat; echo out; echo err >&2; exit 3"],
            stdin=stdin,
            capture=True,
        )

    assert result.exit_status == 3
    assert result.stdout == b"from stdin\nout\n"
    assert result.stderr == b"err\n"
    assert result.landlock_abi is not None


def test_the_prestarted_run_holds_every_layer(
    sandbox: Sandbox, workspace: Path, home: Home
) -> None:
    script = (
        "for p in .git/config .envrc; do "
        "(echo x >> $p) 2>/dev/null && echo W $p; done; "
        f"cat {home.path}/.ssh/id_ed25519 2>/dev/null && echo READ; "
        "python3 -c 'import socket; socket.socket()' 2>/dev/null && echo INET; "
        "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status"
    )

    output = _stdout(sandbox.run(["sh", "-c", script], capture=True))

    assert b"W " not in output
    assert b"READ" not in output
    assert b"INET" not in output
    assert b"Seccomp:\t2" in output
    assert b"NoNewPrivs:\t1" in output
    envrc = workspace / ".envrc"
    assert not envrc.exists() or not envrc.read_bytes()


def test_a_repository_made_by_one_run_is_protected_in_the_next(
    sandbox: Sandbox, workspace: Path
) -> None:
    made = sandbox.run(["git", "init", "-q", "fresh"], capture=True)
    assert made.exit_status == 0, made.stderr
    _wait_until_prestarted(sandbox)

    result = sandbox.run(["sh", "-c", "echo x >> fresh/.git/config"], capture=True)

    assert result.exit_status != 0
    assert b"x" not in (workspace / "fresh" / ".git" / "config").read_bytes()[-2:]


def test_a_run_in_another_directory_runs_there(
    sandbox: Sandbox, workspace: Path
) -> None:
    result = sandbox.run(["pwd"], cwd=workspace / "src", capture=True)

    assert _stdout(result).decode().strip() == str(workspace / "src")


def test_a_command_line_too_long_to_hand_over_runs_all_the_same(
    sandbox: Sandbox,
) -> None:
    long = "y" * 100_000

    result = sandbox.run(
        ["sh", "-c", 'printf %s "$1" | wc -c', "sh", long], capture=True
    )

    assert _stdout(result).strip() == b"100000"


def test_the_time_limit_counts_from_the_command_not_from_the_set_up(
    sandbox: Sandbox, prestarted_runs: list[bool]
) -> None:
    time.sleep(_PAUSE_SECONDS)  # counted from the set-up, the limit would be over

    result = sandbox.run(["sleep", "0.5"], timeout=_LIMIT_SECONDS)

    assert prestarted_runs == [True]
    assert not result.timed_out
    assert result.exit_status == 0


def _with_a_waiting_sandbox(home: Home, workspace: Path) -> tuple[Sandbox, set[int]]:
    """A Sandbox whose next run's sandbox waits; the sandboxes there were before."""
    env = home.env()
    before = _bwrap_children()
    box = Sandbox(
        workspace, load_policy(workspace, environ=env), environ=env, prestart=True
    )
    box.run(["true"], capture=True)
    _wait_until_prestarted(box)
    assert _bwrap_children() - before
    return box, before


def test_closing_ends_the_waiting_sandbox(home: Home, workspace: Path) -> None:
    box, before = _with_a_waiting_sandbox(home, workspace)

    box.close()

    assert _bwrap_children() == before


def test_a_sandbox_collected_unclosed_ends_its_waiting_sandbox(
    home: Home, workspace: Path
) -> None:
    box, before = _with_a_waiting_sandbox(home, workspace)

    del box
    gc.collect()

    assert _bwrap_children() == before


def test_runs_prestarted_or_not_give_the_same_results(
    home: Home, workspace: Path
) -> None:
    env = home.env()
    commands = [
        ["sh", "-c", "echo hi; exit 7"],
        ["sh", "-c", "touch made-here && ls made-here"],
        ["sh", "-c", "kill -9 $$"],
        ["no-such-program-here"],
        ["git", "status", "--short"],
    ]
    outcomes = []
    for prestart in (False, True):
        with Sandbox(
            workspace, load_policy(workspace, environ=env), environ=env,
            prestart=prestart,
        ) as box:  # fmt: skip
            box.run(["true"], capture=True)
            runs = []
            for argv in commands:
                if prestart:
                    _wait_until_prestarted(box)
                result = box.run(argv, capture=True)
                runs.append((result.exit_status, result.signal, result.stdout))
            outcomes.append(runs)
        (workspace / "made-here").unlink()

    assert outcomes[0] == outcomes[1]


def test_a_protected_file_replaced_on_the_host_while_waiting_stays_protected(
    sandbox: Sandbox, workspace: Path
) -> None:
    """Renaming over a path detaches the mounts on it in every other namespace,
    the waiting sandbox's too: it must not be used then."""
    saved = workspace / ".envrc.new"
    saved.write_text("export A=2\n")
    saved.rename(workspace / ".envrc")  # as an editor saves a file

    result = sandbox.run(["sh", "-c", "echo evil >> .envrc"], capture=True)

    assert result.exit_status != 0
    assert (workspace / ".envrc").read_text() == "export A=2\n"


def test_a_hidden_file_replaced_on_the_host_while_waiting_stays_hidden(
    home: Home, workspace: Path
) -> None:
    env = home.env()
    secret = home.path / ".git-credentials"
    secret.write_text("https://u:first@example.invalid\n")
    with Sandbox(
        workspace, load_policy(workspace, environ=env), environ=env, prestart=True
    ) as box:
        box.run(["true"], capture=True)
        _wait_until_prestarted(box)
        replaced = home.path / ".git-credentials.new"
        replaced.write_text("https://u:second@example.invalid\n")
        replaced.rename(secret)

        result = box.run(["cat", str(secret)], capture=True)

    assert b"second" not in _stdout(result)


def _bubblewraps_of_init() -> set[int]:
    """bubblewrap processes whose parent is pid 1: left behind by their starter."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            exe = (entry / "exe").readlink()
            parent = (entry / "stat").read_text().rpartition(")")[2].split()[1]
        except OSError:
            continue
        if exe.name == "bwrap" and parent == "1":
            found.add(int(entry.name))
    return found


def test_closing_at_once_after_a_run_leaves_no_sandbox_behind(
    home: Home, workspace: Path
) -> None:
    """The next run's sandbox may be a few milliseconds old, bubblewrap still
    setting it up, when it is ended."""
    env = home.env()
    policy = load_policy(workspace, environ=env)
    before = _bubblewraps_of_init()

    for _ in range(10):
        with Sandbox(workspace, policy, environ=env, prestart=True) as box:
            box.run(["true"], capture=True)
    time.sleep(0.5)

    assert _bubblewraps_of_init() - before == set()


def test_a_command_on_a_terminal_sees_its_terminal_as_in_a_fresh_sandbox(
    home: Home, workspace: Path
) -> None:
    """bubblewrap gives the sandbox a console only when it starts on a terminal."""
    env = home.env()
    policy = load_policy(workspace, environ=env)
    seen = []
    for prestart in (False, True):
        controller, terminal = os.openpty()
        try:
            with Sandbox(workspace, policy, environ=env, prestart=prestart) as box:
                box.run(["true"], capture=True)
                if prestart:
                    _wait_until_prestarted(box)
                result = box.run(
                    ["sh", "-c", "tty > tty.txt"],
                    stdin=terminal, stdout=terminal, stderr=terminal,
                )  # fmt: skip
            seen.append((result.exit_status, (workspace / "tty.txt").read_text()))
        finally:
            os.close(controller)
            os.close(terminal)

    assert seen[0] == seen[1]


_CONNECT = """
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
    print("reached")
except OSError:
    print("refused")
"""


def test_a_host_socket_removed_while_a_sandbox_waits_leaves_it_usable(
    home: Home, workspace: Path, tmp_path: Path, prestarted_runs: list[bool]
) -> None:
    """Host programs remove their sockets as they please: nothing to cover then."""
    path = tmp_path / "s.sock"
    listener = Listener.unix(path)
    env = home.env()
    policy = load_policy(workspace, environ=env)
    try:
        with Sandbox(workspace, policy, environ=env, prestart=True) as box:
            box.run(["true"], capture=True)
            _wait_until_prestarted(box)
            path.unlink()
            result = box.run(["sh", "-c", "echo ran"], capture=True)
    finally:
        listener.close()

    assert _stdout(result) == b"ran\n"
    assert prestarted_runs == [True]


def test_a_host_socket_bound_while_a_sandbox_waits_is_covered_all_the_same(
    home: Home, workspace: Path, tmp_path: Path, prestarted_runs: list[bool]
) -> None:
    env = home.env()
    policy = load_policy(workspace, environ=env)
    with Sandbox(workspace, policy, environ=env, prestart=True) as box:
        box.run(["true"], capture=True)
        _wait_until_prestarted(box)
        listener = Listener.unix(tmp_path / "s.sock")
        try:
            result = box.run(
                ["python3", "-c", _CONNECT, str(tmp_path / "s.sock")], capture=True
            )
        finally:
            listener.close()

    assert _stdout(result) == b"refused\n"
    assert not listener.reached
    assert prestarted_runs == []
