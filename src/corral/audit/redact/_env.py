"""Secret variables' names, and the values of an environment worth masking.

A name is secret when one of its words (parts between ``_ . -`` and camelCase
humps) is a secret word: GITHUB_TOKEN, API_KEY, keyStorePassword; not
TOKENIZERS_PARALLELISM, KEYBOARD_LAYOUT or KEY_SIZE.  The values of secret
variables are masked wherever they appear in a record.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

from corral.audit.redact._value import _NOT_AFTER_MASK, _is_path

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

# The shell's working directory: PWD is a password's word (MYSQL_PWD) but this
# variable's value is always a place, whatever its components look like.
_PLACE_NAMES = frozenset({"PWD"})

# A name's words: runs of capitals, capitalised or lower-case words, digits.
_NAME_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+", re.ASCII)

# Found anywhere in a word, since no ordinary word holds them (PGPASSWORD).
_SECRET_INFIXES = ("PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "CREDENTIAL", "COOKIE")

# Secret only as a whole word: TOKEN is, TOKENIZERS and MAX_TOKENS are not;
# KEY is, KEYBOARD, KEYRING and KEYID are not.  The run-together spellings
# of the usual pairs count as one word (APIKEY, authToken's AUTHTOKEN).
_SECRET_WORDS = frozenset(
    {
        *("TOKEN", "KEY", "SESSION", "AUTH", "PASS", "PWD", "SSHPASS", "PRIVATE"),
        *("SIG", "SIGNATURE", "AUTHORIZATION", "APIKEY", "ACCESSKEY", "PRIVATEKEY"),
        *("AUTHTOKEN", "ACCESSTOKEN", "REFRESHTOKEN", "IDTOKEN", "SESSIONTOKEN"),
    }
)

# A last word that makes the name describe a secret instead of holding one:
# TOKEN_URL, KEY_SIZE, SESSION_NAME, StrictHostKeyChecking, the places above.
_ABOUT_WORDS = frozenset(
    {
        *("SIZE", "BITS", "LENGTH", "LEN", "NAME", "NAMES", "TYPE", "TYPES"),
        *("FORMAT", "LAYOUT", "BACKEND", "PARALLELISM", "TIMEOUT", "TTL", "EXPIRY"),
        *("EXPIRES", "LIFETIME", "COUNT", "LIMIT", "ALGORITHM", "ALGORITHMS"),
        *("CHECKING", "AUTHENTICATION", "URL", "URI", "ENDPOINT", "HEADER"),
        *("PATH", "FILE", "DIR", "HOME", "SOCK", "SOCKET", "ENABLED", "DISABLED"),
    }
)

# Words before KEY that make it a data structure's key, not a credential
# (SORT_KEY, primary_key, routing key, a public key).
_PLAIN_KEYS = frozenset(
    {
        *("SORT", "PRIMARY", "FOREIGN", "PARTITION", "ROUTING", "PUBLIC", "PUB"),
        *("CACHE", "OBJECT", "IDEMPOTENCY", "GROUP", "INDEX", "SHARD", "ROW", "HOST"),
        *("LOOKUP", "MAP", "UNIQUE", "RANGE", "HASH", "DEDUP"),
    }
)

# Names secret only weakly, as a whole name (make PASS=1, awk -v key=id):
# their value is kept when it is a number, a yes/no word or very short.
_WEAK_NAMES = frozenset({"KEY", "PASS", "AUTH", "SESSION", "SIG"})
_PLAIN_VALUE = re.compile(
    r"[0-9]+(?:\.[0-9]+)*|(?i:true|false|yes|no|none|null|on|off)|.{1,3}",
    re.ASCII | re.DOTALL,
)


@functools.lru_cache(maxsize=4096)
def _is_secret_name(name: str) -> bool:
    """Whether `name` (a variable, key, parameter or property) names a secret."""
    words = [word.upper() for word in _NAME_WORDS.findall(name)]
    last = -1
    for index, word in enumerate(words):
        if word in _SECRET_WORDS or any(part in word for part in _SECRET_INFIXES):
            last = index
    if last < 0:
        return False
    if last < len(words) - 1 and words[-1] in _ABOUT_WORDS:
        return False
    if words[last] == "KEY":
        if last + 1 < len(words) and words[last + 1] == "ID":
            return False
        if last > 0 and words[last - 1] in _PLAIN_KEYS:
            return False
    return True


_PASSWORD_WORDS = ("PASS", "PWD")  # PASSWORD, PASSWD, PASSPHRASE, SSHPASS too


def _is_password_name(name: str) -> bool:
    """Whether `name` names a password, which is never a file's path."""
    upper = name.upper()
    return upper != "PWD" and any(word in upper for word in _PASSWORD_WORDS)


def _is_plain_value(name: str, value: str) -> bool:
    """Whether `value`, given to a weakly secret `name`, is plainly no secret."""
    return name.upper() in _WEAK_NAMES and _PLAIN_VALUE.fullmatch(value) is not None


def _secret_values(environ: Mapping[str, str]) -> tuple[str, ...]:
    """The values of `environ`'s secret variables worth masking, longest first.

    A value that reads as a path (see `_is_path`) is a credentials file's, not
    a credential: GOOGLE_APPLICATION_CREDENTIALS=/home/u/.config/gcloud/a.json.
    """
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
    if upper in _PLACE_NAMES:
        return False
    return _is_secret_name(name)


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
