"""The identity layer alone: no_new_privs, no capabilities, setuid gains nothing."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from corral.sandbox._identity import _locked_securebits
from tests.sandbox.enforcer_support import IS_ROOT, NOBODY, python_argv, run_enforced

root_only = pytest.mark.skipif(not IS_ROOT, reason="needs to run as root")

STATUS_FIELDS = "grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs):' /proc/self/status"


def status_fields(identity: bool) -> dict[str, str]:
    ran = run_enforced(["sh", "-c", STATUS_FIELDS], identity=identity)
    assert ran.returncode == 0, ran.status
    return dict(line.split(":\t") for line in ran.stdout.splitlines())


def test_no_capability_is_left_and_no_new_privs_is_set() -> None:
    fields = status_fields(identity=True)
    for name in ("CapInh", "CapPrm", "CapEff", "CapAmb"):
        assert int(fields[name], 16) == 0, name
    assert fields["NoNewPrivs"] == "1"


@root_only
def test_real_root_also_loses_the_bounding_set_and_has_securebits_locked() -> None:
    assert int(status_fields(identity=False)["CapEff"], 16) != 0
    assert int(status_fields(identity=True)["CapBnd"], 16) == 0
    code = "import ctypes; print(ctypes.CDLL(None).prctl(27, 0, 0, 0, 0))"
    securebits = int(run_enforced(python_argv(code), identity=True).stdout)
    # NOROOT, NO_SETUID_FIXUP, NO_CAP_AMBIENT_RAISE set; every lock; KEEP_CAPS off.
    assert securebits == 0b11101111


@pytest.fixture
def foreign_dir(tmp_path: Path) -> Path:
    """A 0700 directory owned by someone else, so only capabilities could write it."""
    path = tmp_path / "nobodys"
    path.mkdir(mode=0o700)
    os.chown(path, NOBODY, NOBODY)
    return path


@root_only
def test_root_without_capabilities_cannot_write_what_it_does_not_own(
    foreign_dir: Path,
) -> None:
    script = (
        f"touch {foreign_dir}/file && echo wrote; chown 0 {foreign_dir} && echo owned"
    )
    assert run_enforced(["sh", "-c", script]).stdout.split() == ["wrote", "owned"]
    os.chown(foreign_dir, NOBODY, NOBODY)
    (foreign_dir / "file").unlink()

    ran = run_enforced(["sh", "-c", script], identity=True)
    assert ran.stdout == ""
    assert "Permission denied" in ran.stderr
    assert "Operation not permitted" in ran.stderr
    assert not (foreign_dir / "file").exists()


@pytest.fixture
def setuid_id() -> Iterator[Path]:
    """A setuid-root copy of id(1), in a directory everyone can reach."""
    directory = Path(tempfile.mkdtemp(prefix="corral-setuid-", dir="/tmp"))
    try:
        if os.statvfs(directory).f_flag & os.ST_NOSUID:
            pytest.skip("/tmp is mounted nosuid; setuid bits are ignored there")
        directory.chmod(0o755)
        program = directory / "id"
        shutil.copy("/usr/bin/id", program)
        program.chmod(0o4755)
        yield program
    finally:
        shutil.rmtree(directory)


@root_only
def test_a_setuid_root_program_gives_an_unprivileged_user_nothing(
    setuid_id: Path,
) -> None:
    argv = [str(setuid_id), "-u"]
    assert run_enforced(argv, user=NOBODY).stdout.strip() == "0"
    ran = run_enforced(argv, identity=True, user=NOBODY)
    assert ran.stdout.strip() == str(NOBODY)


# Starts a setuid-root program and reads the uids it runs with from /proc.
SETUID_UIDS = """
import subprocess, sys, time
process = subprocess.Popen([sys.argv[1]], stdin=subprocess.PIPE,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(500):
        with open(f"/proc/{process.pid}/status") as f:
            fields = dict(line.split(":", 1) for line in f)
        if fields["State"].split()[0] == "S":
            break
        time.sleep(0.01)
    print(fields["Uid"].split()[1])
finally:
    process.kill()
    process.wait()
"""

PASSWD = Path("/usr/bin/passwd")
HAS_SETUID_PASSWD = (
    PASSWD.exists()
    and PASSWD.stat().st_uid == 0
    and bool(PASSWD.stat().st_mode & stat.S_ISUID)
)


@pytest.mark.skipif(not HAS_SETUID_PASSWD, reason="no setuid-root /usr/bin/passwd")
def test_the_systems_setuid_programs_run_without_euid_0() -> None:
    """passwd waits for a password; meanwhile /proc shows its effective uid."""
    user = None if not IS_ROOT else NOBODY
    uid = str(os.geteuid() if user is None else user)
    argv = [*python_argv(SETUID_UIDS), str(PASSWD)]
    assert run_enforced(argv, user=user).stdout.strip() == "0"
    assert run_enforced(argv, identity=True, user=user).stdout.strip() == uid


def test_securebits_already_locked_keep_their_value() -> None:
    keep_caps, keep_caps_locked = 1 << 4, 1 << 5
    assert _locked_securebits(0) == 0b11101111
    assert _locked_securebits(keep_caps | keep_caps_locked) == 0b11111111
