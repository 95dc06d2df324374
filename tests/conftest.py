"""Shared fixtures: a real workspace, a fake home with credentials, and ``corral run``.

Temporary files live under the user's own cache directory, not /tmp: inside
every sandbox /tmp is a fresh tmpfs, so a fake home placed there would look
hidden for the wrong reason.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

IS_ROOT = os.geteuid() == 0


def pytest_configure(config: pytest.Config) -> None:
    if config.option.basetemp is None:
        base = Path.home() / ".cache" / "corral-tests" / f"pytest-{os.getpid()}"
        base.parent.mkdir(parents=True, exist_ok=True)
        config.option.basetemp = str(base)


def pytest_unconfigure(config: pytest.Config) -> None:
    base = Path(str(config.option.basetemp))
    if base.name.startswith("pytest-") and base.parent.name == "corral-tests":
        subprocess.run(["rm", "-rf", "--one-file-system", str(base)], check=False)


from tests.support import CorralCLI  # noqa: E402 - after the hooks pytest reads first


@dataclass
class Home:
    """A fake home directory holding credential stores and shell start-up files."""

    path: Path
    state: Path
    config: Path

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.path),
            "XDG_STATE_HOME": str(self.state),
            "XDG_CONFIG_HOME": str(self.config),
            "LANG": "C.UTF-8",
        }
        env.update(extra or {})
        return env


@pytest.fixture
def home(tmp_path: Path) -> Home:
    path = tmp_path / "home"
    (path / ".ssh").mkdir(parents=True)
    (path / ".ssh" / "id_ed25519").write_text("PRIVATE KEY MATERIAL\n")
    (path / ".aws").mkdir()
    (path / ".aws" / "credentials").write_text(
        "[default]\naws_secret_access_key=s3cr3t\n"
    )
    (path / ".netrc").write_text("machine example login me password hunter2\n")
    (path / ".bashrc").write_text("# shell start-up\n")
    return Home(path=path, state=tmp_path / "state", config=path / ".config")


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A git repository with one commit and a nested repository inside it."""
    path = tmp_path / "ws"
    path.mkdir()
    _git(path, "init", "-q", "-b", "main")
    (path / "README").write_text("hello\n")
    (path / "src").mkdir()
    (path / "src" / "app.py").write_text("print('app')\n")
    _git(path, "add", ".")
    _git(path, "commit", "-qm", "first")
    nested = path / "vendor" / "lib"
    nested.mkdir(parents=True)
    _git(nested, "init", "-q", "-b", "main")
    (nested / "lib.py").write_text("x = 1\n")
    return path


@pytest.fixture
def corral(home: Home) -> CorralCLI:
    """Run the real ``corral`` command line as a subprocess, in the fake home."""
    return CorralCLI(home.env())
