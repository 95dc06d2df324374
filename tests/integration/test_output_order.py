"""stdout and stderr sent to the same place keep the order the command wrote them.

With ``2>&1`` corral passes stderr straight through like stdout (refusal hints
are then not available); with ``--json`` both are carried through one pipe.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support import CORRAL, CorralCLI, sh

_LINES = 300
_INTERLEAVED = sh(f"for i in $(seq {_LINES}); do echo out$i; echo err$i >&2; done")
_WRITE_HOOK = sh("echo x > .git/hooks/pre-commit")
_EXPECTED = [f"{kind}{i}" for i in range(1, _LINES + 1) for kind in ("out", "err")]


def _combined(corral: CorralCLI, workspace: Path, *options: str) -> list[str]:
    done = subprocess.run(
        [*CORRAL, "run", "-C", str(workspace), *options, "--", *_INTERLEAVED],
        env=corral.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=60,
        check=True,
    )
    return done.stdout.decode().splitlines()


def test_stdout_and_stderr_into_one_pipe_keep_their_order(
    corral: CorralCLI, workspace: Path
) -> None:
    assert _combined(corral, workspace) == _EXPECTED


def test_with_json_they_keep_their_order_and_the_object_ends_stdout(
    corral: CorralCLI, workspace: Path
) -> None:
    lines = _combined(corral, workspace, "--json")
    assert lines[:-1] == _EXPECTED
    assert lines[-1].startswith("{")


def test_stdout_and_stderr_into_one_file_keep_their_order(
    corral: CorralCLI, workspace: Path, tmp_path: Path
) -> None:
    log = tmp_path / "log"
    with log.open("wb") as out:
        subprocess.run(
            [*CORRAL, "run", "-C", str(workspace), "--", *_INTERLEAVED],
            env=corral.env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=60,
            check=True,
        )
    assert log.read_text().splitlines() == _EXPECTED


@pytest.mark.boundary_only
def test_refusal_hints_survive_stdout_and_stderr_into_one_pipe(
    corral: CorralCLI, workspace: Path
) -> None:
    """The way an agent captures a command (``$(corral run ... 2>&1)``)."""
    done = subprocess.run(
        [
            *CORRAL,
            "run",
            "-C",
            str(workspace),
            "--",
            *list(sh("echo x > .git/hooks/pre-commit")),
        ],
        env=corral.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "corral: sandbox refused: " in done.stdout.decode()
