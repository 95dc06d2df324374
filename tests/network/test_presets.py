"""Presets follow the machine's own pip, npm and git settings, never the workspace's.

Every file is written by the test under its own temporary home; the tools are
the real pip, npm and git of this machine.
"""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from corral.network import _presets as presets
from corral.network._presets import PRESETS, Preset, read_preset

NPM = shutil.which("npm")
GIT = shutil.which("git")
needs_npm = pytest.mark.skipif(NPM is None, reason="npm is not installed here")
needs_git = pytest.mark.skipif(GIT is None, reason="git is not installed here")
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass
class Machine:
    """A temporary home, a workspace inside the writable area, and their environment."""

    home: Path
    workspace: Path
    environ: dict[str, str]

    def read(self, name: str, *writable: Path) -> Preset:
        return read_preset(
            name,
            workspace=self.workspace,
            environ=self.environ,
            writable=(self.workspace, *writable),
        )

    def write(self, path: Path, text: str) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path


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
    }
    return Machine(home, workspace, environ)


def test_an_unknown_preset_is_refused_with_the_known_names(machine: Machine) -> None:
    with pytest.raises(ValueError, match="pip, npm, git-remotes"):
        machine.read("cargo")
    assert PRESETS == ("pip", "npm", "git-remotes")


# pip


def user_pip_conf(machine: Machine, text: str) -> Path:
    return machine.write(machine.home / ".config" / "pip" / "pip.conf", text)


def test_pip_allows_index_extra_indexes_and_find_links_hosts(machine: Machine) -> None:
    conf = user_pip_conf(
        machine,
        "[global]\n"
        "index-url = https://index.test/simple\n"
        "extra-index-url = https://extra-one.test:8443/a\n"
        "    http://Extra-Two.TEST./b\n"
        "find-links = https://links.test/wheels /local/wheels file:///more\n"
        "trusted-host = trusted.test\n",
    )
    preset = machine.read("pip")
    assert preset.patterns == (
        "index.test:443",
        "extra-one.test:8443",
        "extra-two.test:80",
        "links.test:443",
    )
    assert preset.sources == (str(conf),)


def test_pip_install_section_and_environment_override_global(
    machine: Machine,
) -> None:
    user_pip_conf(
        machine,
        "[global]\nindex-url = https://global-index.test/\n"
        "[install]\nindex_url = https://install-index.test/\n",
    )
    assert machine.read("pip").patterns == ("install-index.test:443",)

    machine.environ["PIP_INDEX_URL"] = "https://env-index.test:8080/"
    machine.environ["PIP_EXTRA_INDEX_URL"] = "https://env-extra.test/ http://[::1]:81/"
    preset = machine.read("pip")
    assert preset.patterns == ("env-index.test:8080", "env-extra.test:443", "[::1]:81")
    assert preset.sources == ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL")


def test_pip_reads_later_files_over_earlier_ones(machine: Machine) -> None:
    machine.write(
        Path(machine.environ["XDG_CONFIG_DIRS"], "pip", "pip.conf"),
        "[global]\nindex-url = https://site-index.test/\n"
        "extra-index-url = https://site-extra.test/\n",
    )
    user_pip_conf(machine, "[global]\nindex-url = https://user-index.test/\n")
    assert machine.read("pip").patterns == (
        "user-index.test:443",
        "site-extra.test:443",
    )


def test_pip_config_file_replaces_the_user_files(machine: Machine) -> None:
    user_pip_conf(machine, "[global]\nindex-url = https://user-index.test/\n")
    chosen = machine.write(
        machine.home / "chosen.conf", "[global]\nindex-url = https://chosen.test/\n"
    )
    machine.environ["PIP_CONFIG_FILE"] = str(chosen)
    assert machine.read("pip").patterns == ("chosen.test:443",)


def test_pip_config_file_devnull_reads_no_file(machine: Machine) -> None:
    user_pip_conf(machine, "[global]\nextra-index-url = https://user-extra.test/\n")
    machine.environ["PIP_CONFIG_FILE"] = os.devnull
    machine.environ["PIP_INDEX_URL"] = "https://env-index.test/"
    preset = machine.read("pip")
    assert preset.patterns == ("env-index.test:443",)
    assert any(os.devnull in note for note in preset.notes)


