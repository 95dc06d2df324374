"""The machine every presets test reads from: a temporary home and workspace."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.network.presets.preset_support import SYSTEM_PATH, Machine


@pytest.fixture
def machine(tmp_path: Path) -> Machine:
    home = tmp_path / "home"
    workspace = tmp_path / "workspace"
    global_dirs = tmp_path / "xdg"
    for directory in (home, workspace, global_dirs):
        directory.mkdir()
    environ = {
        "PATH": SYSTEM_PATH,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CONFIG_DIRS": str(global_dirs),
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        # The machine's /etc/gitconfig would rewrite the remotes the tests name.
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    return Machine(home, workspace, environ)
