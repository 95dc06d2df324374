"""Allow-list presets read from this machine's own pip, npm and git configuration.

A preset names the hosts a tool is configured to fetch from, so that a policy
can say ``presets = ["pip"]`` instead of copying registry names into it.
Nothing a sandboxed command could have written widens a preset.
"""

from __future__ import annotations

import configparser
import contextlib
import logging
import os
import re
import signal
import stat
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from corral._home import passwd_home
from corral.network._names import DestinationError, destination

__all__ = ["PRESETS", "Preset", "read_preset"]

logger = logging.getLogger(__name__)

PRESETS = ("pip", "npm", "git-remotes")

TOOL_TIMEOUT = 5.0
"""Seconds a tool may take to print a setting: it reads files and nothing else,
so a tool that takes longer is stuck, and the command must not wait on it."""

# The directory the tools run in: it holds no project file (.npmrc, pip.conf)
# that a sandboxed command could have written.
_NEUTRAL_CWD = "/"

_WEB_PORTS = {"https": 443, "http": 80}
_GIT_PORTS = {**_WEB_PORTS, "ssh": 22, "git+ssh": 22, "ssh+git": 22, "git": 9418}
_SSH_PORT = 22

# pip's configuration keys that name where it fetches from, and the option
# each sets (``pypi-url`` is an old spelling of ``index-url``).  trusted-host
# is left out on purpose: it relaxes TLS for a host, it does not name one.
_PIP_KEYS = {
    "index-url": "index",
    "pypi-url": "index",
    "extra-index-url": "extra",
    "find-links": "find",
}
# pip applies [global], then the section of the command it runs, then PIP_*.
_PIP_SECTIONS = ("global", "install")
_PIP_ENV = ":env:"
_PIP_DEFAULT_SOURCE = "pip's built-in default"
_PIP_DEFAULT_CODE = (
    "from pip._internal.models.index import PyPI\n"
    "print(PyPI.url)\n"
    "print(PyPI.file_storage_domain)\n"
)

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
_NPM_SCOPE_KEY = re.compile(r"@[^\s:/@]+:registry")
_NPM_ENV_REFERENCE = re.compile(r"(?<!\\)(\\*)\$\{([^${}?]+)(\?)?\}")
_USERINFO = re.compile(r"://\S*@")


@dataclass(frozen=True)
class Preset:
    """The allow-list patterns a tool's configuration names, and their sources."""

    name: str
    patterns: tuple[str, ...]
    """Pattern texts, each ``host:port`` (an IPv6 address in brackets)."""
    sources: tuple[str, ...]
    """Where the values were read: file paths, variable names, a tool's answer."""
    notes: tuple[str, ...]
    """What could not be read, or was left out, and why."""


def read_preset(
    name: str,
    *,
    workspace: Path,
    environ: Mapping[str, str],
    writable: Sequence[Path] = (),
) -> Preset:
    """Read preset `name` from the configuration the tool itself would read now.

    `environ` is the environment the sandboxed command gets; files beneath the
    workspace or a writable root in `writable` are skipped and noted.  A tool
    that is absent or fails is noted, never raised.  Raises ValueError for a
    name not in `PRESETS`.
    """
    readers: dict[str, Callable[[_Reading], None]] = {
        "pip": _read_pip,
        "npm": _read_npm,
        "git-remotes": _read_git_remotes,
    }
    if name not in readers:
        raise ValueError(
            f"unknown network preset {name!r}; the presets are {', '.join(PRESETS)}"
        )
    reading = _Reading(workspace, environ, writable)
    readers[name](reading)
    logger.debug("preset %s: %s", name, reading.patterns)
    return Preset(
        name,
        tuple(reading.patterns),
        tuple(reading.sources),
        tuple(reading.notes),
    )


