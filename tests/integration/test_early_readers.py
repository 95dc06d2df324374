"""A reader that stops reading early stops the command, as it would without corral.

Once the destination of a carried stream is gone, corral closes its end of the
pipe, so the command's next write fails (SIGPIPE) and its exit status is its own.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.support import CORRAL, CorralCLI

# Long enough for a sandbox to start; a command that never stops outlives it.
_LIMIT = 30
_SIGPIPE_STATUS = 128 + signal.SIGPIPE


def _run_into_closed_pipe(
    corral: CorralCLI, workspace: Path, *args: str, stream: str
) -> int:
    """Run corral with `stream` going to a pipe whose reader takes one line."""
    reader, writer = os.pipe()
    process = subprocess.Popen(
        [*CORRAL, "run", "-C", str(workspace), *args],
        env=corral.env,
        stdin=subprocess.DEVNULL,
        stdout=writer if stream == "stdout" else subprocess.DEVNULL,
        stderr=writer if stream == "stderr" else subprocess.DEVNULL,
    )
    os.close(writer)
    with os.fdopen(reader, "rb") as lines:
        assert lines.readline()
    try:
        return process.wait(timeout=_LIMIT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail("the command kept running after its reader had gone")


def test_a_closed_reader_of_carried_stdout_ends_the_command(
    corral: CorralCLI, workspace: Path
) -> None:
    """``corral run --json -- yes | head -1`` ends, with yes's own SIGPIPE status."""
    status = _run_into_closed_pipe(
        corral, workspace, "--json", "--", "yes", stream="stdout"
    )
    assert status == _SIGPIPE_STATUS


def test_a_closed_reader_of_carried_stderr_ends_the_command(
    corral: CorralCLI, workspace: Path
) -> None:
    """``corral run -- sh -c 'yes >&2' 2>&1 | head -1`` ends as well."""
    status = _run_into_closed_pipe(
        corral, workspace, "--", "sh", "-c", "yes >&2", stream="stderr"
    )
    assert status == _SIGPIPE_STATUS
