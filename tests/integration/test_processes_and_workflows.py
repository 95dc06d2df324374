"""Process lifetime, exit statuses, terminals, and everyday work that keeps working."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import Home
from tests.support import CORRAL, CorralCLI, run_in_pty, sh


def _running(marker: str) -> list[str]:
    found = subprocess.run(
        ["pgrep", "-f", marker], capture_output=True, text=True, check=False
    )
    return found.stdout.split()


# How long the processes of a run that ended may take to be gone, when loaded.
_GONE_SECONDS = 10.0


def _left_running(marker: str) -> list[str]:
    """The processes whose command line holds `marker` once they had time to go."""
    deadline = time.monotonic() + _GONE_SECONDS
    while (left := _running(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def test_setsid_and_double_forked_children_do_not_outlive_the_command(
    corral: CorralCLI, workspace: Path
) -> None:
    marker = f"{uuid.uuid4().int % 10**6}.{os.getpid()}"
    ran = corral.run(
        workspace,
        *sh(
            f"setsid sleep 1{marker} & (sleep 2{marker} &) ; nohup sleep 3{marker} "
            ">/dev/null 2>&1 & echo started"
        ),
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "started"
    assert _left_running(marker) == []


def test_a_timeout_kills_the_whole_tree(corral: CorralCLI, workspace: Path) -> None:
    marker = f"{uuid.uuid4().int % 10**6}.{os.getpid()}"
    started = time.monotonic()
    ran = corral(
        "run",
        "-C",
        str(workspace),
        "--timeout",
        "1",
        "--",
        "sh",
        "-c",
        f"setsid sleep 1{marker} & sleep 2{marker}",
    )
    assert ran.returncode == 124
    assert time.monotonic() - started < 30
    assert "time limit" in ran.stderr
    assert _left_running(marker) == []


def test_the_commands_exit_status_is_its_own(
    corral: CorralCLI, workspace: Path
) -> None:
    assert corral.run(workspace, *sh("exit 3")).returncode == 3
    assert corral.run(workspace, *sh("kill -TERM $$")).returncode == 128 + 15


@pytest.mark.boundary_only
def test_a_missing_program_exits_127(corral: CorralCLI, workspace: Path) -> None:
    ran = corral.run(workspace, "no-such-program-anywhere")
    assert ran.returncode == 127
    assert ran.stderr.startswith("corral: ")


def test_no_command_is_a_usage_error(corral: CorralCLI, workspace: Path) -> None:
    ran = corral("run", "-C", str(workspace))
    assert ran.returncode == 2
    assert ran.stderr.startswith("corral: ")


def test_json_ends_stdout_with_one_object_describing_the_run(
    corral: CorralCLI, workspace: Path
) -> None:
    ran = corral("run", "-C", str(workspace), "--json", "--", "echo", "hi")
    assert ran.returncode == 0, ran.stderr
    first, last = ran.stdout.splitlines()
    assert first == "hi"
    described = json.loads(last)
    assert described["exit_status"] == 0
    assert described["argv"] == ["echo", "hi"]
    assert set(described["profile"]["layers"]) == {
        "identity",
        "landlock",
        "namespaces",
        "network",
        "seccomp",
    }
    assert described["landlock_abi"] >= 1


def test_every_command_leaves_its_request_decision_start_and_end_as_events(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    corral.run(workspace, *sh("exit 4"))
    lines = (home.state / "corral" / "events.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    assert [e["event"] for e in events] == [
        "policy.loaded",
        "command.requested",
        "command.decided",
        "command.started",
        "command.finished",
    ]
    assert len({e["run"] for e in events[1:]}) == 1
    finished = events[-1]
    assert finished["argv"] == ["sh", "-c", "exit 4", "sh"]
    assert finished["exit_status"] == 4
    assert finished["decision"] == "allow"
    assert finished["profile"]["mode"] == "workspace-write"
    assert finished["duration_ms"] > 0


def test_stdin_passes_through(corral: CorralCLI, workspace: Path) -> None:
    ran = corral.run(workspace, "cat", stdin="line one\nline two\n")
    assert ran.stdout == "line one\nline two\n"


def test_no_input_gives_the_command_an_empty_stdin(
    corral: CorralCLI, workspace: Path
) -> None:
    ran = corral(
        "run", "-C", str(workspace), "--no-input", "--", "cat", stdin="ignored"
    )
    assert ran.returncode == 0
    assert ran.stdout == ""


def test_large_outputs_arrive_whole(corral: CorralCLI, workspace: Path) -> None:
    ran = corral.run(
        workspace,
        "python3",
        "-c",
        "import sys; sys.stdout.write('o' * 8_000_000); "
        "sys.stderr.write('e' * 3_000_000)",
    )
    assert ran.returncode == 0
    assert len(ran.stdout) == 8_000_000
    assert ran.stderr.count("e") == 3_000_000


def test_git_read_commands_work(corral: CorralCLI, workspace: Path) -> None:
    (workspace / "README").write_text("changed\n")
    ran = corral.run(
        workspace, *sh("git status --short && git diff --stat && git log --oneline")
    )
    assert ran.returncode == 0, ran.stderr
    assert "M README" in ran.stdout
    assert "first" in ran.stdout


def test_python_venv_and_tests_work_inside_the_workspace(
    corral: CorralCLI, workspace: Path
) -> None:
    (workspace / "test_it.py").write_text("def test_ok():\n    assert 1 + 1 == 2\n")
    script = (
        "python3 -m venv --without-pip .venv && .venv/bin/python -c 'import sys; "
        f"print(sys.prefix)' && {sys.executable} -m pytest -q -p no:cacheprovider "
        "test_it.py"
    )
    ran = corral.run(workspace, *sh(script), timeout=120)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert str(workspace / ".venv") in ran.stdout
    assert "1 passed" in ran.stdout


@pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler (cc)")
def test_a_c_compiler_works(corral: CorralCLI, workspace: Path) -> None:
    (workspace / "hello.c").write_text(
        '#include <stdio.h>\nint main(void){puts("hi");}\n'
    )
    ran = corral.run(workspace, *sh("cc -o hello hello.c && ./hello"))
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == "hi\n"


def test_asyncio_threads_and_multiprocessing_work(
    corral: CorralCLI, workspace: Path
) -> None:
    script = """
