"""The enforcer: its command line, its status report, its exit statuses."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from corral.errors import SandboxSetupError
from corral.sandbox._enforce import ENFORCER, EnforcerConfig, enforcer_argv
from corral.sandbox._handover import MAX_MESSAGE, channel, fits, hand_over
from corral.sandbox._landlock import LandlockSpec, landlock_abi
from tests.sandbox.enforcer_support import python_argv, run_enforced

ABI = landlock_abi()
needs_landlock = pytest.mark.skipif(ABI == 0, reason="this kernel has no Landlock")

NO_LAYERS = EnforcerConfig(
    status_fd=None,
    stderr_fd=None,
    landlock=None,
    seccomp_allow_inet=None,
    identity=False,
)


@needs_landlock
def test_the_status_line_names_every_layer_in_force(tmp_path: Path) -> None:
    ran = run_enforced(
        ["true"],
        landlock=LandlockSpec(writable=(str(tmp_path),)),
        seccomp_allow_inet=False,
        identity=True,
    )
    assert ran.returncode == 0
    assert ran.status == [
        {"ok": True, "landlock_abi": ABI, "seccomp": True, "identity": True}
    ]


def test_with_no_layer_the_status_line_says_so() -> None:
    ran = run_enforced(["true"])
    assert ran.status == [
        {"ok": True, "landlock_abi": None, "seccomp": False, "identity": False}
    ]


def test_the_command_gets_argv_and_environment_and_no_status_fd() -> None:
    code = (
        "import os, sys; print(sys.argv[1:], os.environ.get('CORRAL_TEST_VAR'), "
        "sorted(os.listdir('/proc/self/fd')))"
    )
    os.environ["CORRAL_TEST_VAR"] = "passed"
    try:
        ran = run_enforced([*python_argv(code), "a b", "--", "c"])
    finally:
        del os.environ["CORRAL_TEST_VAR"]
    assert ran.stdout.strip() == "['a b', '--', 'c'] passed ['0', '1', '2', '3']"


def test_signals_python_ignores_are_restored_for_the_command() -> None:
    """SIGPIPE and SIGXFSZ start at their default, so `yes | head` ends quietly."""
    ran = run_enforced(["sh", "-c", "grep SigIgn /proc/self/status; yes | head -1"])
    ignored = int(ran.stdout.split()[1], 16)
    assert not ignored & (1 << (13 - 1) | 1 << (25 - 1))
    assert ran.stderr == ""


def test_a_missing_command_exits_127_and_says_so() -> None:
    ran = run_enforced(["corral-no-such-command"])
    assert ran.returncode == 127
    assert ran.status[-1] == {
        "ok": False,
        "layer": "exec",
        "errno": 2,
        "error": "cannot run 'corral-no-such-command': No such file or directory",
    }


def test_a_command_that_cannot_be_executed_exits_126(tmp_path: Path) -> None:
    script = tmp_path / "not-executable"
    script.write_text("#!/bin/sh\n")
    ran = run_enforced([str(script)])
    assert ran.returncode == 126
    assert ran.status[-1]["layer"] == "exec"
    assert ran.status[-1]["errno"] == 13


def test_an_unsearchable_path_entry_does_not_hide_not_found(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0)
    path = f"{locked}:{os.environ['PATH']}"
    ran = run_enforced(["env", f"PATH={path}", sys.executable, "-I", "-c", RUN_MISSING])
    assert ran.stdout.strip() == "127"


RUN_MISSING = f"""
import subprocess, sys
argv = {enforcer_argv(sys.executable, NO_LAYERS, ["corral-no-such-command"])!r}
print(subprocess.run(argv, stderr=subprocess.DEVNULL).returncode)
"""


def test_a_script_without_a_shebang_runs_under_sh(tmp_path: Path) -> None:
    script = tmp_path / "script"
    script.write_text("echo from-sh $1\n")
    script.chmod(0o755)
    assert run_enforced([str(script), "arg"]).stdout == "from-sh arg\n"


@needs_landlock
def test_a_failing_layer_exits_125_and_the_command_never_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    spec = LandlockSpec(writable=(str(tmp_path / "absent"),))
    ran = run_enforced(["touch", str(marker)], landlock=spec, seccomp_allow_inet=False)
    assert ran.returncode == 125
    assert len(ran.status) == 1
    assert ran.status[0]["ok"] is False
    assert ran.status[0]["layer"] == "landlock"
    assert not marker.exists()
    assert ran.stdout == ran.stderr == ""


def run_raw(options: Sequence[str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-I", "-S", "-B", ENFORCER, *options, "--", *argv],
        capture_output=True,
        text=True,
        check=False,
    )


def test_without_a_status_fd_failures_go_to_stderr_and_success_prints_nothing() -> None:
    ok = run_raw(NO_LAYERS.to_args(), "true")
    assert (ok.returncode, ok.stdout, ok.stderr) == (0, "", "")
    missing = run_raw(NO_LAYERS.to_args(), "corral-no-such-command")
    assert missing.returncode == 127
    assert missing.stderr.startswith("corral: cannot run 'corral-no-such-command'")


def test_a_malformed_configuration_is_refused() -> None:
    for config in ("not json", '{"status_fd": null}', "[]"):
        ran = run_raw([config], "true")
        assert ran.returncode == 125
        assert ran.stderr.startswith(
            "corral: the enforcer's configuration is malformed"
        )
    usage = subprocess.run(
        [sys.executable, "-I", "-S", "-B", ENFORCER, *NO_LAYERS.to_args(), "true"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert usage.returncode == 125
    assert usage.stderr.startswith("corral: usage:")


def test_the_stderr_fd_becomes_the_commands_stderr() -> None:
    read_end, write_end = os.pipe()
    config = NO_LAYERS._replace(stderr_fd=write_end)
    done = subprocess.run(
        enforcer_argv(sys.executable, config, ["sh", "-c", "echo to-stderr >&2"]),
        pass_fds=(write_end,),
        capture_output=True,
        check=False,
    )
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        assert reader.read() == b"to-stderr\n"
    assert done.stderr == b""


def test_the_enforcer_imports_little(tmp_path: Path) -> None:
    """Start-up cost: no json, typing, re, enum, contextlib, dataclasses, pathlib,
    inspect or subprocess before exec, with every layer in force."""
    spec = LandlockSpec(writable=(str(tmp_path),))
    config = NO_LAYERS._replace(identity=True, seccomp_allow_inet=False, landlock=spec)
    python = [sys.executable, "-I", "-S", "-B", "-X", "importtime"]
    done = subprocess.run(
        [*python, ENFORCER, *config.to_args(), "--", "true"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines()}
    heavy = {"dataclasses", "pathlib", "inspect", "subprocess", "shutil", "importlib"}
    heavy |= {"json", "typing", "re", "enum", "contextlib", "signal", "warnings"}
    assert "corral.sandbox._seccomp" in imported
    assert not imported & heavy


def test_enforcer_argv_runs_python_isolated_on_this_file() -> None:
    argv = enforcer_argv("/usr/bin/python3", NO_LAYERS, ["ls", "-l"])
    assert argv[:5] == ["/usr/bin/python3", "-I", "-S", "-B", ENFORCER]
    assert argv[5:] == [*NO_LAYERS.to_args(), "--", "ls", "-l"]
    assert EnforcerConfig.from_args(argv[5:-3]) == NO_LAYERS
    with pytest.raises(SandboxSetupError):
        enforcer_argv("/usr/bin/python3", NO_LAYERS, [])
    waiting = NO_LAYERS._replace(command_fd=3)
    assert enforcer_argv("/usr/bin/python3", waiting, [])[-1] == "--"
    with pytest.raises(SandboxSetupError):
        enforcer_argv("/usr/bin/python3", waiting, ["ls"])


def test_the_configuration_survives_its_command_line_form() -> None:
    """One --name=value option per field; paths are passed as they are."""
    config = EnforcerConfig(
        status_fd=3,
        stderr_fd=4,
        landlock=LandlockSpec(writable=("/w", "/a=b c"), devices=("/dev/null",)),
        seccomp_allow_inet=True,
        identity=True,
        env_fd=5,
        proxy_bridge=6,
        supervise="pid:[4026531836]",
        command_fd=7,
        mounts_fd=8,
    )
    assert EnforcerConfig.from_args(config.to_args()) == config
    assert config.to_args() == [
        "--status-fd=3",
        "--stderr-fd=4",
        "--env-fd=5",
        "--identity=yes",
        "--seccomp=online",
        "--proxy-bridge=6",
        "--supervise=pid:[4026531836]",
        "--command-fd=7",
        "--mounts-fd=8",
        "--landlock=on",
        "--landlock-restrict-tcp=yes",
        "--landlock-scope=yes",
        "--landlock-writable=/w",
        "--landlock-writable=/a=b c",
        "--landlock-device=/dev/null",
    ]
    for relaxed in (
        NO_LAYERS,
        NO_LAYERS._replace(seccomp_allow_inet=False),
        NO_LAYERS._replace(
            landlock=LandlockSpec(writable=(), restrict_tcp=False, scope=False)
        ),
    ):
        assert EnforcerConfig.from_args(relaxed.to_args()) == relaxed


LANDLOCK_ON = ["--landlock=on", "--landlock-restrict-tcp=yes", "--landlock-scope=yes"]


@pytest.mark.parametrize(
    ("change", "remove"),
    [
        (["--extra=1"], None),
        (["--identity=1"], "--identity=no"),
        (["--identity=no"], None),  # repeated
        (["--status-fd=-1"], "--status-fd=none"),
        (["--status-fd=true"], "--status-fd=none"),
        (["--status-fd=\u0663"], "--status-fd=none"),  # a digit, but not ASCII
        (["--seccomp=no"], "--seccomp=off"),
        ([], "--env-fd=none"),  # missing
        (["--identity"], "--identity=no"),  # no value
        (["--landlock-writable=/w"], None),  # with --landlock=off
        (["--landlock=on", "--landlock-scope=yes"], "--landlock=off"),  # no tcp
        ([*LANDLOCK_ON, "--landlock-writable="], "--landlock=off"),  # empty path
        (["--supervise=yes"], "--supervise=none"),
        (["--supervise=pid:[12a]"], "--supervise=none"),
        (["--supervise=net:[4026531836]"], "--supervise=none"),
        (["--command-fd=x"], "--command-fd=none"),
        ([], "--command-fd=none"),  # missing
    ],
)
def test_unknown_repeated_missing_or_ill_formed_options_are_refused(
    change: list[str], remove: str | None
) -> None:
    options = [o for o in NO_LAYERS.to_args() if o != remove] + change
    with pytest.raises(SandboxSetupError, match=r"malformed"):
        EnforcerConfig.from_args(options)


def test_the_command_gets_the_environment_from_env_fd_not_the_enforcers(
    tmp_path: Path,
) -> None:
    """Variables the enforcer ran with stay out; the env file is the command's."""
    env_file = os.memfd_create("env", 0)
    os.write(env_file, b"ONLY=from-file\0PATH=/usr/bin:/bin\0")
    config = EnforcerConfig(
        status_fd=None,
        stderr_fd=None,
        landlock=None,
        seccomp_allow_inet=None,
        identity=False,
        env_fd=env_file,
    )
    done = subprocess.run(
        enforcer_argv(sys.executable, config, ["env"]),
        env={"LEAKED": "from-enforcer", "PATH": "/nonexistent"},
        pass_fds=(env_file,),
        capture_output=True,
        text=True,
        check=False,
    )
    os.close(env_file)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ONLY=from-file", "PATH=/usr/bin:/bin"]


