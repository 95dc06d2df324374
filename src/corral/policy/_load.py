"""Find and read the policy files of one workspace, and merge them into a `Policy`.

The managed requirements file is trusted only when an administrator owns it:
a regular file owned by root, in a root-owned directory, neither writable by
group or others.  Anything else is refused, never read as managed.
"""

from __future__ import annotations

import errno
import os
import pwd
import stat
from collections.abc import Mapping
from pathlib import Path

from corral._home import home_dirs
from corral._logger import get_logger
from corral.errors import PolicyError
from corral.policy._audit import AuditValues, merge_audit
from corral.policy._merge import BUILT_IN, merge_layers
from corral.policy._model import Policy
from corral.policy._schema import LayerKind, PolicyLayer, parse_layer, parse_overrides

__all__ = [
    "PROJECT_POLICY_NAME",
    "REQUIREMENTS_PATH",
    "load_policy",
    "project_policy_path",
    "read_layer",
    "read_requirements",
    "user_policy_path",
]

logger = get_logger(__name__)

REQUIREMENTS_PATH = Path("/etc/corral/requirements.toml")
"""The managed requirements, written by an administrator."""

PROJECT_POLICY_NAME = Path(".corral") / "policy.toml"
"""The project's policy, relative to the workspace (a protected path)."""

# Write permission for anyone but the owner: such a file or directory could be
# changed by someone other than root, so it is not managed.
_UNSAFE_MODE_BITS = stat.S_IWGRP | stat.S_IWOTH

# A policy file is a few kilobytes; a larger one is a mistake, not a policy.
_MAX_POLICY_BYTES = 1 << 20


def user_policy_path(environ: Mapping[str, str] | None = None) -> Path:
    """Return the user's policy file: ``$XDG_CONFIG_HOME/corral/policy.toml``.

    A relative XDG_CONFIG_HOME is ignored, as the XDG specification says;
    the default is ``~/.config``, with HOME from `environ` or the password
    database.
    """
    env = os.environ if environ is None else environ
    config = env.get("XDG_CONFIG_HOME", "")
    if not config.startswith("/"):
        homes = home_dirs(env)
        home = homes[0] if homes else Path(pwd.getpwuid(os.geteuid()).pw_dir)
        config = str(home / ".config")
    return Path(config) / "corral" / "policy.toml"


def project_policy_path(workspace: Path) -> Path:
    """Return the project's policy file inside `workspace`."""
    return workspace / PROJECT_POLICY_NAME


def load_policy(
    workspace: Path | str,
    *,
    user_policy: Path | None = None,
    requirements_path: Path = REQUIREMENTS_PATH,
    overrides: Mapping[str, object] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Policy:
    """Load, validate and merge every policy layer for `workspace`.

    `user_policy` replaces the user's policy file and must then exist; the
    audit settings stay those of the user's own file (see `_named_audit`).
    `overrides` are the command-line values, keyed ``sandbox.mode``,
    ``network.mode`` and ``sandbox.timeout``.

    Raises PolicyError for an unreadable, malformed or out-of-bounds file, or
    a requirements file an administrator does not own.
    """
    env = os.environ if environ is None else environ
    workspace = Path(workspace).absolute()
    managed = read_requirements(requirements_path)
    audit = None
    if user_policy is not None:
        user = read_layer(user_policy, LayerKind.USER, required=True)
        audit = _named_audit(managed, user, user_policy, env)
    else:
        user = read_layer(user_policy_path(env), LayerKind.USER, required=False)
    project = read_layer(
        project_policy_path(workspace), LayerKind.PROJECT, required=False
    )
    command_line = parse_overrides(overrides) if overrides else None

    read = [layer.origin for layer in (managed, user, project) if layer is not None]
    logger.debug("policy files read: %s", read)
    return merge_layers(
        managed,
        user,
        project,
        command_line,
        environ=env,
        sources=tuple(read),
        audit=audit,
    )


def _named_audit(
    managed: PolicyLayer | None,
    named: PolicyLayer | None,
    path: Path,
    environ: Mapping[str, str],
) -> AuditValues | None:
    """The audit settings when a policy file other than the user's own is named.

    Events are recorded under the managed requirements and the user's own
    policy whatever a run names (`corral.audit` reads only those), so these
    are the settings shown; the named file may repeat them, not change them.
    Returns None when `path` is the user's own policy file.
    """
    own_path = user_policy_path(environ)
    try:
        if own_path.exists() and path.samefile(own_path):
            return None
    except OSError:
        pass  # the named file was read; an unreadable own file says so below
    own = read_layer(own_path, LayerKind.USER, required=False)
    return merge_audit(managed, own, built_in=BUILT_IN, named=named)


def read_layer(path: Path, kind: LayerKind, *, required: bool) -> PolicyLayer | None:
    """Read and validate one policy file; None when it is absent and not required.

    Raises PolicyError for an unreadable or malformed file.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        if required:
            raise PolicyError(
                f"{path}: the policy file given does not exist; check the path"
            ) from None
        return None
    except OSError as exc:
        raise _unreadable(path, exc) from exc
    return _parse_fd(fd, path, kind)


def read_requirements(path: Path) -> PolicyLayer | None:
    """Read the managed requirements, if present, refusing any not root's alone.

    Raises PolicyError for a file an administrator does not own, or one
    unreadable or malformed.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _not_managed(path, "it is a symbolic link") from exc
        raise _unreadable(path, exc) from exc
    try:
        # Checked on the open file, so the file cannot be swapped after the check.
        _check_managed(path, os.fstat(fd), "file")
        _check_managed(path.parent, path.parent.stat(), "directory")
    except PolicyError:
        os.close(fd)
        raise
    except OSError as exc:
        os.close(fd)
        raise _unreadable(path.parent, exc) from exc
    return _parse_fd(fd, path, LayerKind.MANAGED)


def _check_managed(path: Path, st: os.stat_result, what: str) -> None:
    if what == "file" and not stat.S_ISREG(st.st_mode):
        raise _not_managed(path, "it is not a regular file")
    if st.st_uid != 0:
        raise _not_managed(path, f"the {what} is owned by uid {st.st_uid}, not root")
    if st.st_mode & _UNSAFE_MODE_BITS:
        raise _not_managed(
            path,
            f"the {what} is writable by group or others "
            f"(mode {stat.S_IMODE(st.st_mode):04o})",
        )


def _not_managed(path: Path, reason: str) -> PolicyError:
    return PolicyError(
        f"{path}: refused as managed requirements: {reason}; an administrator "
        "must own it (root, not writable by group or others, in a directory the "
        "same holds for), or remove it"
    )


def _unreadable(path: Path, exc: OSError) -> PolicyError:
    return PolicyError(
        f"{path}: cannot read the policy file: {exc.strerror}; "
        "fix its permissions or remove it"
    )


def _parse_fd(fd: int, path: Path, kind: LayerKind) -> PolicyLayer:
    try:
        with os.fdopen(fd, "rb") as file:
            # Opened without blocking, so a FIFO planted in a repository is
            # refused here instead of hanging corral.
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                raise PolicyError(f"{path}: not a regular file; a policy is a file")
            text = file.read(_MAX_POLICY_BYTES + 1)
    except OSError as exc:
        raise _unreadable(path, exc) from exc
    if len(text) > _MAX_POLICY_BYTES:
        raise PolicyError(
            f"{path}: larger than {_MAX_POLICY_BYTES} bytes; not a policy file"
        )
    return parse_layer(text, str(path), kind)
