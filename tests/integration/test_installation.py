"""Where corral itself is installed does not change what it can run or protect."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import corral
from corral.errors import WorkspaceError
from corral.policy import load_policy
from corral.sandbox import Sandbox
from tests.conftest import Home


@pytest.fixture
def package_in_tmp() -> Iterator[Path]:
    """A copy of the corral package beneath /tmp, a private directory in the sandbox."""
    with tempfile.TemporaryDirectory(prefix="corral-install-") as directory:
        target = Path(directory) / "corral"
        shutil.copytree(Path(corral.__file__).parent, target)
        yield target


def test_corral_installed_beneath_tmp_still_runs_commands(
    workspace: Path, home: Home, package_in_tmp: Path
) -> None:
    env = home.env()
    sandbox = Sandbox(workspace, load_policy(workspace, environ=env), environ=env)
    enforcer = package_in_tmp / "sandbox" / "_enforce_main.py"
    sandbox.tools = dataclasses.replace(sandbox.tools, enforcer=enforcer)
    result = sandbox.run(["sh", "-c", "echo hi; ls /tmp"], capture=True)
    assert result.exit_status == 0, result.stderr
    assert (result.stdout or b"").startswith(b"hi\n")


def test_corral_installed_inside_the_workspace_refuses_to_run(
    workspace: Path, home: Home
) -> None:
    """A command could rewrite corral itself, which runs outside the sandbox."""
    target = workspace / "tools" / "corral"
    shutil.copytree(Path(corral.__file__).parent, target)
    env = home.env()
    sandbox = Sandbox(workspace, load_policy(workspace, environ=env), environ=env)
    sandbox.tools = dataclasses.replace(
        sandbox.tools, enforcer=target / "sandbox" / "_enforce_main.py"
    )
    with pytest.raises(
        WorkspaceError, match=r"corral's own code .* lies beneath the writable root"
    ):
        sandbox.run(["true"])
