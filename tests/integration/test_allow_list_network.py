"""Allow-list network: the proxy is the one way out, and it decides by name.

Each test runs the real ``corral run`` with a user policy in allow-list mode
and an HTTP server on the host's loopback.  Names lead to that server through
``network.hosts`` (fixed addresses), so nothing leaves the machine; the
loopback address itself must be allowed explicitly, with its port, since an
allowed name that resolves to loopback is refused.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from corral.network._lease import ProxyLease
from corral.policy import load_policy
from corral.sandbox import Sandbox
from tests.conftest import BOUNDARY_ONLY_RULES, Home
from tests.support import CORRAL, CorralCLI, Ran, answer_in_pty, events

# Fetch a URL through the proxy the sandbox's variables name; print the status,
# corral's refusal header and the body.
FETCH = """
import sys, urllib.request, urllib.error
try:
    with urllib.request.urlopen(sys.argv[1], timeout=10) as answer:
        print(answer.status, answer.read().decode())
except urllib.error.HTTPError as refused:
    reason = refused.headers.get("X-Corral-Refusal")
    print(refused.code, reason, refused.read().decode())
"""


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"served {self.headers.get('Host')} {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[int]:
    """An HTTP server on the host's 127.0.0.1; yields its port."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    thread.join()
    httpd.server_close()


# How long a proxy may take to end after its test: one that no run ever leased
# waits out its first-lease timer (30 s) before it ends.
_PROXY_EXIT_SECONDS = 60


@pytest.fixture(autouse=True)
def _proxies_end_with_their_test(tmp_path: Path) -> Iterator[None]:
    """Wait until every proxy the test started has ended.

    A later test's runs see every socket path on the host, this test's proxy
    socket too: removed while one of them sets up, it changes what that run
    covers.
    """
    yield
    deadline = time.monotonic() + _PROXY_EXIT_SECONDS
    while controls := sorted(tmp_path.glob("*/corral/network/proxy.sock")):
        assert time.monotonic() < deadline, f"a proxy outlived its test: {controls}"
        time.sleep(0.05)


def _policy(home: Home, network: str) -> None:
    policy = home.config / "corral" / "policy.toml"
    policy.parent.mkdir(parents=True, exist_ok=True)
    policy.write_text(BOUNDARY_ONLY_RULES + "[network]\n" + network)


def _allow(home: Home, port: int, *allow: str, extra: str = "") -> None:
    entries = ", ".join(f'"{entry}"' for entry in (*allow, f"127.0.0.1:{port}"))
    _policy(
        home,
        'mode = "allow-list"\nunknown = "refuse"\n'
        f"allow = [{entries}]\n"
        'hosts = { "pkg.test" = "127.0.0.1", "other.test" = "127.0.0.1", '
        '"deep.pkg.test" = "127.0.0.1" }\n' + extra,
    )


def _connections(home: Home) -> list[dict[str, object]]:
    return [e for e in events(home.state) if e["event"] == "network.connection"]


def _in_background(corral: CorralCLI, *args: str) -> Callable[[], Ran]:
    """Start ``corral ARGS...`` in a thread; the returned call waits for it."""
    done: list[Ran] = []
    runner = threading.Thread(target=lambda: done.append(corral(*args)))
    runner.start()

    def finished() -> Ran:
        runner.join()
        return done[0]

    return finished


