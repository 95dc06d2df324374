"""The caller's terminal is as it was after corral returns, whatever the command did.

Each test runs a shell on a real pty: it notes the terminal's settings, runs
corral, then checks them again from the same terminal.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from tests.conftest import Home
from tests.support import CORRAL, run_in_pty


def _in_pty(script: str, env: dict[str, str], timeout: float = 60) -> str:
    """Run `script` with sh on a fresh pty; return all it wrote there."""
    _, output = run_in_pty(["sh", "-c", script], env, timeout)
    return output.replace("\r", "")


def _corral(workspace: Path, *command: str) -> str:
    return shlex.join([*CORRAL, "run", "-C", str(workspace), "--", *command])


def test_terminal_modes_and_size_are_restored(home: Home, workspace: Path) -> None:
    script = (
        "stty rows 40 cols 100; echo before $(stty -g) $(stty size); "
        + _corral(workspace, "sh", "-c", "stty raw -echo -isig; stty rows 11 cols 33")
        + "; echo after $(stty -g) $(stty size)"
    )
    output = _in_pty(script, home.env())
    before = output.split("before ", 1)[1].split("\n", 1)[0]
    after = output.split("after ", 1)[1].split("\n", 1)[0]
    assert after == before
    assert before.endswith("40 100")


FOREGROUND = """
import os, signal
signal.signal(signal.SIGTTOU, signal.SIG_IGN)
os.setpgid(0, 0)
os.tcsetpgrp(0, os.getpgrp())
print("took the foreground", flush=True)
"""

CHECK = "import os; print('foreground is ours:', os.tcgetpgrp(0) == os.getpgrp())"


def test_the_foreground_process_group_is_given_back(
    home: Home, workspace: Path
) -> None:
    script = (
        _corral(workspace, "python3", "-c", FOREGROUND)
        + "; "
        + shlex.join(["python3", "-c", CHECK])
    )
    output = _in_pty(script, home.env())
    assert "took the foreground" in output
    assert "foreground is ours: True" in output