def test_pip_files_in_the_workspace_are_skipped_and_noted(machine: Machine) -> None:
    venv = machine.workspace / ".venv"
    machine.write(venv / "pip.conf", "[global]\nindex-url = https://venv.test/\n")
    chosen = machine.write(
        machine.workspace / "pip.conf",
        "[global]\nextra-index-url = https://project.test/\n",
    )
    machine.environ["VIRTUAL_ENV"] = str(venv)
    machine.environ["PIP_CONFIG_FILE"] = str(chosen)
    machine.environ["PIP_INDEX_URL"] = "https://env-index.test/"
    preset = machine.read("pip")
    assert preset.patterns == ("env-index.test:443",)
    assert sum("writable root" in note for note in preset.notes) == 2


def test_pip_file_in_another_writable_root_is_skipped(
    machine: Machine, tmp_path: Path
) -> None:
    scratch = tmp_path / "scratch"
    conf = machine.write(
        scratch / "pip" / "pip.conf", "[global]\nindex-url = https://scratch.test/\n"
    )
    machine.environ["XDG_CONFIG_HOME"] = str(scratch)
    machine.environ["PIP_INDEX_URL"] = "https://env-index.test/"
    preset = machine.read("pip", scratch)
    assert "scratch.test:443" not in preset.patterns
    assert any(str(conf) in note for note in preset.notes)


def test_pip_file_linked_into_the_workspace_is_skipped(machine: Machine) -> None:
    target = machine.write(
        machine.workspace / "pip.conf", "[global]\nindex-url = https://linked.test/\n"
    )
    link = machine.home / ".config" / "pip" / "pip.conf"
    link.parent.mkdir(parents=True)
    link.symlink_to(target)
    machine.environ["PIP_INDEX_URL"] = "https://env-index.test/"
    preset = machine.read("pip")
    assert preset.patterns == ("env-index.test:443",)
    assert any(str(link) in note for note in preset.notes)


def test_pip_never_shows_a_urls_user_information(machine: Machine) -> None:
    conf = user_pip_conf(
        machine,
        "[global]\nindex-url = https://alice:s3cret@index.test/simple\n"
        "extra-index-url = https://bob:hunter2@bad_host-.test/ "
        "https://carol:pa55@[zz]/ ftp://dave:pw0rd@ftp.test/\n",
    )
    preset = machine.read("pip")
    assert preset.patterns == ("index.test:443",)
    assert preset.sources == (str(conf),)
    shown = " ".join(preset.patterns + preset.sources + preset.notes)
    assert len(preset.notes) == 3
    for secret in ("s3cret", "hunter2", "pa55", "pw0rd", "alice", "bob", "carol"):
        assert secret not in shown


def test_pip_leaves_out_hosts_that_are_not_plain_names(machine: Machine) -> None:
    user_pip_conf(
        machine,
        "[global]\nindex-url = https://index.test/\n"
        "extra-index-url = https://*.wild.test/ https://host%25eth0.test/\n",
    )
    preset = machine.read("pip")
    assert preset.patterns == ("index.test:443",)
    assert len(preset.notes) == 2


def test_pip_file_that_pip_cannot_parse_is_noted(machine: Machine) -> None:
    conf = user_pip_conf(machine, "[global]\nindex-url = a\nindex-url = b\n")
    machine.environ["PIP_INDEX_URL"] = "https://env-index.test/"
    preset = machine.read("pip")
    assert preset.patterns == ("env-index.test:443",)
    assert any(str(conf) in note for note in preset.notes)


def machine_sets_an_index() -> bool:
    for file in (Path("/etc/pip.conf"),):
        parser = configparser.RawConfigParser()
        parser.read(file)
        for section in ("global", "install"):
            if parser.has_option(section, "index-url"):
                return True
    return False


@pytest.mark.skipif(machine_sets_an_index(), reason="/etc/pip.conf sets an index")
def test_pip_without_an_index_asks_pip_for_its_built_in_default(
    machine: Machine,
) -> None:
    preset = machine.read("pip")
    assert preset.patterns
    assert all(pattern.endswith(":443") for pattern in preset.patterns)
    assert preset.sources == ("pip's built-in default",)
    assert preset.notes == ()


# npm


@needs_npm
def test_npm_allows_the_users_registry_and_scopes_not_the_projects(
    machine: Machine,
) -> None:
    rc = machine.write(
        machine.home / ".npmrc",
        "registry=https://npm-registry.test:4873/\n"
        "@acme:registry=https://user:tok@acme.test/npm/\n"
        '"@quoted:registry" = "https://${SCOPE_HOST}/"\n'
        "//acme.test/npm/:_authToken=not-a-host\n",
    )
    machine.write(
        machine.workspace / ".npmrc",
        "registry=https://project.test/\n@evil:registry=https://evil.test/\n",
    )
    machine.environ["SCOPE_HOST"] = "quoted.test"
    preset = machine.read("npm")
    assert preset.patterns == (
        "npm-registry.test:4873",
        "acme.test:443",
        "quoted.test:443",
    )
    assert preset.sources == ("npm config", str(rc))
    assert "tok" not in " ".join(preset.notes)


