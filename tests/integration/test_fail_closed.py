"""A layer the machine cannot enforce stops the run, unless policy accepts it.

The missing layer is real, not simulated: corral runs inside an outer
bubblewrap sandbox that forbids creating user namespaces.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from corral.sandbox import find_tools
from corral.sandbox._landlock import ABI_RESOLVE_UNIX, landlock_abi
from tests.conftest import Home
from tests.support import CORRAL


def _inside_no_userns(home: Home, args: list[str]) -> subprocess.CompletedProcess[str]:
    bwrap = find_tools().bwrap
    assert bwrap is not None
    return subprocess.run(
        [
            bwrap,
            "--unshare-user",
            "--disable-userns",
            "--dev-bind",
            "/",
            "/",
            "--",
            *CORRAL,
            *args,
        ],
        env=home.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_without_user_namespaces_the_run_is_refused_naming_the_layer(
    home: Home, workspace: Path
) -> None:
    ran = _inside_no_userns(home, ["run", "-C", str(workspace), "--", "touch", "made"])
    assert ran.returncode == 125, ran.stderr
    assert "namespaces layer cannot be enforced" in ran.stderr
    assert "accept_missing" in ran.stderr
    assert not (workspace / "made").exists()


def test_policy_can_accept_running_without_namespaces_and_it_is_recorded(
    home: Home, workspace: Path
) -> None:
    policy = home.config / "corral" / "policy.toml"
    policy.parent.mkdir(parents=True)
    policy.write_text('[sandbox]\naccept_missing = ["namespaces", "network"]\n')
    ran = _inside_no_userns(
        home, ["run", "-C", str(workspace), "--json", "--", "touch", "made"]
    )
    assert ran.returncode == 0, ran.stderr
    assert (workspace / "made").exists()
    described = json.loads(ran.stdout.splitlines()[-1])
    assert set(described["profile"]["missing_accepted"]) == {"namespaces", "network"}
    assert "namespaces" not in described["profile"]["layers"]
    assert "landlock" in described["profile"]["layers"]


def test_doctor_reports_every_layer_and_what_it_lacks(home: Home) -> None:
    ok = subprocess.run(
        [*CORRAL, "doctor", "--json"],
        env=home.env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    layers = {entry["layer"]: entry for entry in json.loads(ok.stdout)["layers"]}
    assert set(layers) == {"namespaces", "landlock", "seccomp", "network", "identity"}
    assert all(entry["available"] for entry in layers.values())
    assert layers["landlock"]["detail"].startswith("ABI ")
    held = "kernel" if landlock_abi() >= ABI_RESOLVE_UNIX else "snapshot"
    assert layers["landlock"]["unix_sockets"] == held

    lacking = _inside_no_userns(home, ["doctor"])
    assert lacking.returncode == 1
    assert "namespaces  MISSING" in lacking.stdout
