"""The npm preset: the registry npm reports, and the scoped registries it reads.

npm itself is asked, with every rc file that lies in a writable root pointed
away; the ``@scope:registry`` entries are then read from the files it used.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from corral.network.presets._common import (
    WEB_PORTS,
    Reading,
    ToolFailedError,
    run_tool,
)

__all__ = ["read_npm"]

_NPM_FILES = ("userconfig", "globalconfig")
_NPM_SCOPE_KEY = re.compile(r"@[^\s:/@]+:registry")
_NPM_ENV_REFERENCE = re.compile(r"(?<!\\)(\\*)\$\{([^${}?]+)(\?)?\}")


def read_npm(reading: Reading) -> None:
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


def _ask_npm(reading: Reading, npm: str, env: dict[str, str]) -> list[Path] | None:
    """Allow the registry npm reports; return the rc files it read, None if it failed.

    A user file may move the global one (through ``prefix``) into a writable
    root; npm is then asked again without it.
    """
    for _attempt in range(2):
        try:
            answer = run_tool([npm, "config", "get", "registry", *_NPM_FILES], env)
        except ToolFailedError as exc:
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
            registry = values.get("registry", "")
            reading.add_url(registry, "npm config", WEB_PORTS)
            if registry:
                reading.pass_on("npm_config_registry", registry, "npm config")
            return [file for file in files if str(file) != os.devnull]
    reading.note("npm kept reading an rc file in a writable root; nothing read")
    return None


def _npm_userconfig(reading: Reading, env: Mapping[str, str]) -> Path | None:
    for key, value in env.items():
        if key.lower() == "npm_config_userconfig":
            return reading.expand_user(value)
    return reading.home / ".npmrc" if reading.home else None


def _guard_npm_file(
    reading: Reading, env: dict[str, str], key: str, file: Path | None
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


def _read_npm_scopes(reading: Reading, file: Path) -> None:
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
            url = _npm_expand(value, reading.environ)
            reading.add_url(url, str(file), WEB_PORTS)
            reading.pass_on(f"npm_config_{key}", url, str(file))


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
