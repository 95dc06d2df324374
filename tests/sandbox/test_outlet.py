"""Output delivered to the caller's descriptor, whether a socket or a pipe."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

from corral.sandbox._outlet import Outlet
from tests.support import CORRAL, CorralCLI


def test_output_to_a_socket_is_sent_whole_and_the_socket_stays_open() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        outlet = Outlet(ours.fileno())
        outlet.add(b"hello, ")
        outlet.add(b"socket\n")
        outlet.write_some()
        outlet.close()
        assert theirs.recv(100) == b"hello, socket\n"
        assert outlet.last_byte == ord("\n")
        ours.sendall(b"still ours")
        assert theirs.recv(100) == b"still ours"


def test_output_to_a_pipe_is_written_whole() -> None:
    read_end, write_end = os.pipe()
    try:
        outlet = Outlet(write_end)
        outlet.add(b"through a pipe\n")
        outlet.write_some()
        outlet.close()
        assert os.read(read_end, 100) == b"through a pipe\n"
    finally:
        os.close(read_end)
        os.close(write_end)


def test_a_run_whose_stdout_is_a_socket_delivers_the_output_there(
    corral: CorralCLI, workspace: Path
) -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        done = subprocess.run(
            [*CORRAL, "run", "-C", str(workspace), "--", "echo", "over a socket"],
            env=corral.env,
            stdout=ours.fileno(),
            stderr=subprocess.PIPE,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        ours.close()
        assert theirs.recv(100) == b"over a socket\n"
