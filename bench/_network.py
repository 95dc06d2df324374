"""Measure what the allow-list proxy costs a connection: bulk throughput and set-up.

In one run, against one loopback server: a large download read directly, through
a CONNECT tunnel over the proxy's unix socket, and through a TCP connection that
a bridge passes to the proxy as the sandbox's bridge does; then the time from
connecting to the first byte, the same three ways.  Server, proxy and bridge
are processes of their own, as they are in use.
``bench/run.py`` runs it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import statistics
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from ipaddress import IPv4Address
from pathlib import Path

from _figures import Figure, Result

from corral.network._patterns import Rules
from corral.network._proxy import ProxyServer, Route

SECTION = "proxy"
NAME = "bench.test"
FULL = {"download_mib": 1024, "downloads": 3, "setups": 300}
QUICK = {"download_mib": 64, "downloads": 1, "setups": 30}
_BLOCK = 4 << 20  # bytes per send on the server, and per recv on the client
_WARMUP = 5

Opener = Callable[[], tuple[socket.socket, bytes]]


# The processes: a download server, the proxy, and a bridge ---------------------


def spawn(target: Callable[[], None]) -> int:
    """Run `target` in a child process; return its pid."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child)
        status = 1
        try:
            target()
            status = 0
        except BaseException:  # noqa: BLE001 - the child's only way to report
            traceback.print_exc()
        finally:
            os._exit(status)
    return pid


