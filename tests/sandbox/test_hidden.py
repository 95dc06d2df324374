"""Which host unix sockets the mount layer covers, and which hidden paths it finds."""

from __future__ import annotations

import ctypes
import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from corral._home import passwd_home
from corral.sandbox._hidden import HiddenPath, find_hidden, find_host_sockets
from tests.support import ODD_SOCKET_NAMES


@contextmanager
def bound(path: Path) -> Iterator[socket.socket]:
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        server.listen()
        yield server


@pytest.mark.parametrize("name", ODD_SOCKET_NAMES)
def test_a_socket_is_found_whatever_bytes_its_name_holds(
    tmp_path: Path, name: str
) -> None:
    with bound(tmp_path / name):
        assert tmp_path / name in find_host_sockets([])


def test_a_socket_bound_through_a_covered_directory_s_parent_is_found(
    tmp_path: Path,
) -> None:
    """Bound as /tmp/../x.sock, it is not beneath /tmp at all."""
    (tmp_path / "covered").mkdir()
    detour = tmp_path / "covered" / ".." / "s.sock"
    with bound(detour):
        found = find_host_sockets([tmp_path / "covered"])
    assert tmp_path / "s.sock" in found


def test_a_socket_name_of_the_longest_length_holding_a_newline_is_found(
    tmp_path: Path,
) -> None:
    """A name may fill all 108 bytes of sun_path, with no NUL after it."""
    head = os.fsencode(tmp_path / "n") + b"\n"
    name = head + b"x" * (108 - len(head))
    with socket.socket(socket.AF_UNIX) as server:
        _bind_without_nul(server, name)
        assert Path(os.fsdecode(name)) in find_host_sockets([])


class _UnixAddress(ctypes.Structure):
    _fields_ = (("family", ctypes.c_ushort), ("path", ctypes.c_char * 108))


def _bind_without_nul(server: socket.socket, name: bytes) -> None:
    """bind(2) to a name of all 108 bytes, which Python's bind refuses."""
    address = _UnixAddress(socket.AF_UNIX, name)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.bind(server.fileno(), ctypes.byref(address), ctypes.sizeof(address)):
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))


def test_a_socket_named_as_another_s_name_and_a_newline_more_is_found_too(
    tmp_path: Path,
) -> None:
    with bound(tmp_path / "a"), bound(tmp_path / "a\nb"):
        found = find_host_sockets([])
    assert {tmp_path / "a", tmp_path / "a\nb"} <= set(found)


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


def _under_passwd_home(tmp_path: Path) -> str:
    home = passwd_home()
    if home is None or not tmp_path.resolve().is_relative_to(home.resolve()):
        pytest.skip("the test directory is not beneath the passwd entry's home")
    return str(tmp_path.resolve().relative_to(home.resolve()))


def test_a_tilde_entry_is_hidden_under_the_passwd_home_whatever_home_says(
    tmp_path: Path,
) -> None:
    relative = _under_passwd_home(tmp_path)
    (tmp_path / "store").mkdir()
    other = tmp_path / "elsewhere"
    other.mkdir()

    found = find_hidden([f"~/{relative}/store"], {"HOME": str(other)})

    assert HiddenPath((tmp_path / "store").resolve(), is_dir=True) in found


def test_a_tilde_entry_is_hidden_under_home_too(tmp_path: Path) -> None:
    (tmp_path / ".aws").mkdir()
    found = find_hidden(["~/.aws"], {"HOME": str(tmp_path)})
    assert HiddenPath((tmp_path / ".aws").resolve(), is_dir=True) in found


def test_paths_are_given_by_their_real_location_never_through_a_link(
    tmp_path: Path,
) -> None:
    """A home reached through a symbolic link yields the real paths only."""
    real = tmp_path / "real"
    (real / ".ssh").mkdir(parents=True)
    (tmp_path / "link").symlink_to(real)

    found = find_hidden(["~/.ssh"], {"HOME": str(tmp_path / "link")})

    assert [hidden.path for hidden in found] == [(real / ".ssh").resolve()]
