"""The pip preset: the hosts of pip's index, extra indexes and find-links pages.

Read from pip's files and ``PIP_*`` variables in pip's own order; with no
index configured, pip itself is asked for its built-in default.
"""

from __future__ import annotations

import configparser
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

from corral.network.presets._common import (
    WEB_PORTS,
    Reading,
    ToolFailedError,
    file_mode,
    run_tool,
)

__all__ = ["read_pip"]

# pip's configuration keys that name where it fetches from, and the option
# each sets (``pypi-url`` is an old spelling of ``index-url``).  trusted-host
# is left out on purpose: it relaxes TLS for a host, it does not name one.
_PIP_KEYS = {
    "index-url": "index",
    "pypi-url": "index",
    "extra-index-url": "extra",
    "find-links": "find",
}
# The variables that give pip inside the sandbox each option as read here.
_PIP_VARIABLES = {
    "index": "PIP_INDEX_URL",
    "extra": "PIP_EXTRA_INDEX_URL",
    "find": "PIP_FIND_LINKS",
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


def read_pip(reading: Reading) -> None:
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
        reading.add_url(value, source, WEB_PORTS)
    else:
        _read_pip_default(reading)
    for option in ("extra", "find"):
        value, source = chosen.get(option, ("", ""))
        for url in value.split():
            reading.add_url(url, source, WEB_PORTS)
    for option, (value, source) in chosen.items():
        reading.pass_on(_PIP_VARIABLES[option], value, source)


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


def _pip_files(reading: Reading, env_file: str | None) -> list[Path]:
    """pip's configuration files, those read later taking precedence."""
    environ, home = reading.environ, reading.home
    if home is None:
        reading.note("HOME is not an absolute path: the user's pip files are not read")
    dirs = [d.strip() for d in environ.get("XDG_CONFIG_DIRS", "").split(os.pathsep)]
    dirs = [d for d in dirs if d.startswith("/")] or ["/etc/xdg"]
    files = [Path(d, "pip", "pip.conf") for d in dirs] + [Path("/etc/pip.conf")]

    env_path = Path(reading.workspace, env_file) if env_file else None
    if env_path is None or file_mode(env_path) is None:
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
    reading: Reading, file: Path, sections: dict[str, dict[str, tuple[str, str]]]
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


def _read_pip_default(reading: Reading) -> None:
    """Ask pip itself which index it uses when none is configured."""
    failures = []
    for python in _pythons(reading):
        try:
            argv = [python, "-I", "-c", _PIP_DEFAULT_CODE]
            path = os.pathsep.join(reading.search_path())
            answer = run_tool(argv, {"PATH": path}).split()
        except ToolFailedError as exc:
            failures.append(f"{python}: {exc}")
            continue
        if len(answer) == 2:
            reading.add_url(answer[0], _PIP_DEFAULT_SOURCE, WEB_PORTS)
            reading.add(answer[1], WEB_PORTS["https"], _PIP_DEFAULT_SOURCE)
            return
        failures.append(f"{python}: an answer of {len(answer)} words, not 2")
    reading.note(
        "no index-url is configured and pip's built-in default is unknown ("
        + ("; ".join(failures) or "no python outside the writable roots")
        + "); set index-url in a pip configuration file outside the workspace"
    )


def _pythons(reading: Reading) -> Iterator[str]:
    """This interpreter, then python3 on PATH, each if no writable root holds it."""
    if sys.executable and not any(
        reading.writable_root(Path(path)) for path in (sys.executable, sys.prefix)
    ):
        yield sys.executable
    python = reading.find_tool("python3")
    if python is None or python == sys.executable:
        return
    venv = Path(python).parent.parent
    if file_mode(venv / "pyvenv.cfg") is None or reading.writable_root(venv) is None:
        yield python
