"""Secret variables' names, and the values of an environment worth masking.

The names are those corral removes from a sandbox's environment, and a few
it passes on; their values are masked wherever they appear in a record.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

from corral.audit._redact_value import _NOT_AFTER_MASK, _is_path
from corral.policy._defaults import DEFAULT_SECRET_PATTERNS

MIN_SECRET_VALUE = 8
"""Characters; a shorter value of a secret variable (``1``, ``true``) is too
common a string to mask wherever it appears, and too short to be a credential."""

# corral's own variables carry no credentials; CORRAL_SESSION (a *SESSION*
# name) is the session id every record carries in the clear.
_OWN_PREFIX = "CORRAL_"

# Secret-looking names whose values are places, not credentials (the agent's
# socket, a keyring's directory, a credentials file's path): masking them
# wherever they appear would hide ordinary paths.
_PLACE_SUFFIXES = ("_SOCK", "_SOCKET", "_PATH", "_DIR", "_FILE", "_HOME")

# Names the log treats as secret though the sandbox passes them on (a
# client's password variable): masked in records, kept in the environment.
# Not *PWD, which is the shell's working directory.
_REDACT_ONLY_PATTERNS = ("*_PASS", "SSHPASS", "*_PWD", "*PASSPHRASE*")
_NAME_PATTERNS = (*DEFAULT_SECRET_PATTERNS, *_REDACT_ONLY_PATTERNS)


def _fnmatch_regex(pattern: str) -> str:
    """Translate one of the secret-name patterns for use inside a larger regex.

    ``*`` stands for any run of name characters (letters, digits, ``_``, and
    ``.`` and ``-``, which query parameters and properties use).
    """
    out = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        index += 1
        if char == "*":
            out.append(r"[\w.-]*")
        elif char == "?":
            out.append(r"[\w.-]")
        elif char == "[" and "]" in pattern[index + 1 :]:
            end = pattern.index("]", index + 1)
            body = pattern[index:end].replace("\\", "\\\\")
            out.append("[^" + body[1:] + "]" if body.startswith("!") else f"[{body}]")
            index = end + 1
        else:
            out.append(re.escape(char))
    return "".join(out)


@functools.cache
def _secret_names() -> str:
    """The secret-name patterns corral removes from environments, as one regex.

    Cached: the environment check and the assignment rule both build on it.
    """
    return "(?:" + "|".join(map(_fnmatch_regex, _NAME_PATTERNS)) + ")"


_SECRET_NAME = re.compile(_secret_names(), re.IGNORECASE | re.ASCII)


def _secret_values(environ: Mapping[str, str]) -> tuple[str, ...]:
    """The values of `environ`'s secret variables worth masking, longest first."""
    values = {
        value
        for name, value in environ.items()
        if len(value) >= MIN_SECRET_VALUE
        and _is_secret_variable(name)
        and not _is_path(value)
    }
    return tuple(sorted(values, key=lambda value: (-len(value), value)))


@functools.lru_cache(maxsize=1024)
def _is_secret_variable(name: str) -> bool:
    upper = name.upper()
    if upper.startswith(_OWN_PREFIX) or upper.endswith(_PLACE_SUFFIXES):
        return False
    return _SECRET_NAME.fullmatch(name) is not None


_HEX = re.compile(r"[0-9A-Fa-f-]+")


@functools.lru_cache(maxsize=32)
def _values_regex(values: tuple[str, ...]) -> re.Pattern[str]:
    """One alternation of the values; a hex one is not masked inside a longer word.

    A run of hex digits is also part of digests, commit ids and UUIDs; any
    other secret value is masked wherever it is, glued to a word or not.
    """
    parts = []
    for value in values:
        alone = _HEX.fullmatch(value) is not None
        before = r"(?<![A-Za-z0-9])" if alone and value[0].isalnum() else ""
        before += _NOT_AFTER_MASK
        after = r"(?![A-Za-z0-9])" if alone and value[-1].isalnum() else ""
        parts.append(before + re.escape(value) + after)
    return re.compile("|".join(parts))
