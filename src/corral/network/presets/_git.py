"""The git-remotes preset: the hosts of the workspace repository's remotes.

git is asked for every fetch and push URL, reading no configuration that a
sandboxed command could have written; each network remote form git takes is read.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from corral.network.presets._common import (
    WEB_PORTS,
    Reading,
    ToolFailedError,
    file_mode,
    run_tool,
)

__all__ = ["read_git_remotes"]

_GIT_PORTS = {**WEB_PORTS, "ssh": 22, "git+ssh": 22, "ssh+git": 22, "git": 9418}
_SSH_PORT = 22

# Variables that point git at another repository (git's own list of them,
# ``git rev-parse --local-env-vars``) or keep it from reading the system file.
_GIT_REPO_VARIABLES = (
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_CONFIG",
    "GIT_CONFIG_COUNT",
    "GIT_CONFIG_NOSYSTEM",
    "GIT_CONFIG_PARAMETERS",
    "GIT_DIR",
    "GIT_GRAFT_FILE",
    "GIT_IMPLICIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_INTERNAL_SUPER_PREFIX",
    "GIT_NO_REPLACE_OBJECTS",
    "GIT_OBJECT_DIRECTORY",
    "GIT_PREFIX",
    "GIT_REPLACE_REF_BASE",
    "GIT_SHALLOW_FILE",
    "GIT_WORK_TREE",
)
_HELPER_URL = re.compile(r"[A-Za-z0-9][A-Za-z0-9+.-]*::")


def read_git_remotes(reading: Reading) -> None:
    """The fetch and push URLs of every remote of the workspace's repository."""
    git = reading.find_tool("git")
    if git is None:
        reading.note("git is not on PATH outside the writable roots; nothing read")
        return
    dot_git = reading.workspace / ".git"
    if not os.path.lexists(dot_git):
        # Only the repository whose .git the sandbox protects: files a command
        # wrote could otherwise make the workspace a bare repository of its own.
        reading.note(
            f"{reading.workspace} has no .git of its own; a repository there "
            "without one is not read, since a command could have made it"
        )
        return
    env = _git_environment(reading)
    base = [git, "-c", "core.fsmonitor=false", f"--git-dir={dot_git}"]
    base += ["-C", str(reading.workspace), "remote"]
    try:
        names = run_tool(base, env).split()
    except ToolFailedError as exc:
        if "not a git repository" in str(exc):
            reading.note(f"{reading.workspace} is not in a git repository")
        else:
            reading.note(f"no remotes read from {reading.workspace}: {exc}")
        return

    for name in names:
        source = f"git remote {name} of {reading.workspace}"
        for push in ([], ["--push"]):
            try:
                urls = run_tool([*base, "get-url", *push, "--all", name], env)
            except ToolFailedError as exc:
                reading.note(f"{source}: {exc}")
                continue
            for url in urls.splitlines():
                _add_git_url(reading, url.strip(), source)


def _git_environment(reading: Reading) -> dict[str, str]:
    """The environment git runs in: this repository, no writable configuration."""
    env = reading.tool_environment("GIT_")
    for key in _GIT_REPO_VARIABLES:
        env.pop(key, None)
    for key in ("GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM"):
        if key in reading.environ and key not in env:
            env[key] = os.devnull  # it named a writable file: read none instead
    if "GIT_CONFIG_GLOBAL" in env:
        return env
    if reading.home is None:
        reading.note("HOME is not an absolute path: the user's git config is not read")
        env["GIT_CONFIG_GLOBAL"] = os.devnull
        return env

    # git reads both user files (a relative XDG_CONFIG_HOME from the workspace);
    # one that is writable is replaced by the other.
    config_home = reading.environ.get("XDG_CONFIG_HOME", "")
    home_dir = Path(reading.workspace, config_home or reading.home / ".config")
    user_files = [home_dir / "git" / "config", reading.home / ".gitconfig"]
    present = [file for file in user_files if file_mode(file) is not None]
    kept = [file for file in present if reading.trusted_file(file, "the git config")]
    if kept != present:
        env["GIT_CONFIG_GLOBAL"] = str(kept[0]) if kept else os.devnull
    return env


def _add_git_url(reading: Reading, url: str, source: str) -> None:
    """Allow the host of a remote URL in any form git accepts for a network remote."""
    if _HELPER_URL.match(url):
        reading.note(f"{source}: left out a remote helper URL, which names no host")
    elif "://" in url:
        reading.add_url(url, source, _GIT_PORTS)
    elif _is_scp_like(url):
        host, port = _scp_host(url)
        if host is None:
            reading.note(f"{source}: left out an ssh remote whose host cannot be read")
        else:
            reading.add(host, port, source)


def _is_scp_like(url: str) -> bool:
    """``[user@]host:path``: a ':' before any '/', as git tells it from a path."""
    colon, slash = url.find(":"), url.find("/")
    return colon > 0 and (slash < 0 or colon < slash)


def _scp_host(url: str) -> tuple[str | None, int]:
    """The host and port of an scp-like URL; ``[host:port]:path`` sets the port."""
    rest = url
    if not url.startswith("[") and "@[" in url.split(":", 1)[0]:
        rest = url[url.index("@[") + 1 :]
    if not rest.startswith("["):
        return url.split(":", 1)[0].rpartition("@")[2], _SSH_PORT

    end = rest.find("]")
    if end < 0 or rest[end + 1 : end + 2] != ":":
        return None, 0
    inner = rest[1:end]
    if inner.count(":") != 1:
        return (inner or None), _SSH_PORT
    host, port = inner.split(":")
    if not (port.isascii() and port.isdigit()):
        return None, 0
    return host, int(port)
