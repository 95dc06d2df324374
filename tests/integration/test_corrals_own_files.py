"""corral's own trusted files stay out of every sandbox's reach, wherever they are."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Home
from tests.support import CorralCLI


def test_a_state_directory_inside_the_workspace_is_refused(
    corral: CorralCLI, workspace: Path
) -> None:
    ran = corral.run(
        workspace, "true", env={"XDG_STATE_HOME": str(workspace / ".state")}
    )
    assert ran.returncode == 125
    assert "state directory" in ran.stderr
    assert "writable root" in ran.stderr


def test_a_user_policy_inside_the_workspace_is_refused(
    corral: CorralCLI, workspace: Path
) -> None:
    config = workspace / "cfg"
    (config / "corral").mkdir(parents=True)
    (config / "corral" / "policy.toml").write_text(
        '[sandbox]\nmode = "workspace-write"\n'
    )
    ran = corral.run(workspace, "true", env={"XDG_CONFIG_HOME": str(config)})
    assert ran.returncode == 125
    assert "policy" in ran.stderr
    assert "writable root" in ran.stderr


@pytest.mark.parametrize(
    "root",
    ["~", "/etc", "/usr", str(Path(json.__file__).parent.parent), "/"],
)
def test_writable_roots_that_would_hand_over_the_machine_are_refused(
    corral: CorralCLI, workspace: Path, home: Home, root: str
) -> None:
    policy = home.config / "corral" / "policy.toml"
    policy.parent.mkdir(parents=True)
    policy.write_text(f"[sandbox]\nwritable_roots = [{json.dumps(root)}]\n")
    ran = corral.run(workspace, "true")
    assert ran.returncode == 125, ran.stderr
    assert ran.stderr.startswith("corral: ")


def test_the_event_log_is_never_written_through_a_symbolic_link(
    corral: CorralCLI, workspace: Path, home: Home, tmp_path: Path
) -> None:
    victim = tmp_path / "victim"
    victim.write_text("untouched\n")
    state = home.state / "corral"
    state.mkdir(parents=True, mode=0o700)
    (state / "events.jsonl").symlink_to(victim)
    ran = corral.run(workspace, "true")
    assert ran.returncode == 125
    assert victim.read_text() == "untouched\n"
