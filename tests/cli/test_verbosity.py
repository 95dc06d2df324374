"""corral's diagnostics on stderr: warnings always, more with -v, -vv or the env.

Each line is ``corral: LOGGER: MESSAGE``, whether or not corral had loaded its
logging when the message came.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from tests.support import CorralCLI

_DEBUG_LINE = "corral: corral.policy._load: policy files read: ["


def test_a_plain_run_shows_no_debug_lines(corral: CorralCLI, workspace: Path) -> None:
    ran = corral.run(workspace, "true")
    assert ran.returncode == 0, ran.stderr
    assert _DEBUG_LINE not in ran.stderr


def test_two_v_show_debug_lines(corral: CorralCLI, workspace: Path) -> None:
    ran = corral("-vv", "run", "-C", str(workspace), "--", "true")
    assert ran.returncode == 0, ran.stderr
    assert _DEBUG_LINE in ran.stderr


def test_corral_log_level_in_the_environment_shows_debug_lines(
    corral: CorralCLI, workspace: Path
) -> None:
    ran = corral.run(workspace, "true", env={"CORRAL_LOG_LEVEL": "debug"})
    assert ran.returncode == 0, ran.stderr
    assert _DEBUG_LINE in ran.stderr


def test_a_warning_during_a_plain_run_is_shown_as_corral_and_its_logger(
    corral: CorralCLI, workspace: Path, tmp_path: Path
) -> None:
    """A host socket with a second name cannot be covered; the run says so."""
    path = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        server.listen()
        os.link(path, tmp_path / "other-name")
        ran = corral.run(workspace, "true")
    assert ran.returncode == 0, ran.stderr
    assert (
        f"corral: corral.sandbox._hidden: the host socket {path} has 1 other names"
        in ran.stderr
    )


def test_a_broken_user_policy_is_reported_once(
    corral: CorralCLI, workspace: Path
) -> None:
    policy = Path(corral.env["XDG_CONFIG_HOME"]) / "corral" / "policy.toml"
    policy.parent.mkdir(parents=True, exist_ok=True)
    policy.write_text("nonsense = [\n")

    ran = corral.run(workspace, "true")

    assert ran.returncode == 125
    assert ran.stderr.count("not valid TOML") == 1, ran.stderr
