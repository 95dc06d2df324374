"""Measure what the allow-list proxy costs a connection: bulk throughput and set-up.

In one run, against one loopback server: a large download read directly, through
a CONNECT tunnel over the proxy's unix socket, and through a TCP connection that
a bridge passes to the proxy as the sandbox's bridge does; then the time from
connecting to the first byte, the same three ways.  Server, proxy and bridge
are processes of their own, as they are in use.
Usage: ``.venv/bin/python bench/network.py [--quick] [--json FILE]``; a full
run writes bench/network.json unless told otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import statistics
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from ipaddress import IPv4Address
from pathlib import Path

from _machine import machine  # bench/ is on sys.path: scripts run from it

from corral.network._patterns import Rules
from corral.network._proxy import ProxyServer, Route

JSON = Path(__file__).resolve().parent / "network.json"
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
                "mib_per_s": round(size / (1 << 20) / statistics.median(samples)),
                "samples_s": [round(s, 3) for s in samples],
                "proxy_cpu_s_per_gib": round(proxy_cpu * (1 << 30) / size, 3),
            }
        )
    direct = float(str(results[0]["mib_per_s"]))
    for result in results:
        result["x_direct"] = round(float(str(result["mib_per_s"])) / direct, 2)
    return results


def _setups(ways: dict[str, Opener], count: int) -> list[dict[str, object]]:
    results: list[dict[str, object]] = []
    for way, opener in ways.items():
        for _ in range(_WARMUP):
            setup_ms(opener)
        samples = sorted(setup_ms(opener) for _ in range(count))
        results.append(
            {
                "path": way,
                "median_ms": round(statistics.median(samples), 3),
                "p90_ms": round(samples[max(0, -(-9 * len(samples) // 10) - 1)], 3),
            }
        )
    direct = float(str(results[0]["median_ms"]))
    for result in results:
        result["added_ms"] = round(float(str(result["median_ms"])) - direct, 3)
    return results


def format_report(report: dict[str, object]) -> str:
    """The results as two plain-text tables."""
    plan = report["plan"]
    assert isinstance(plan, dict)
    lines = [
        f"download of {plan['download_mib']} MiB, median of {plan['downloads']}",
        f"{'path':<22}{'MiB/s':>10}{'x direct':>10}{'proxy CPU s/GiB':>18}",
    ]
    for r in report["throughput"]:  # type: ignore[attr-defined]
        lines.append(
            f"{r['path']:<22}{r['mib_per_s']:>10}{r['x_direct']:>10.2f}"
            f"{r['proxy_cpu_s_per_gib']:>18.3f}"
        )
    lines += [
        "",
        f"connect to first byte, {plan['setups']} connections",
        f"{'path':<22}{'median ms':>10}{'p90 ms':>10}{'added ms':>10}",
    ]
    for r in report["setup"]:  # type: ignore[attr-defined]
        lines.append(
            f"{r['path']:<22}{r['median_ms']:>10.3f}{r['p90_ms']:>10.3f}"
            f"{r['added_ms']:>10.3f}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="a smaller run, for a smoke test"
    )
    parser.add_argument(
        "--json", type=Path, help=f"write the results to FILE (a full run: {JSON})"
    )
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    report: dict[str, object] = {"plan": plan, "machine": machine(), **measure(plan)}
    print(format_report(report))
    target = args.json or (None if args.quick else JSON)
    if target is not None:
        temporary = target.with_name(target.name + ".tmp")
        temporary.write_text(json.dumps(report, indent=2) + "\n")
        temporary.replace(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