import asyncio, concurrent.futures, multiprocessing

def square(x):
    return x * x

async def echo_once():
    async def echo(reader, writer):
        writer.write(await reader.read(4))
        await writer.drain()
        writer.close()
    await asyncio.start_unix_server(echo, path="a.sock")
    reader, writer = await asyncio.open_unix_connection("a.sock")
    writer.write(b"ping")
    await writer.drain()
    return await reader.read(4)

if __name__ == "__main__":
    print(asyncio.run(echo_once()).decode())
    with multiprocessing.Pool(2) as pool:
        print(sum(pool.map(square, range(10))))
    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        print(sum(ex.map(square, range(10))))
"""
    (workspace / "work.py").write_text(script)
    ran = corral.run(workspace, "python3", "work.py")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["ping", "285", "285"]


def test_a_terminal_passes_through(home: Home, workspace: Path) -> None:
    code, output = run_in_pty(
        [
            *CORRAL,
            "run",
            "-C",
            str(workspace),
            "--",
            "sh",
            "-c",
            "test -t 0 && test -t 1 && test -t 2 && echo all-ttys; "
            "echo via-controlling-terminal > /dev/tty",
        ],
        home.env(),
    )
    assert code == 0, output
    assert "all-ttys" in output
    assert "via-controlling-terminal" in output


TIOCSTI = """
import fcntl, termios, sys
try:
    fcntl.ioctl(0, termios.TIOCSTI, b"x")
except OSError as exc:
    print("refused", exc.errno)
else:
    print("injected")
"""


def test_tiocsti_on_the_terminal_is_refused(home: Home, workspace: Path) -> None:
    _, output = run_in_pty(
        [
            *CORRAL,
            "run",
            "-C",
            str(workspace),
            "--",
            "python3",
            "-c",
            TIOCSTI,
        ],
        home.env(),
    )
    assert "injected" not in output
    assert "refused" in output