def _wait_until(
    condition: Callable[[], bool], failure: str, *, seconds: float = 20
) -> None:
    """Wait (20 s unless told) until `condition` holds; fail saying `failure`."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, failure
        time.sleep(0.05)


def _wait_for_proxy_exit(home: Home) -> None:
    control = home.state / "corral" / "network" / "proxy.sock"
    _wait_until(lambda: not control.exists(), "the proxy outlived its last run")


def test_an_allowed_name_reaches_its_server(
    corral: CorralCLI, workspace: Path, home: Home, server: int
) -> None:
    _allow(home, server, "pkg.test")
    ran = corral.run(workspace, "python3", "-c", FETCH, f"http://pkg.test:{server}/a")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == f"200 served pkg.test:{server} /a"
    (event,) = _connections(home)
    assert event["decision"] == "allow"
    assert event["name"] == "pkg.test"
    assert event["port"] == server
    assert event["rule"] == "pkg.test"
    assert event["address"] == "127.0.0.1"
    assert int(event["bytes_down"]) > 0  # type: ignore[call-overload]
    started = next(e for e in events(home.state) if e["event"] == "command.started")
    assert event["run"] == started["run"]
    _wait_for_proxy_exit(home)


def test_a_tunnel_through_connect_reaches_an_allowed_name(
    corral: CorralCLI, workspace: Path, home: Home, server: int
) -> None:
    _allow(home, server, f"pkg.test:{server}")
    ran = corral.run(
        workspace, "curl", "-sS", "--proxytunnel", f"http://pkg.test:{server}/t"
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == f"served pkg.test:{server} /t"
    (event,) = _connections(home)
    assert event["method"] == "CONNECT"


def test_a_name_not_listed_is_refused_with_corrals_reason(
    corral: CorralCLI, workspace: Path, home: Home, server: int
) -> None:
    _allow(home, server, "pkg.test")
    ran = corral.run(workspace, "python3", "-c", FETCH, f"http://other.test:{server}/")
    assert ran.returncode == 0, ran.stderr
    code, header, *_ = ran.stdout.split()
    assert (code, header) == ("403", "not-allowed")
    assert "corral" in ran.stdout
    (event,) = _connections(home)
    assert event["decision"] == "refuse"
    assert event["name"] == "other.test"


def test_a_wildcard_matches_names_below_it_and_ports_are_kept_apart(
    corral: CorralCLI, workspace: Path, home: Home, server: int
) -> None:
    _allow(home, server, f"*.pkg.test:{server}")
    below = corral.run(
        workspace, "python3", "-c", FETCH, f"http://deep.pkg.test:{server}/"
    )
    itself = corral.run(workspace, "python3", "-c", FETCH, f"http://pkg.test:{server}/")
    other_port = corral.run(
        workspace, "python3", "-c", FETCH, f"http://deep.pkg.test:{server + 1}/"
    )
    assert below.stdout.startswith("200 "), below.stderr
    assert itself.stdout.startswith("403 not-allowed"), itself.stdout
    assert other_port.stdout.startswith("403 not-allowed"), other_port.stdout


def test_an_allowed_name_resolving_to_loopback_is_refused(
    corral: CorralCLI, workspace: Path, home: Home, server: int
) -> None:
    _policy(
        home,
        'mode = "allow-list"\nallow = ["pkg.test"]\nunknown = "refuse"\n'
        'hosts = { "pkg.test" = "127.0.0.1" }\n',
    )
    ran = corral.run(workspace, "python3", "-c", FETCH, f"http://pkg.test:{server}/")
    assert ran.stdout.startswith("403 address-refused"), ran.stdout
    (event,) = _connections(home)
    assert event["decision"] == "refuse"


@pytest.mark.parametrize(
    "spelling",
    ["2130706433", "0177.0.0.1", "127.1", "0x7f.0.0.1", "[::ffff:127.0.0.1]"],
)
def test_spellings_of_a_refused_address_are_refused(
    corral: CorralCLI, workspace: Path, home: Home, server: int, spelling: str
) -> None:
    """The name passes (127.0.0.1 is listed, on no port); the address does not.

    Only an entry naming the address with its port admits loopback, so each
    spelling must be read as 127.0.0.1 and refused at the address check.
    """
    _policy(home, 'mode = "allow-list"\nallow = ["127.0.0.1"]\nunknown = "refuse"\n')
    ran = corral.run(workspace, "python3", "-c", FETCH, f"http://{spelling}:{server}/")
    assert ran.stdout.startswith("403 address-refused"), ran.stdout


def test_a_denied_name_is_refused_though_a_wildcard_allows_it(
    corral: CorralCLI, workspace: Path, home: Home, server: int
) -> None:
    _allow(home, server, "*.pkg.test", extra='deny = ["deep.pkg.test"]\n')
    ran = corral.run(
        workspace, "python3", "-c", FETCH, f"http://deep.pkg.test:{server}/"
    )
    assert ran.stdout.startswith("403 denied"), ran.stdout


BYPASS = """
import socket, sys
for address in sys.argv[1:]:
    host, port = address.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=3)
        print("reached", address)
    except OSError as exc:
        print("refused", address, exc.errno)