class _Reading:
    """What one preset has found so far, and what it may trust."""

    def __init__(
        self, workspace: Path, environ: Mapping[str, str], writable: Sequence[Path]
    ) -> None:
        self.workspace = Path(os.path.normpath(workspace.absolute()))
        self.environ = environ
        self.roots = _both_forms([self.workspace, *writable])
        self.home = _home(environ)
        self.patterns: dict[str, None] = {}
        self.sources: dict[str, None] = {}
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        self.notes.append(_redact(text))

    def add(self, host: str, port: int, source: str) -> None:
        """Allow `host` (a URL's host part) on `port`, read from `source`."""
        try:
            pattern = destination(host, port).authority()
        except DestinationError as exc:
            self.note(f"{source}: left out a host: {exc}")
            return
        self.patterns.setdefault(pattern)
        self.sources.setdefault(_redact(source))

    def add_url(self, url: str, source: str, ports: Mapping[str, int]) -> None:
        """Allow the host of `url`; a local path or ``file:`` URL allows nothing."""
        try:
            parts = urlsplit(url.strip())
            scheme = parts.scheme.lower()
            if scheme in ("", "file"):
                return
            port = parts.port
        except ValueError:
            self.note(f"{source}: left out a URL whose host or port cannot be read")
            return
        if scheme not in ports:
            self.note(
                f"{source}: left out a {scheme}: URL; a preset allows only "
                f"{', '.join(ports)} hosts"
            )
        elif not parts.hostname:
            self.note(f"{source}: left out a URL that names no host")
        else:
            self.add(parts.hostname, port or ports[scheme], source)

    def writable_root(self, path: Path) -> Path | None:
        """The writable root `path` lies beneath (a relative path: the workspace)."""
        if not path.is_absolute():
            return self.workspace
        for form in _both_forms([path]):
            for root in self.roots:
                if form == root or root in form.parents:
                    return root
        return None

    def trusted_file(self, path: Path, what: str) -> bool:
        """Tell whether `path` exists and lies outside every writable root."""
        root, mode = self.writable_root(path), _mode(path)
        if root is None:
            return mode is not None and stat.S_ISREG(mode)
        if mode is not None or not path.is_absolute():
            self.note(
                f"skipped {what} {path}: it lies in the writable root {root}, "
                "where a sandboxed command could have written it"
            )
        return False

    def search_path(self) -> list[str]:
        """The absolute ``PATH`` directories outside every writable root."""
        entries = self.environ.get("PATH", os.defpath).split(os.pathsep)
        return [
            entry
            for entry in entries
            if entry.startswith("/") and self.writable_root(Path(entry)) is None
        ]

    def find_tool(self, name: str) -> str | None:
        """The first `name` on PATH that lies outside every writable root."""
        for entry in self.environ.get("PATH", os.defpath).split(os.pathsep):
            candidate = Path(entry, name)
            mode = _mode(candidate) if entry.startswith("/") else None
            if mode is None or not stat.S_ISREG(mode):
                continue
            if not os.access(candidate, os.X_OK):
                continue
            root = self.writable_root(candidate)
            if root is None:
                return str(candidate)
            self.note(
                f"skipped {candidate}: it lies in the writable root {root}, "
                "where a sandboxed command could have written it"
            )
        return None

    def expand_user(self, text: str) -> Path:
        """`text` with a leading ``~/`` read as the home the tools use."""
        if text.startswith("~/") and self.home is not None:
            return self.home / text[2:]
        return Path(text)

    def tool_environment(self, prefix: str) -> dict[str, str]:
        """`environ` with a safe PATH, less `prefix` variables naming writable paths."""
        env = dict(self.environ)
        env["PATH"] = os.pathsep.join(self.search_path())
        for key, value in self.environ.items():
            if not key.lower().startswith(prefix.lower()):
                continue
            if value.startswith(("/", "~")):
                root = self.writable_root(self.expand_user(value))
                if root is not None:
                    del env[key]
                    self.note(f"ignored {key}: it names a path in {root}")
        return env


class _ToolFailedError(Exception):
    """A tool run to read a setting did not answer."""


