"""Files in corral's state directory: regular files only, never waited on or followed.

A FIFO, a socket, a directory or a link planted at one of corral's file names
is refused at once with a message naming it, wherever corral opens that name.
"""

from __future__ import annotations

import fcntl
import os
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from corral._files import StateFileError, identity, open_regular
from corral.approvals._store import ApprovalStore
from corral.audit.export._cursor import Position, read_position, write_position
from corral.audit.export._process import exporter_lock, spawn, take_lock
from corral.errors import ApprovalError, CorralError
from corral.network._control import start_lock
from corral.network._grants import SessionGrants
from corral.sandbox._placeholders import lease_placeholders
from tests.support import promptly


def _refused(call: Callable[[], object], fifo: Path) -> str:
    """`call` fails at once with corral's error naming the FIFO."""
    raised = promptly(call, fifo)
    assert isinstance(raised, CorralError), raised
    assert f"{fifo} is a FIFO" in str(raised)
    return str(raised)


def test_a_regular_file_opens_without_o_nonblock_left_on(tmp_path: Path) -> None:
    path = tmp_path / "f"
    fd = open_regular(path, os.O_RDWR | os.O_CREAT)
    try:
        assert not fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK
        assert not os.get_inheritable(fd)
        assert identity(path) is not None
    finally:
        os.close(fd)
    assert (path.stat().st_mode & 0o777) == 0o600


@pytest.mark.parametrize(
    "flags", [os.O_RDONLY, os.O_WRONLY, os.O_RDWR, os.O_RDWR | os.O_CREAT]
)
def test_a_fifo_is_refused_at_once_whatever_the_open_is_for(
    tmp_path: Path, flags: int
) -> None:
    fifo = tmp_path / "events.jsonl"
    os.mkfifo(fifo, 0o600)
    message = _refused(lambda: os.close(open_regular(fifo, flags)), fifo)
    assert "a FIFO" in message
    assert "move it out of the way" in message


def test_a_link_a_directory_and_a_socket_are_refused(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_text("kept\n")
    (tmp_path / "link").symlink_to(target)
    (tmp_path / "dir").mkdir()
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "sock"))
    try:
        for name, what in (
            ("link", "a symbolic link"),
            ("dir", "a directory"),
            ("sock", "a socket"),
        ):
            for flags in (os.O_RDONLY, os.O_RDWR | os.O_CREAT):
                with pytest.raises(StateFileError, match=what):
                    open_regular(tmp_path / name, flags)
    finally:
        server.close()
    assert target.read_text() == "kept\n"


def test_an_absent_file_is_still_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        open_regular(tmp_path / "absent", os.O_RDONLY)


def _fifo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path, 0o600)
    return path


def test_a_fifo_among_the_approval_requests_is_refused(tmp_path: Path) -> None:
    store = ApprovalStore(tmp_path)
    fifo = _fifo(store.requests / "abcdef0123.json")
    assert "cannot read" in _refused(lambda: store.load_request("abcdef0123"), fifo)
    with pytest.raises(ApprovalError):
        store.load_request("abcdef0123")
    _refused(store.pending, fifo)


def test_a_fifo_at_the_placeholder_journal_or_its_lock_is_refused(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "placeholders"
    directory.mkdir(mode=0o700)
    for name in ("journal.json", "journal.lock"):
        (directory / name).unlink(missing_ok=True)
        fifo = _fifo(directory / name)

        def lease() -> None:
            with lease_placeholders(tmp_path):
                pass

        _refused(lease, fifo)
        fifo.unlink()


def test_a_fifo_at_the_proxy_start_lock_or_a_session_grant_is_refused(
    tmp_path: Path,
) -> None:
    fifo = _fifo(tmp_path / "proxy.lock")

    def locked() -> None:
        with start_lock(tmp_path):
            pass

    _refused(locked, fifo)
    grants = SessionGrants(tmp_path)
    path = grants.directory / "x.json"
    grants.directory.mkdir()
    fifo = _fifo(grants._path("named:s"))
    _refused(lambda: grants.load("named:s"), fifo)
    assert not path.exists()


def test_a_fifo_at_the_export_cursor_is_not_waited_on_but_read_as_no_cursor(
    tmp_path: Path,
) -> None:
    """An unreadable cursor costs a resend, and the next write replaces it."""
    fifo = _fifo(tmp_path / "export.cursor")
    endpoint = "http://127.0.0.1:1"
    assert promptly(lambda: read_position(tmp_path, endpoint), fifo) is None
    assert read_position(tmp_path, endpoint) == Position()
    write_position(tmp_path, endpoint, Position(seq=3))
    assert fifo.is_file()
    assert read_position(tmp_path, endpoint).seq == 3


def test_a_fifo_at_the_export_lock_or_log_is_refused(tmp_path: Path) -> None:
    fifo = _fifo(tmp_path / "export.lock")
    _refused(lambda: take_lock(tmp_path), fifo)

    def held() -> None:
        with exporter_lock(tmp_path, deadline=None):
            pass

    _refused(held, fifo)
    fifo.unlink()
    fifo = _fifo(tmp_path / "export.log")
    lock = os.open(tmp_path / "export.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        _refused(lambda: spawn(tmp_path, {}, lock), fifo)
    finally:
        os.close(lock)


def test_a_file_with_a_second_name_is_refused(tmp_path: Path) -> None:
    """A hard link elsewhere (in a workspace, say) would let others change it."""
    state = tmp_path / "state"
    state.mkdir()
    log = state / "events.jsonl"
    log.write_text("")
    os.link(log, tmp_path / "elsewhere")
    with pytest.raises(StateFileError, match="2 names"):
        open_regular(log, os.O_RDWR | os.O_APPEND)
