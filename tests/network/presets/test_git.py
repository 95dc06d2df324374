"""The git-remotes preset reads the workspace repository's remotes, and only them.

Every network remote form git accepts is read; GIT_DIR cannot point it at
another repository, and a git config in a writable root rewrites no URL.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.network.presets.preset_support import Machine

GIT = shutil.which("git")
needs_git = pytest.mark.skipif(GIT is None, reason="git is not installed here")


def git(*args: str, cwd: Path, env: dict[str, str]) -> None:
    subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    )


@needs_git
def test_git_remotes_allow_every_network_remote_form(machine: Machine) -> None:
    machine.write(
        machine.home / ".gitconfig",
        '[url "https://rewritten.test/"]\n\tinsteadOf = short:\n',
    )
    env = machine.environ
    git("init", "-q", cwd=machine.workspace, env=env)
    remotes = {
        "origin": "https://alice:tok3n@Git.Test./org/repo.git",
        "scp": "git@scp.test:org/repo.git",
        "ssh": "ssh://git@ssh.test:2222/org/repo",
        "ssh6": "ssh://git@[::1]:2200/repo",
        "daemon": "git://daemon.test/repo",
        "web": "http://web.test:8080/repo",
        "short": "short:org/repo",
        "bracket": "[bracket.test:2022]:repo",
        "scp6": "git@[::2]:repo",
        "at-in-path": "scp-path.test:a@[b.test]",
        "local": "/srv/repos/local.git",
        "files": "file:///srv/repos/files.git",
        "relative": "../sibling",
    }
    for name, url in remotes.items():
        git("remote", "add", name, url, cwd=machine.workspace, env=env)
    git(
        "remote",
        "set-url",
        "--push",
        "origin",
        "ssh://push.test/org/repo",
        cwd=machine.workspace,
        env=env,
    )

    preset = machine.read("git-remotes")
    assert set(preset.patterns) == {
        "git.test:443",
        "push.test:22",
        "scp.test:22",
        "ssh.test:2222",
        "[::1]:2200",
        "daemon.test:9418",
        "web.test:8080",
        "rewritten.test:443",
        "bracket.test:2022",
        "[::2]:22",
        "scp-path.test:22",
    }
    assert len(preset.patterns) == 11
    assert preset.notes == ()
    assert "tok3n" not in " ".join(preset.sources)


@needs_git
def test_git_reads_the_workspace_repository_whatever_git_dir_says(
    machine: Machine, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    git("init", "-q", cwd=other, env=machine.environ)
    git("remote", "add", "o", "https://other.test/r", cwd=other, env=machine.environ)
    git("init", "-q", cwd=machine.workspace, env=machine.environ)
    git(
        "remote",
        "add",
        "origin",
        "https://mine.test/r",
        cwd=machine.workspace,
        env=machine.environ,
    )
    machine.environ["GIT_DIR"] = str(other / ".git")
    assert machine.read("git-remotes").patterns == ("mine.test:443",)


@needs_git
def test_git_config_in_a_writable_root_rewrites_nothing(machine: Machine) -> None:
    env = machine.environ
    git("init", "-q", cwd=machine.workspace, env=env)
    git("remote", "add", "origin", "short:repo", cwd=machine.workspace, env=env)
    rewrite = machine.write(
        machine.workspace / "gitconfig",
        '[url "https://attacker.test/"]\n\tinsteadOf = short:\n',
    )
    env["GIT_CONFIG_GLOBAL"] = str(rewrite)
    preset = machine.read("git-remotes")
    assert preset.patterns == ("short:22",)
    assert any("GIT_CONFIG_GLOBAL" in note for note in preset.notes)


@needs_git
def test_git_keeps_the_users_own_file_when_the_other_is_writable(
    machine: Machine,
) -> None:
    env = machine.environ
    del env["GIT_CONFIG_GLOBAL"]
    git("init", "-q", cwd=machine.workspace, env=env)
    git("remote", "add", "origin", "short:repo", cwd=machine.workspace, env=env)
    machine.write(
        machine.home / ".gitconfig",
        '[url "https://mine.test/"]\n\tinsteadOf = short:\n',
    )
    env["XDG_CONFIG_HOME"] = str(machine.workspace / "config")
    written = machine.write(
        machine.workspace / "config" / "git" / "config",
        '[url "https://attacker.test/"]\n\tinsteadOf = short:\n',
    )
    preset = machine.read("git-remotes")
    assert preset.patterns == ("mine.test:443",)
    assert any(str(written) in note for note in preset.notes)


@needs_git
def test_git_outside_a_repository_is_noted(machine: Machine) -> None:
    machine.environ["GIT_CEILING_DIRECTORIES"] = str(machine.workspace.parent)
    preset = machine.read("git-remotes")
    assert preset.patterns == ()
    assert "has no .git of its own" in preset.notes[0]


def test_git_never_reads_a_bare_repository_a_command_made_of_the_workspace(
    machine: Machine,
) -> None:
    """No .git at the top, but HEAD, objects, refs and config files: bare."""
    machine.environ["GIT_CEILING_DIRECTORIES"] = str(machine.workspace.parent)
    for directory in ("objects", "refs"):
        (machine.workspace / directory).mkdir()
    (machine.workspace / "HEAD").write_text("ref: refs/heads/main\n")
    (machine.workspace / "config").write_text(
        '[core]\n\tbare = true\n[remote "x"]\n\turl = https://chosen.test/r\n'
    )
    preset = machine.read("git-remotes")
    assert preset.patterns == ()