def _run(argv: Sequence[str], env: Mapping[str, str]) -> str:
    """Return what `argv` prints; raises `_ToolFailedError` saying why it did not.

    The tool runs in a process group of its own, killed whole on timeout, so
    that no child of it keeps the pipes open.
    """
    try:
        process = subprocess.Popen(
            argv,
            env=env,
            cwd=_NEUTRAL_CWD,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise _ToolFailedError(f"cannot run {argv[0]}: {exc}") from None
    with process:
        try:
            out, err = process.communicate(timeout=TOOL_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise _ToolFailedError(f"no answer within {TOOL_TIMEOUT:g} s") from None
    if process.returncode != 0:
        lines = err.decode(errors="replace").strip().splitlines() or ["no message"]
        raise _ToolFailedError(f"exited with status {process.returncode}: {lines[-1]}")
    try:
        return out.decode()
    except UnicodeDecodeError:
        raise _ToolFailedError(f"{argv[0]} printed what is not UTF-8") from None


# pip


def _read_pip(reading: _Reading) -> None:
    """pip's index, extra indexes and find-links pages, in pip's own order."""
    sections: dict[str, dict[str, tuple[str, str]]] = {
        section: {} for section in (*_PIP_SECTIONS, _PIP_ENV)
    }
    env_file = reading.environ.get("PIP_CONFIG_FILE")
    if env_file == os.devnull:
        reading.note(f"PIP_CONFIG_FILE is {os.devnull}: pip reads no file")
    else:
        for file in _pip_files(reading, env_file):
            if reading.trusted_file(file, "the pip configuration"):
                _read_pip_file(reading, file, sections)
    for key, value in reading.environ.items():
        if key.startswith("PIP_"):
            sections[_PIP_ENV][_pip_name(key[4:])] = (value, key)

    chosen = _pip_choices(sections)
    if "index" in chosen:
        value, source = chosen["index"]
        reading.add_url(value, source, _WEB_PORTS)
    else:
        _read_pip_default(reading)
    for option in ("extra", "find"):
        value, source = chosen.get(option, ("", ""))
        for url in value.split():
            reading.add_url(url, source, _WEB_PORTS)


def _pip_choices(
    sections: Mapping[str, Mapping[str, tuple[str, str]]],
) -> dict[str, tuple[str, str]]:
    """Each option's value and source: later sections replace earlier, as in pip."""
    chosen: dict[str, tuple[str, str]] = {}
    for section in sections.values():
        for key, (value, source) in section.items():
            if value and key in _PIP_KEYS:
                chosen[_PIP_KEYS[key]] = (value, source)
    return chosen


def _pip_files(reading: _Reading, env_file: str | None) -> list[Path]:
    """pip's configuration files, those read later taking precedence."""
    environ, home = reading.environ, reading.home
    if home is None:
        reading.note("HOME is not an absolute path: the user's pip files are not read")
    dirs = [d.strip() for d in environ.get("XDG_CONFIG_DIRS", "").split(os.pathsep)]
    dirs = [d for d in dirs if d.startswith("/")] or ["/etc/xdg"]
    files = [Path(d, "pip", "pip.conf") for d in dirs] + [Path("/etc/pip.conf")]

    env_path = Path(reading.workspace, env_file) if env_file else None
    if env_path is None or _mode(env_path) is None:
        # pip reads the user's files only when PIP_CONFIG_FILE names none.
        config_home = environ.get("XDG_CONFIG_HOME", "").strip()
        if not config_home.startswith("/"):
            config_home = str(home / ".config") if home else ""
        if home:
            files.append(home / ".pip" / "pip.conf")
        if config_home:
            files.append(Path(config_home, "pip", "pip.conf"))
    venv = environ.get("VIRTUAL_ENV", "")
    if venv.startswith("/"):
        files.append(Path(venv, "pip.conf"))
    if env_path is not None:
        files.append(env_path)
    return files


def _read_pip_file(
    reading: _Reading, file: Path, sections: dict[str, dict[str, tuple[str, str]]]
) -> None:
    parser = _PipConfigParser()
    try:
        parser.read_string(file.read_text(encoding="utf-8"), source=str(file))
    except (OSError, UnicodeDecodeError, configparser.Error) as exc:
        reading.note(f"cannot read the pip configuration {file}: {exc}")
        return
    for section in _PIP_SECTIONS:
        if parser.has_section(section):
            for key, value in parser.items(section):
                sections[section][key] = (value, str(file))


class _PipConfigParser(configparser.RawConfigParser):
    """pip's own parser: option names compared as pip compares them."""

    def optionxform(self, optionstr: str) -> str:
        return _pip_name(optionstr)


def _pip_name(name: str) -> str:
    """A pip option's name as pip compares it: ``--Index_URL`` is ``index-url``."""
    return name.lower().replace("_", "-").removeprefix("--")


def _read_pip_default(reading: _Reading) -> None:
    """Ask pip itself which index it uses when none is configured."""
    failures = []
    for python in _pythons(reading):
        try:
            argv = [python, "-I", "-c", _PIP_DEFAULT_CODE]
            path = os.pathsep.join(reading.search_path())
            answer = _run(argv, {"PATH": path}).split()
        except _ToolFailedError as exc:
            failures.append(f"{python}: {exc}")
            continue
        if len(answer) == 2:
            reading.add_url(answer[0], _PIP_DEFAULT_SOURCE, _WEB_PORTS)
            reading.add(answer[1], _WEB_PORTS["https"], _PIP_DEFAULT_SOURCE)
            return
        failures.append(f"{python}: an answer of {len(answer)} words, not 2")
    reading.note(
        "no index-url is configured and pip's built-in default is unknown ("
        + ("; ".join(failures) or "no python outside the writable roots")
        + "); set index-url in a pip configuration file outside the workspace"
    )


def _pythons(reading: _Reading) -> Iterator[str]:
    """This interpreter, then python3 on PATH, each if no writable root holds it."""
    if sys.executable and not any(
        reading.writable_root(Path(path)) for path in (sys.executable, sys.prefix)
    ):
        yield sys.executable
    python = reading.find_tool("python3")
    if python is None or python == sys.executable:
        return
    venv = Path(python).parent.parent
    if _mode(venv / "pyvenv.cfg") is None or reading.writable_root(venv) is None:
        yield python


# npm


def _read_npm(reading: _Reading) -> None:
    """npm's registry as npm reports it, and the scoped registries of its rc files."""
    npm = reading.find_tool("npm")
    if npm is None:
        reading.note("npm is not on PATH outside the writable roots; nothing read")
        return
    env = reading.tool_environment("npm_config_")
    # NODE_OPTIONS can make node load code; reading a setting needs none of it.
    env.pop("NODE_OPTIONS", None)
    env["npm_config_update_notifier"] = "false"
    env["npm_config_logs_max"] = "0"
    for key in _NPM_FILES:
        named = [k for k in reading.environ if k.lower() == f"npm_config_{key}"]
        if named and not any(k in env for k in named):
            env[f"npm_config_{key}"] = os.devnull  # it named a writable file
    _guard_npm_file(reading, env, "userconfig", _npm_userconfig(reading, env))

    files = _ask_npm(reading, npm, env)
    if files is None:
        return
    for file in files:
        if reading.trusted_file(file, "the npm config"):
            _read_npm_scopes(reading, file)


def _ask_npm(reading: _Reading, npm: str, env: dict[str, str]) -> list[Path] | None:
    """Allow the registry npm reports; return the rc files it read, None if it failed.

    A user file may move the global one (through ``prefix``) into a writable
    root; npm is then asked again without it.
    """
    for _attempt in range(2):
        try:
            answer = _run([npm, "config", "get", "registry", *_NPM_FILES], env)
        except _ToolFailedError as exc:
            reading.note(f"npm config get registry: {exc}")
            return None
        values: dict[str, str] = {}
        for line in answer.splitlines():
            key, _, value = line.partition("=")
            values[key] = value
        files = [Path(values.get(key, os.devnull)) for key in _NPM_FILES]
        guarded = [
            _guard_npm_file(reading, env, key, file)
            for key, file in zip(_NPM_FILES, files, strict=True)
        ]
        if not any(guarded):
            reading.add_url(values.get("registry", ""), "npm config", _WEB_PORTS)
            return [file for file in files if str(file) != os.devnull]
    reading.note("npm kept reading an rc file in a writable root; nothing read")
    return None


_NPM_FILES = ("userconfig", "globalconfig")


def _npm_userconfig(reading: _Reading, env: Mapping[str, str]) -> Path | None:
    for key, value in env.items():
        if key.lower() == "npm_config_userconfig":
            return reading.expand_user(value)
    return reading.home / ".npmrc" if reading.home else None


def _guard_npm_file(
    reading: _Reading, env: dict[str, str], key: str, file: Path | None
) -> bool:
    """Point npm's `key` file away from a writable `file`; tell whether it was."""
    if file is None or str(file) == os.devnull:
        return False
    root = reading.writable_root(file)
    if root is None:
        return False
    for name in [k for k in env if k.lower() == f"npm_config_{key}"]:
        del env[name]
    env[f"npm_config_{key}"] = os.devnull
    reading.note(
        f"skipped the npm config {file}: it lies in the writable root {root}, "
        "where a sandboxed command could have written it"
    )
    return True


def _read_npm_scopes(reading: _Reading, file: Path) -> None:
    """Allow the ``@scope:registry`` entries of one npm rc file."""
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        reading.note(f"cannot read the npm config {file}: {exc}")
        return
    for line in lines:
        text = line.strip()
        if text.startswith("["):
            break  # npm reads the entries of a [section] as that section's own
        if not text or text.startswith((";", "#")) or "=" not in text:
            continue
        key, value = (_unquote(part.strip()) for part in text.split("=", 1))
        if _NPM_SCOPE_KEY.fullmatch(key):
            reading.add_url(_npm_expand(value, reading.environ), str(file), _WEB_PORTS)


def _unquote(text: str) -> str:
    if len(text) > 1 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def _npm_expand(value: str, environ: Mapping[str, str]) -> str:
    """`value` with ``${NAME}`` replaced as npm replaces it; an unset one stays."""

    def replace(match: re.Match[str]) -> str:
        slashes, name, optional = match.groups()
        if len(slashes) % 2:
            return match.group(0)[(len(slashes) + 1) // 2 :]
        fallback = "" if optional else "${" + name + "}"
        return slashes[len(slashes) // 2 :] + environ.get(name, fallback)

    return _NPM_ENV_REFERENCE.sub(replace, value)


# git


def _read_git_remotes(reading: _Reading) -> None:
    """The fetch and push URLs of every remote of the workspace's repository."""
    git = reading.find_tool("git")
    if git is None:
        reading.note("git is not on PATH outside the writable roots; nothing read")
        return
    env = _git_environment(reading)
    base = [git, "-c", "core.fsmonitor=false", "-C", str(reading.workspace), "remote"]
    try:
        names = _run(base, env).split()
    except _ToolFailedError as exc:
        if "not a git repository" in str(exc):
            reading.note(f"{reading.workspace} is not in a git repository")
        else:
            reading.note(f"no remotes read from {reading.workspace}: {exc}")
        return

    for name in names:
        source = f"git remote {name} of {reading.workspace}"
        for push in ([], ["--push"]):
            try:
                urls = _run([*base, "get-url", *push, "--all", name], env)
            except _ToolFailedError as exc:
                reading.note(f"{source}: {exc}")
                continue
            for url in urls.splitlines():
                _add_git_url(reading, url.strip(), source)


def _git_environment(reading: _Reading) -> dict[str, str]:
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
    present = [file for file in user_files if _mode(file) is not None]
    kept = [file for file in present if reading.trusted_file(file, "the git config")]
    if kept != present:
        env["GIT_CONFIG_GLOBAL"] = str(kept[0]) if kept else os.devnull
    return env


def _add_git_url(reading: _Reading, url: str, source: str) -> None:
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


# shared


def _home(environ: Mapping[str, str]) -> Path | None:
    """The home directory the tools will expand ``~`` to."""
    home = environ.get("HOME", "")
    if home.startswith("/"):
        return Path(home)
    return passwd_home() if not home else None


def _mode(path: Path) -> int | None:
    """The file mode of `path`, following links; None if it cannot be seen."""
    try:
        return path.stat().st_mode
    except OSError:
        return None  # absent, or in a directory this user cannot search


def _both_forms(paths: Iterable[Path]) -> list[Path]:
    """Each path as written (made absolute) and with its symbolic links resolved."""
    forms: dict[Path, None] = {}
    for path in paths:
        forms.setdefault(Path(os.path.normpath(path.absolute())))
        forms.setdefault(path.resolve())
    return list(forms)


def _redact(text: str) -> str:
    """`text` without the user information of any URL it quotes."""
    return _USERINFO.sub("://***@", text)