"""


def test_direct_connections_that_bypass_the_proxy_fail(
    corral: CorralCLI, workspace: Path, home: Home, server: int
) -> None:
    _allow(home, server, "pkg.test")
    ran = corral.run(
        workspace, "python3", "-c", BYPASS, f"127.0.0.1:{server}", "10.0.0.1:80"
    )
    assert ran.returncode == 0, ran.stderr
    assert "reached" not in ran.stdout
    assert ran.stdout.count("refused") == 2


LOCAL_SERVER = """
import socket, threading
server = socket.create_server(("127.0.0.1", 0))
port = server.getsockname()[1]
def answer():
    conn, _ = server.accept()
    conn.sendall(b"local")
    conn.close()
threading.Thread(target=answer).start()
print(socket.create_connection(("127.0.0.1", port), timeout=3).recv(10).decode())
"""


def test_servers_on_the_sandboxes_own_loopback_still_work(
    corral: CorralCLI, workspace: Path, home: Home, server: int
) -> None:
    _allow(home, server, "pkg.test")
    ran = corral.run(workspace, "python3", "-c", LOCAL_SERVER)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "local"


def test_the_sandbox_has_no_resolver_of_its_own(
    corral: CorralCLI, workspace: Path, home: Home, server: int
) -> None:
    _allow(home, server, "pkg.test")
    ran = corral.run(
        workspace,
        "python3",
        "-c",
        "import socket\ntry:\n socket.getaddrinfo('pkg.test', 80)\n print('resolved')\n"
        "except OSError:\n print('no resolver')",
    )
    assert ran.stdout.strip() == "no resolver", ran.stdout + ran.stderr


def test_one_proxy_serves_concurrent_runs_and_ends_with_the_last(
    corral: CorralCLI, workspace: Path, home: Home, server: int
) -> None:
    _allow(home, server, "pkg.test")
    url = f"http://pkg.test:{server}/"
    holder = threading.Thread(
        target=corral.run,
        args=(workspace, "python3", "-c", FETCH + "import time; time.sleep(3)", url),
    )
    holder.start()
    control = home.state / "corral" / "network" / "proxy.sock"
    _wait_until(control.exists, "the proxy did not start")
    ran = corral.run(workspace, "python3", "-c", FETCH, url)
    assert ran.stdout.startswith("200 "), ran.stdout + ran.stderr
    holder.join()
    _wait_for_proxy_exit(home)
    connections = _connections(home)
    assert len(connections) == 2
    assert len({e["pid"] for e in connections}) == 1
    assert len({e["run"] for e in connections}) == 2


def _pip_policy(home: Home) -> None:
    _policy(home, 'mode = "allow-list"\npresets = ["pip"]\nunknown = "refuse"\n')


@pytest.mark.needs_index
def test_pip_installs_a_real_package_through_the_proxy(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    """From the index this machine's pip is configured to use, found at run time."""
    _pip_policy(home)
    ran = corral.run(
        workspace,
        *(sys.executable, "-m", "pip", "install", "--no-cache-dir", "--no-deps"),
        *("--target", "installed", "six==1.16.0"),
        timeout=180,
    )
    assert ran.returncode == 0, ran.stderr
    assert (workspace / "installed" / "six.py").is_file()
    connections = _connections(home)
    assert connections
    for event in connections:
        assert event["decision"] == "allow"
        assert str(event["origin"]).startswith("preset pip")


