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
from hypothesis import settings

from corral.approvals import Category
from corral.approvals._decide import NEVER_ALLOWED

IS_ROOT = os.geteuid() == 0


# No example database: the suite runs as root and then as another user from the
# same checkout, and a database written by one is not the other's to write.
settings.register_profile("corral", database=None)
settings.load_profile("corral")


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
            # The machine's /etc/gitconfig would change which paths git trusts.
            "GIT_CONFIG_NOSYSTEM": "1",
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


# Rules that let through everything a rule may let through, so that a test of
# the boundary checks what the kernel holds, not what the classifier refuses
# first.  The classifier is a layer of its own, tested in tests/approvals.
BOUNDARY_ONLY_RULES = "".join(
    f'[[rules]]\ncategory = "{category}"\ndecision = "allow"\n'
    'reason = "this test checks the boundary alone"\n\n'
    for category in Category
    if category not in NEVER_ALLOWED
)


@pytest.fixture
def corral(home: Home, request: pytest.FixtureRequest) -> CorralCLI:
    """Run the real ``corral`` command line as a subprocess, in the fake home.

    A test marked ``boundary_only`` gets a user policy of `BOUNDARY_ONLY_RULES`.
    """
    if request.node.get_closest_marker("boundary_only") is not None:
        allow_through(home)
    return CorralCLI(home.env())


def allow_through(home: Home, *, network: str | None = None) -> Path:
    """Write `BOUNDARY_ONLY_RULES` as the user policy in `home`; return its path.

    `network` sets the network mode there: asked for on the command line, a
    weaker one would be a decision for a person.
    """
    policy = home.config / "corral" / "policy.toml"
    policy.parent.mkdir(parents=True, exist_ok=True)
    text = BOUNDARY_ONLY_RULES
    if network is not None:
        text += f'[network]\nmode = "{network}"\n'
    policy.write_text(text)
    return policy