def serve_downloads(listener: socket.socket) -> None:
    """Per connection: send one byte at once, then as many bytes as asked."""
    block = memoryview(bytes(_BLOCK))

    def serve(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.sendall(b"!")
            asked = conn.recv(8)
            if len(asked) != 8:
                return
            left = int.from_bytes(asked, "big")
            while left:
                size = min(left, _BLOCK)
                conn.sendall(block[:size])
                left -= size

    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


def serve_proxy(path: str, port: int) -> None:
    """The proxy, allowing the benchmark's name and its loopback server."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(128)
    rules = Rules.from_entries(
        allow=[(NAME, "bench"), (f"127.0.0.1:{port}", "bench")], deny=[]
    )
    route = Route(
        rules=rules,
        on_event=lambda _event: None,
        hosts={NAME: (IPv4Address("127.0.0.1"),)},
    )
    ProxyServer().serve(listener, route)
    while True:
        signal.pause()


def serve_bridge(listener: socket.socket, path: str) -> None:
    """Pass each accepted connection to the proxy, as the sandbox's bridge does."""
    while True:
        client, _ = listener.accept()
        with client, socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as proxy:
            proxy.connect(path)
            socket.send_fds(proxy, [b"\0"], [client.fileno()])


# The clients ---------------------------------------------------------------------


def through_proxy(sock: socket.socket, port: int) -> bytes:
    """Open a tunnel on `sock`; return the bytes that came after the 200."""
    sock.sendall(f"CONNECT {NAME}:{port} HTTP/1.1\r\nHost: {NAME}\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise SystemExit(f"bench: the proxy closed the tunnel: {data!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200 "):
        raise SystemExit(f"bench: the proxy refused the tunnel: {data!r}")
    return rest


def openers(port: int, path: str, bridge: int) -> dict[str, Opener]:
    """Each way to reach the server: a connected socket and what already arrived."""

    def direct() -> tuple[socket.socket, bytes]:
        return socket.create_connection(("127.0.0.1", port)), b""

    def unix() -> tuple[socket.socket, bytes]:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(path)
        return sock, through_proxy(sock, port)

    def passed() -> tuple[socket.socket, bytes]:
        sock = socket.create_connection(("127.0.0.1", bridge))
        return sock, through_proxy(sock, port)

    return {"direct": direct, "proxy, unix socket": unix, "proxy, passed TCP": passed}


def first_byte(sock: socket.socket, early: bytes) -> None:
    if not early and sock.recv(1) != b"!":
        raise SystemExit("bench: the server did not send its first byte")


def setup_ms(opener: Opener) -> float:
    """Milliseconds from connecting to the server's first byte."""
    started = time.perf_counter()
    sock, early = opener()
    with sock:
        first_byte(sock, early)
        return (time.perf_counter() - started) * 1000


def download(opener: Opener, size: int) -> float:
    """Seconds to receive `size` bytes, connection set-up included."""
    buffer = bytearray(_BLOCK)
    started = time.perf_counter()
    sock, early = opener()
    with sock:
        first_byte(sock, early)
        sock.sendall(size.to_bytes(8, "big"))
        received = len(early) - 1 if early else 0
        while size_read := sock.recv_into(buffer):
            received += size_read
    elapsed = time.perf_counter() - started
    if received != size:
        raise SystemExit(f"bench: received {received} bytes of {size}")
    return elapsed


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used, all its threads included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# Measuring -------------------------------------------------------------------------


def measure(plan: dict[str, int]) -> dict[str, object]:
    """Run every measurement of `plan` against fresh server, proxy and bridge."""
    directory = tempfile.mkdtemp(prefix="corral-bench-")
    path = str(Path(directory) / "proxy.sock")
    server = socket.create_server(("127.0.0.1", 0), backlog=128)
    bridge = socket.create_server(("127.0.0.1", 0), backlog=128)
    port, bridge_port = server.getsockname()[1], bridge.getsockname()[1]
    pids = {"server": spawn(lambda: serve_downloads(server))}
    pids["proxy"] = spawn(lambda: serve_proxy(path, port))
    server.close()
    while not Path(path).exists():
        time.sleep(0.01)
    pids["bridge"] = spawn(lambda: serve_bridge(bridge, path))
    bridge.close()
    try:
        ways = openers(port, path, bridge_port)
        return {
            "throughput": _throughput(ways, plan, pids["proxy"]),
            "setup": _setups(ways, plan["setups"]),
        }
    finally:
        for pid in pids.values():
            os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)
        Path(path).unlink(missing_ok=True)
        Path(directory).rmdir()


def _throughput(
    ways: dict[str, Opener], plan: dict[str, int], proxy: int
) -> list[dict[str, object]]:
    size = plan["download_mib"] << 20
    results: list[dict[str, object]] = []
    for way, opener in ways.items():
        download(opener, 16 << 20)  # warm-up
        cpu = cpu_seconds(proxy)
        samples = [download(opener, size) for _ in range(plan["downloads"])]
        proxy_cpu = (cpu_seconds(proxy) - cpu) / len(samples)
        results.append(
            {
                "path": way,
                "samples_mib_per_s": [size / (1 << 20) / s for s in samples],
                "proxy_cpu_s_per_gib": round(proxy_cpu * (1 << 30) / size, 3),
            }
        )
    return results


def _setups(ways: dict[str, Opener], count: int) -> list[dict[str, object]]:
    results: list[dict[str, object]] = []
    for way, opener in ways.items():
        for _ in range(_WARMUP):
            setup_ms(opener)
        results.append(
            {"path": way, "samples_ms": [setup_ms(opener) for _ in range(count)]}
        )
    return results


def figures(report: dict[str, object]) -> list[Result]:
    """Throughput and connection set-up of each path, each against direct's."""
    out: list[Result] = []
    for kind, unit, better, key in (
        ("throughput", "MiB/s", "higher", "samples_mib_per_s"),
        ("connect-to-first-byte", "ms", "lower", "samples_ms"),
    ):
        rows = report["throughput" if kind == "throughput" else "setup"]
        assert isinstance(rows, list)
        direct = statistics.median(rows[0][key])
        for row in rows:
            name = str(row["path"])
            note = (
                f"proxy CPU {row['proxy_cpu_s_per_gib']} s per GiB"
                if "proxy_cpu_s_per_gib" in row and name != "direct"
                else ""
            )
            out.append(
                Figure(
                    id=f"{SECTION}/{kind}/{name}",
                    section=SECTION,
                    label=f"{kind}: {name}",
                    unit=unit,
                    samples=tuple(row[key]),
                    better=better,
                    peers={} if name == "direct" else {"direct": direct},
                    note=note,
                )
            )
    return out