@needs_npm
def test_npm_userconfig_in_the_workspace_is_skipped(machine: Machine) -> None:
    rc = machine.write(
        machine.workspace / "npmrc",
        "registry=https://project.test/\n@evil:registry=https://evil.test/\n",
    )
    machine.write(machine.home / ".npmrc", "registry=https://npm-registry.test/\n")
    machine.environ["NPM_CONFIG_USERCONFIG"] = str(rc)
    preset = machine.read("npm")
    assert not any("test:" in pattern for pattern in preset.patterns)
    assert any("NPM_CONFIG_USERCONFIG" in note for note in preset.notes)


@needs_npm
def test_npm_home_inside_a_writable_root_is_not_read(machine: Machine) -> None:
    machine.write(machine.home / ".npmrc", "registry=https://npm-registry.test/\n")
    preset = machine.read("npm", machine.home)
    assert "npm-registry.test:443" not in preset.patterns
    assert any(str(machine.home / ".npmrc") in note for note in preset.notes)


@needs_npm
def test_npm_global_file_moved_into_the_workspace_is_not_read(
    machine: Machine,
) -> None:
    prefix = machine.workspace / "prefix"
    machine.write(
        prefix / "etc" / "npmrc",
        "registry=https://project.test/\n@evil:registry=https://evil.test/\n",
    )
    machine.write(machine.home / ".npmrc", f"prefix={prefix}\n")
    preset = machine.read("npm")
    assert not any("test:" in pattern for pattern in preset.patterns)
    assert any(str(prefix / "etc" / "npmrc") in note for note in preset.notes)


def test_npm_absent_is_noted(machine: Machine, tmp_path: Path) -> None:
    machine.environ["PATH"] = str(tmp_path / "empty")
    preset = machine.read("npm")
    assert preset.patterns == ()
    assert preset.notes == (
        "npm is not on PATH outside the writable roots; nothing read",
    )


def test_a_tool_in_the_workspace_is_never_run(machine: Machine) -> None:
    marker = machine.workspace / "ran"
    fake = machine.write(
        machine.workspace / "bin" / "npm", f"#!/bin/sh\ntouch {marker}\n"
    )
    fake.chmod(0o755)
    machine.environ["PATH"] = str(fake.parent)
    preset = machine.read("npm")
    assert not marker.exists()
    assert preset.patterns == ()
    assert any(str(fake) in note for note in preset.notes)


def fake_tool(directory: Path, name: str, script: str) -> Path:
    directory.mkdir(exist_ok=True)
    tool = directory / name
    tool.write_text(f"#!/bin/sh\n{script}\n")
    tool.chmod(0o755)
    return tool


def test_a_failing_tool_is_noted_without_user_information(
    machine: Machine, tmp_path: Path
) -> None:
    tools = tmp_path / "tools"
    fake_tool(tools, "npm", "echo 'cannot reach https://u:pw0rd@reg.test/' >&2; exit 3")
    machine.environ["PATH"] = str(tools)
    preset = machine.read("npm")
    assert preset.patterns == ()
    assert len(preset.notes) == 1
    assert "status 3" in preset.notes[0]
    assert "pw0rd" not in preset.notes[0]


def test_a_tool_that_hangs_is_killed_with_its_children(
    machine: Machine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(presets, "TOOL_TIMEOUT", 0.3)
    tools, child = tmp_path / "tools", tmp_path / "child.pid"
    fake_tool(tools, "git", f"/bin/sleep 60 & echo $! > {child}; exec /bin/sleep 60")
    machine.environ["PATH"] = str(tools)
    started = time.monotonic()
    preset = machine.read("git-remotes")
    assert time.monotonic() - started < 10
    assert preset.patterns == ()
    assert preset.notes == (
        f"no remotes read from {machine.workspace}: no answer within 0.3 s",
    )
    assert not is_running(int(child.read_text()))


def is_running(pid: int) -> bool:
    """Whether `pid` lives on, waiting a moment for a killed one to be reaped."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except FileNotFoundError:
            return False
        if state[0] in ("Z", "X"):
            return False
        time.sleep(0.05)
    return True


# git


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
    assert preset.notes == (f"{machine.workspace} is not in a git repository",)