@pytest.mark.needs_index
def test_pip_fails_fast_on_an_index_not_allowed(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    _pip_policy(home)
    ran = corral.run(
        workspace,
        *(sys.executable, "-m", "pip", "download", "-vv", "--no-cache-dir"),
        *("--retries", "0", "--index-url", "https://index.not-allowed.test/simple"),
        "six",
        timeout=120,
    )
    assert ran.returncode != 0
    assert "Tunnel connection failed: 403" in ran.stdout + ran.stderr
    (event,) = {e["name"]: e for e in _connections(home)}.values()
    assert event["name"] == "index.not-allowed.test"
    assert event["decision"] == "refuse"
    assert event["code"] == "not-allowed"


FETCH_TWICE = FETCH + "urllib.request.urlopen(sys.argv[1], timeout=10).read()\n"


def _ask_policy(home: Home, port: int) -> None:
    _policy(
        home,
        f'mode = "allow-list"\nallow = ["pkg.test", "127.0.0.1:{port}"]\n'
        'hosts = { "other.test" = "127.0.0.1" }\n',
    )


@pytest.mark.parametrize(("answer", "seen"), [("o", "200 served"), ("n", "403")])
def test_a_person_at_the_terminal_decides_an_unknown_destination(
    workspace: Path, home: Home, server: int, answer: str, seen: str
) -> None:
    _ask_policy(home, server)
    url = f"http://other.test:{server}/"
    argv = [*CORRAL, "run", "-C", str(workspace), "--", "python3", "-c", FETCH, url]
    answered = answer_in_pty(argv, home.env(), answer)
    assert answered.asked, answered.output
    assert f"connect to other.test:{server}" in answered.output
    assert seen in answered.output
    (event,) = _connections(home)
    assert event["asked"] is True
    assert event["decision"] == ("allow" if answer == "o" else "refuse")


def test_an_answer_for_the_session_is_not_asked_again(
    workspace: Path, home: Home, server: int
) -> None:
    _ask_policy(home, server)
    url = f"http://other.test:{server}/"
    argv = [*CORRAL, "run", "-C", str(workspace), "--"]
    argv += ["python3", "-c", FETCH_TWICE, url]
    answered = answer_in_pty(argv, home.env(), "s")
    assert answered.returncode == 0, answered.output
    assert answered.output.count("connect to other.test") == 1
    assert [e["decision"] for e in _connections(home)] == ["allow", "allow"]


def test_without_a_person_an_unknown_destination_is_refused(
    corral: CorralCLI, workspace: Path, home: Home, server: int
) -> None:
    _ask_policy(home, server)
    ran = corral.run(workspace, "python3", "-c", FETCH, f"http://other.test:{server}/")
    assert ran.stdout.startswith("403 not-allowed"), ran.stdout


def test_a_long_lived_sandbox_keeps_one_proxy_until_it_is_closed(
    workspace: Path, home: Home, server: int
) -> None:
    _allow(home, server, "pkg.test")
    env = home.env()
    url = f"http://pkg.test:{server}/"
    with Sandbox(workspace, load_policy(workspace, environ=env), environ=env) as box:
        for _ in range(3):
            result = box.run(["python3", "-c", FETCH, url], capture=True)
            assert (result.stdout or b"").startswith(b"200 "), result.stderr
        control = home.state / "corral" / "network" / "proxy.sock"
        assert control.exists()
    _wait_for_proxy_exit(home)
    connections = _connections(home)
    assert len(connections) == 3
    assert len({e["pid"] for e in connections}) == 1


def test_a_session_answer_holds_for_the_sessions_later_runs(
    workspace: Path, home: Home, server: int
) -> None:
    """The proxy process ends between the runs; the answer is kept on disk."""
    _ask_policy(home, server)
    url = f"http://other.test:{server}/"
    argv = [*CORRAL, "run", "-C", str(workspace), "--", "python3", "-c", FETCH, url]
    env = home.env({"CORRAL_SESSION": "review-42"})
    first = answer_in_pty(argv, env, "s")
    assert first.asked, first.output
    _wait_for_proxy_exit(home)
    second = answer_in_pty(argv, env, "n")
    assert not second.asked, second.output
    assert "200 served" in second.output
    other_session = answer_in_pty(argv, home.env({"CORRAL_SESSION": "other"}), "n")
    assert other_session.asked


FETCH_WHEN_TOLD = FETCH.replace("try:", "import os, time\n"
    "while not os.path.exists('go'):\n    time.sleep(0.05)\ntry:", 1)  # fmt: skip


def test_a_connection_the_log_cannot_record_is_not_made(
    corral: CorralCLI, workspace: Path, home: Home, server: int
) -> None:
    _allow(home, server, "pkg.test")
    url = f"http://pkg.test:{server}/"
    finished = _in_background(
        corral, "run", "-C", str(workspace), "--", "python3", "-c", FETCH_WHEN_TOLD, url
    )
    log = home.state / "corral" / "events.jsonl"
    _wait_until(
        lambda: log.exists() and "command.started" in log.read_text(),
        "the command did not start",
    )
    log.rename(log.with_name("events.saved"))
    log.mkdir()  # no record can be appended now
    (workspace / "go").touch()
    ran = finished()
    assert "503 unrecorded" in ran.stdout, ran


def test_pip_inside_is_pointed_at_the_index_the_preset_allows(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    """The user's pip.conf is hidden in the sandbox; its index is passed in."""
    _policy(home, 'mode = "allow-list"\npresets = ["pip"]\nunknown = "refuse"\n')
    pip_conf = home.config / "pip" / "pip.conf"
    pip_conf.parent.mkdir(parents=True)
    pip_conf.write_text("[global]\nindex-url = https://index.test/simple\n")
    ran = corral.run(
        workspace,
        "python3",
        "-c",
        "import os, pathlib; print(os.environ.get('PIP_INDEX_URL'));"
        f" print(pathlib.Path({str(pip_conf)!r}).read_text())",
    )
    assert ran.stdout.splitlines()[0] == "https://index.test/simple", ran.stderr
    assert "index-url" not in ran.stdout  # the file itself stays hidden
    started = next(e for e in events(home.state) if e["event"] == "command.started")
    assert ["index.test:443", f"preset pip ({pip_conf})"] in started["network"]["allow"]


# Registers a route of its own with whatever proxy control socket appears at
# argv[1], as a command would with another state directory's proxy.
TAKE_OVER = """
import json, os, socket, stat, sys, time
control = sys.argv[1]
open("started", "w").close()  # the socket is not there to be covered
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        if stat.S_ISSOCK(os.stat(control).st_mode):
            break
    except OSError:
        pass
    time.sleep(0.05)
mine = socket.socket(socket.AF_UNIX)
mine.bind("\\0corral-test-takeover")
mine.listen()
route = {"allow": [["127.0.0.1:" + sys.argv[2], "me"]], "deny": [],
         "refuse_private": False, "unknown": "refuse", "hosts": {},
         "context": {"run": "forged"}}
try:
    conn = socket.socket(socket.AF_UNIX)
    conn.settimeout(10)
    os.chdir(os.path.dirname(control))  # a unix socket path holds 107 bytes
    conn.connect(os.path.basename(control))
    message = json.dumps({"op": "serve", "route": route}).encode() + b"\\n"
    socket.send_fds(conn, [message], [mine.fileno()])
    print("reply:", conn.recv(1000))
except OSError as exc:
    print("refused:", exc)
"""


@pytest.mark.parametrize("network", ["offline", "allow-list"])
def test_a_command_cannot_use_the_proxy_of_another_state_directory(
    corral: CorralCLI, workspace: Path, home: Home, server: int, tmp_path: Path,
    *, network: str,
) -> None:  # fmt: skip
    """Only a run's own state directory is hidden; the proxy checks its peers."""
    _allow(home, server, "pkg.test")
    other = tmp_path / "other-state" / "corral"
    other.mkdir(parents=True, mode=0o700)
    control = other / "network" / "proxy.sock"
    finished = _in_background(
        corral, "run", "-C", str(workspace), "--network", network, "--",
        "python3", "-c", TAKE_OVER, str(control), str(server),
    )  # fmt: skip
    _wait_until((workspace / "started").exists, "the command did not start", seconds=60)
    with ProxyLease(other, None):
        ran = finished()
    out = ran.stdout
    # The proxy hangs up at once: before, while or after the request is sent.
    hung_up = ("reply: b''", "Connection reset", "Broken pipe")
    assert any(sign in out for sign in hung_up), ran
    assert '"ok":true' not in out


FETCH_THEN_WAIT = FETCH + FETCH_WHEN_TOLD


def test_a_proxy_that_ends_during_a_run_is_reported_and_recorded(
    corral: CorralCLI, workspace: Path, home: Home, server: int
) -> None:
    _allow(home, server, "pkg.test")
    url = f"http://pkg.test:{server}/"
    finished = _in_background(
        corral, "run", "-C", str(workspace), "--", "python3", "-c", FETCH_THEN_WAIT, url
    )

    def opened() -> list[dict[str, object]]:
        return [e for e in events(home.state) if e["event"] == "network.opened"]

    _wait_until(lambda: bool(opened()), "no connection was opened")
    proxy = int(str(opened()[0]["pid"]))  # the proxy this test's run started
    os.kill(proxy, signal.SIGKILL)
    (workspace / "go").touch()
    ran = finished()
    # Killed, it could not remove its socket: nothing listens there any more.
    (home.state / "corral" / "network" / "proxy.sock").unlink(missing_ok=True)
    assert "network proxy ended while the command ran" in ran.stderr
    record = next(e for e in events(home.state) if e["event"] == "command.finished")
    assert record["proxy_lost"] is True


def test_no_path_names_a_runs_way_to_the_proxy(
    corral: CorralCLI, workspace: Path, home: Home, server: int
) -> None:
    """A run's channel is a socketpair: no other sandbox can find it."""
    _allow(home, server, "pkg.test")
    process = subprocess.Popen(
        [*CORRAL, "run", "-C", str(workspace), "--", "sh", "-c", "touch up; sleep 30"],
        env=home.env(),
    )
    network = home.state / "corral" / "network"
    try:
        _wait_until((workspace / "up").exists, "the command did not start")
        sockets = [p.name for p in network.iterdir() if p.is_socket()]
    finally:
        # Not killed: a corral killed while bubblewrap sets the sandbox up can
        # leave bubblewrap's init asleep; terminated, corral ends the sandbox.
        process.terminate()  # the corral run this test started
        process.wait()
    assert sockets == ["proxy.sock"]


def _processes_naming(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
    return found


def test_nothing_of_a_killed_runs_sandbox_outlives_its_command(
    corral: CorralCLI, workspace: Path, home: Home, server: int
) -> None:
    """With corral gone, the bridge ends with the command it serves."""
    _allow(home, server, "pkg.test")
    process = subprocess.Popen(
        [*CORRAL, "run", "-C", str(workspace), "--", "sh", "-c", "touch up; sleep 1"],
        env=home.env(),
    )
    _wait_until((workspace / "up").exists, "the command did not start")
    process.kill()  # the corral run this test started
    process.wait()
    _wait_until(lambda: not _processes_naming(f"={workspace}"), "a sandbox stayed")
