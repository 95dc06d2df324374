"""Which host unix sockets the mount layer covers, read from /proc/net/unix."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from corral.sandbox._hidden import find_host_sockets


@contextmanager
def bound(path: Path) -> Iterator[socket.socket]:
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        server.listen()
        yield server


def test_a_bound_socket_is_found_and_one_beneath_a_covered_path_is_not(
    tmp_path: Path,
) -> None:
    (tmp_path / "covered").mkdir()
    with bound(tmp_path / "s.sock"), bound(tmp_path / "covered" / "c.sock"):
        found = find_host_sockets([tmp_path / "covered"])
    assert tmp_path / "s.sock" in found
    assert tmp_path / "covered" / "c.sock" not in found


def test_a_socket_bound_through_a_linked_directory_is_found_by_its_real_path(
    tmp_path: Path,
) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    with bound(tmp_path / "link" / "s.sock"):
        assert real / "s.sock" in find_host_sockets([])
        assert real / "s.sock" not in find_host_sockets([real])


def test_a_hard_linked_socket_is_reported_for_the_names_it_cannot_cover(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with bound(tmp_path / "s.sock"):
        os.link(tmp_path / "s.sock", tmp_path / "other-name")
        with caplog.at_level(logging.WARNING, logger="corral.sandbox._hidden"):
            found = find_host_sockets([])
    assert tmp_path / "s.sock" in found
    assert tmp_path / "other-name" not in found
    assert f"{tmp_path / 's.sock'} has 1 other names" in caplog.text


def test_a_socket_bound_by_a_relative_path_cannot_be_placed(tmp_path: Path) -> None:
    """Listed relative to a directory /proc/net/unix does not name: not guessed."""
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        with bound(Path("relative.sock")):
            found = find_host_sockets([])
    finally:
        os.chdir(cwd)
    assert tmp_path / "relative.sock" not in found
    assert Path("relative.sock") not in found
