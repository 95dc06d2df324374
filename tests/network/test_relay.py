"""The relay's copy: every byte delivered and counted, spliced or not."""

from __future__ import annotations

import errno
import os
import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from corral.network._relay import Sockets, Tally, pump, relay

# Past the bytes a direction copies before it takes a pipe, and not a multiple
# of any buffer size, so that every phase of the copy ends on a partial read.
SIZE = 3 * 1024 * 1024 + 12345


@pytest.fixture
def pairs() -> Iterator[Callable[[], tuple[socket.socket, socket.socket]]]:
    """Connected socket pairs, all closed when the test ends."""
    made: list[socket.socket] = []

    def make() -> tuple[socket.socket, socket.socket]:
        a, b = socket.socketpair()
        made.extend((a, b))
        return a, b

    yield make
    for sock in made:
        sock.close()


def send_and_close(sock: socket.socket, data: bytes) -> threading.Thread:
    def send() -> None:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)

    thread = threading.Thread(target=send)
    thread.start()
    return thread


def receive_all(sock: socket.socket, into: bytearray) -> threading.Thread:
    def receive() -> None:
        while chunk := sock.recv(1 << 20):
            into.extend(chunk)

    thread = threading.Thread(target=receive)
    thread.start()
    return thread


def copy_through_pump(
    pairs: Callable[[], tuple[socket.socket, socket.socket]], data: bytes
) -> tuple[bytes, int]:
    """Send `data` through pump(); return what arrived and what was counted."""
    writer, src = pairs()
    dst, reader = pairs()
    received = bytearray()
    threads = [send_and_close(writer, data), receive_all(reader, received)]
    tally = Tally()
    pump(src, dst, tally)
    dst.shutdown(socket.SHUT_WR)
    for thread in threads:
        thread.join()
    return bytes(received), tally.count


def test_pump_delivers_and_counts_every_byte(
    pairs: Callable[[], tuple[socket.socket, socket.socket]],
) -> None:
    data = os.urandom(SIZE)

    received, counted = copy_through_pump(pairs, data)

    assert received == data
    assert counted == SIZE


def test_pump_copies_where_the_kernel_refuses_splice(
    pairs: Callable[[], tuple[socket.socket, socket.socket]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refused(*_args: object, **_kwargs: object) -> int:
        raise OSError(errno.EINVAL, "Invalid argument")

    monkeypatch.setattr(os, "splice", refused)
    data = os.urandom(SIZE)

    received, counted = copy_through_pump(pairs, data)

    assert received == data
    assert counted == SIZE


def test_bytes_in_the_pipe_arrive_when_splice_out_is_refused(
    pairs: Callable[[], tuple[socket.socket, socket.socket]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = os.splice
    sockets: set[int] = set()

    def into_pipe_only(src: int, dst: int, count: int, **kwargs: int) -> int:
        if src not in sockets:  # out of the pipe: refused, as some sockets refuse it
            raise OSError(errno.EINVAL, "Invalid argument")
        return real(src, dst, count, **kwargs)

    monkeypatch.setattr(os, "splice", into_pipe_only)
    writer, src = pairs()
    sockets.add(src.fileno())
    dst, reader = pairs()
    data = os.urandom(SIZE)
    received = bytearray()
    threads = [send_and_close(writer, data), receive_all(reader, received)]
    tally = Tally()

    pump(src, dst, tally)
    dst.shutdown(socket.SHUT_WR)
    for thread in threads:
        thread.join()

    assert bytes(received) == data
    assert tally.count == SIZE


def test_relay_half_closes_each_way_and_counts_both(
    pairs: Callable[[], tuple[socket.socket, socket.socket]],
) -> None:
    client_end, client = pairs()
    upstream, server_end = pairs()
    up, down = Tally(), Tally()
    relayed = threading.Thread(
        target=relay, args=(client, upstream, Sockets(), up, down)
    )
    relayed.start()

    client_end.sendall(b"request")
    client_end.shutdown(socket.SHUT_WR)
    assert server_end.recv(100) == b"request"
    assert server_end.recv(100) == b""  # the client's end reached the server
    server_end.sendall(b"answer after the end")
    server_end.shutdown(socket.SHUT_WR)
    relayed.join(timeout=10)

    assert client_end.recv(100) == b"answer after the end"
    assert (up.count, down.count) == (7, 20)


def test_a_socket_added_after_a_cut_is_cut_at_once(
    pairs: Callable[[], tuple[socket.socket, socket.socket]],
) -> None:
    sockets = Sockets()
    sockets.cut()
    a, b = pairs()

    sockets.add(a)

    b.settimeout(5)
    assert b.recv(1) == b""
    assert sockets.is_cut


@pytest.mark.parametrize(("size", "pipes"), [(1000, 0), (SIZE, 1)])
def test_a_direction_takes_a_pipe_only_once_it_carries_bulk(
    pairs: Callable[[], tuple[socket.socket, socket.socket]],
    monkeypatch: pytest.MonkeyPatch,
    size: int,
    pipes: int,
) -> None:
    # Each pipe counts against the user's quota of pipe pages; most
    # connections carry a few kilobytes and need none.
    made: list[tuple[int, int]] = []
    real = os.pipe2

    def pipe2(flags: int) -> tuple[int, int]:
        made.append(real(flags))
        return made[-1]

    monkeypatch.setattr(os, "pipe2", pipe2)
    data = os.urandom(size)

    received, _ = copy_through_pump(pairs, data)

    assert received == data
    assert len(made) == pipes