def _waiting_enforcer(
    theirs: socket.socket, config: EnforcerConfig = NO_LAYERS
) -> subprocess.Popen[bytes]:
    fd = theirs.fileno()
    argv = enforcer_argv(sys.executable, config._replace(command_fd=fd), [])
    return subprocess.Popen(
        argv, pass_fds=(fd,), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def test_a_waiting_enforcer_runs_the_command_handed_over_with_its_streams(
    tmp_path: Path,
) -> None:
    ours, theirs = channel()
    enforcer = _waiting_enforcer(theirs)
    theirs.close()
    (tmp_path / "in").write_text("given\n")
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    with (tmp_path / "in").open("rb") as stdin:
        script = "cat; echo out; echo err >&2; ls /proc/self/fd"
        hand_over(ours, ["sh", "-c", script], (stdin.fileno(), out_w, err_w))
    os.close(out_w)
    os.close(err_w)
    ours.close()

    enforcers_out, enforcers_own = enforcer.communicate(timeout=30)
    with os.fdopen(out_r, "rb") as out, os.fdopen(err_r, "rb") as err:
        output, errors = out.read(), err.read()

    assert enforcer.returncode == 0
    assert output.startswith(b"given\nout\n")
    assert sorted(output.split(b"\n")[2:-1]) == [b"0", b"1", b"2", b"3"]  # ls's own
    assert errors == b"err\n"
    assert (enforcers_out, enforcers_own) == (b"", b"")


def test_a_waiting_enforcer_whose_channel_closes_runs_nothing() -> None:
    ours, theirs = channel()
    enforcer = _waiting_enforcer(theirs)
    theirs.close()

    ours.close()

    _, errors = enforcer.communicate(timeout=30)
    assert enforcer.returncode == 125
    assert b"no command came" in errors


@pytest.mark.parametrize("streams", [0, 1, 2, 4])
def test_a_handover_with_other_than_three_streams_runs_nothing(streams: int) -> None:
    ours, theirs = channel()
    enforcer = _waiting_enforcer(theirs)
    theirs.close()
    null = os.open(os.devnull, os.O_RDWR)

    socket.send_fds(ours, [b"touch\0/nonexistent-corral-marker"], [null] * streams)
    os.close(null)
    ours.close()

    _, errors = enforcer.communicate(timeout=30)
    assert enforcer.returncode == 125
    assert b"malformed" in errors or b"no command came" in errors
    assert not Path("/nonexistent-corral-marker").exists()


def test_a_command_line_too_long_for_one_message_is_not_handed_over() -> None:
    ours, theirs = channel()
    null = os.open(os.devnull, os.O_RDWR)
    try:
        assert not fits(["x" * (MAX_MESSAGE + 1)])
        assert not fits([])
        with pytest.raises(ValueError, match="fits"):
            hand_over(ours, ["x" * (MAX_MESSAGE + 1)], (null, null, null))
    finally:
        os.close(null)
        ours.close()
        theirs.close()


def _entries(*paths: str) -> int:
    fd = os.memfd_create("test-mounts")
    os.write(fd, b"".join(os.fsencode(p) + b"\0" for p in paths))
    return fd


def test_a_covered_path_that_is_no_mount_point_any_more_runs_nothing(
    tmp_path: Path,
) -> None:
    """The host renamed over or removed it after bubblewrap covered it."""
    marker = tmp_path / "ran"
    mounts = _entries("/", str(tmp_path))  # "/" is a mount point, tmp_path not
    config = NO_LAYERS._replace(mounts_fd=mounts)
    done = subprocess.run(
        enforcer_argv(sys.executable, config, ["touch", str(marker)]),
        pass_fds=(mounts,),
        capture_output=True,
        text=True,
        check=False,
    )
    os.close(mounts)

    assert done.returncode == 125
    assert f"{tmp_path} was renamed over or removed on the host" in done.stderr
    assert not marker.exists()


def test_covered_paths_that_are_mount_points_let_the_command_run() -> None:
    mounts = _entries("/", "/proc")
    config = NO_LAYERS._replace(mounts_fd=mounts)
    done = subprocess.run(
        enforcer_argv(sys.executable, config, ["true"]),
        pass_fds=(mounts,),
        capture_output=True,
        check=False,
    )
    os.close(mounts)

    assert done.returncode == 0, done.stderr
