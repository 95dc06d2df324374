"""The audit settings in force, from the managed requirements and the user's policy.

Every event is recorded under them, so they are read as the policy loader reads
those two files (never a project's, never one named on the command line) and
kept per process until either file changes.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from pathlib import Path

from corral._record import Record
from corral.policy._audit import merge_audit
from corral.policy._defaults import DEFAULT_AUDIT_ROTATE_BYTES, DEFAULT_EXPORT_TIMEOUT
from corral.policy._load import (
    REQUIREMENTS_PATH,
    read_layer,
    read_requirements,
    user_policy_path,
)
from corral.policy._merge import BUILT_IN
from corral.policy._model import LayerKind

__all__ = ["AuditSettings", "audit_settings"]

# Settings kept, by what identifies the two files; a process sees one or two
# environments, and a change of either file makes a new entry.
_CACHE_ENTRIES = 8

_Identity = tuple[object, ...]


class AuditSettings(Record):
    """Where events go and what is masked in them (see `corral.policy._audit`)."""

    __slots__ = ("endpoint", "redact", "rotate_bytes", "export_timeout")  # noqa: RUF023 (as their repr shows them)
    endpoint: str | None
    """The OTLP/HTTP collector's base URL, or None to export nothing."""
    redact: tuple[str, ...]
    """Regular expressions masked besides the built-in ones (`corral.audit.redact`)."""
    rotate_bytes: int
    export_timeout: float
    """Seconds for each export request."""

    def __init__(
        self,
        endpoint: str | None = None,
        redact: tuple[str, ...] = (),
        rotate_bytes: int = DEFAULT_AUDIT_ROTATE_BYTES,
        export_timeout: float = DEFAULT_EXPORT_TIMEOUT,
    ) -> None:
        self._init(
            endpoint=endpoint,
            redact=redact,
            rotate_bytes=rotate_bytes,
            export_timeout=export_timeout,
        )


_cache: dict[tuple[_Identity, _Identity], AuditSettings] = {}


def audit_settings(
    environ: Mapping[str, str] | None = None,
    *,
    requirements_path: Path = REQUIREMENTS_PATH,
) -> AuditSettings:
    """Return the audit settings of the managed requirements and the user's policy.

    The user's policy is the one `environ` names (``XDG_CONFIG_HOME``,
    ``HOME``); missing files give the built-in settings.  A second call with
    both files unchanged (same inode, size, times, owner and mode) costs three
    ``stat`` calls.  Raises PolicyError for a file that is unreadable,
    malformed or not an administrator's (the requirements), or a user policy
    that changes what the requirements set.
    """
    env = os.environ if environ is None else environ
    user_path = _user_path(
        env.get("XDG_CONFIG_HOME", ""), env.get("HOME", ""), os.geteuid()
    )
    key = (
        _managed_identity(*_with_directory(requirements_path)),
        _identity(str(user_path), follow=True),
    )
    cached = _cache.get(key)
    if cached is not None:
        return cached

    managed = read_requirements(requirements_path)
    user = read_layer(user_path, LayerKind.USER, required=False)
    values = merge_audit(managed, user, built_in=BUILT_IN)
    settings = AuditSettings(
        endpoint=values.endpoint,
        redact=values.redact,
        rotate_bytes=values.rotate_bytes,
        export_timeout=values.export_timeout,
    )

    if len(_cache) >= _CACHE_ENTRIES:
        _cache.clear()
    _cache[key] = settings
    return settings


@functools.lru_cache(maxsize=_CACHE_ENTRIES)
def _user_path(config: str, home: str, euid: int) -> Path:
    """The user's policy file for these variables, the passwd lookup made once."""
    del euid  # a key only: without HOME, the passwd entry of this uid decides
    return user_policy_path({"XDG_CONFIG_HOME": config, "HOME": home})


@functools.lru_cache(maxsize=_CACHE_ENTRIES)
def _with_directory(path: Path) -> tuple[str, str]:
    return str(path), str(path.parent)


def _identity(path: str, *, follow: bool) -> _Identity:
    """What changes whenever the file's content, owner or mode may have changed.

    The change time moves with every write, chmod and chown, even one that
    keeps the modification time (``touch -m -d``).
    """
    try:
        # A string, not a Path: this runs before every event.
        st = os.stat(path, follow_symlinks=follow)  # noqa: PTH116
    except OSError as exc:
        # Missing or unreadable: the read says which, and what to do.
        return (path, exc.errno)
    return (
        path,
        st.st_dev,
        st.st_ino,
        st.st_size,
        st.st_mtime_ns,
        st.st_ctime_ns,
        st.st_mode,
        st.st_uid,
    )


def _managed_identity(path: str, directory: str) -> _Identity:
    """The requirements file as it is (no link followed), and its directory.

    The directory counts: a requirements file is trusted only while its
    directory is root's alone.
    """
    return _identity(path, follow=False) + _identity(directory, follow=True)
