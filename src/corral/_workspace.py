"""Find the workspace a command runs in: the top level of the git checkout.

A directory outside any repository (or a machine without git) is its own
workspace.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from corral._logger import get_logger
from corral._programs import find_program, trusted_search_path
from corral.errors import WorkspaceError

__all__ = ["resolve_workspace"]

logger = get_logger(__name__)

# rev-parse answers from the file system alone; a longer wait means a hung
# network file system, and corral should say so rather than hang with it.
_GIT_TIMEOUT_SECONDS = 10

# Set by a caller's shell, these would point git at another repository than
# the one the directory is in.
_GIT_REDIRECTS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_INDEX_FILE")


def resolve_workspace(directory: Path) -> Path:
    """Return the git top level of `directory`, or `directory` itself outside git.

    The result is absolute, with symbolic links resolved.  Raises
    WorkspaceError if `directory` does not exist or is not a directory.
    """
    if not directory.is_dir():
        what = "does not exist" if not directory.exists() else "is not a directory"
        raise WorkspaceError(
            f"{directory}: the workspace directory {what}; pass an existing "
            "directory with -C"
        )
    directory = directory.resolve()
    env = {k: v for k, v in os.environ.items() if k not in _GIT_REDIRECTS}
    env["LC_ALL"] = "C"
    # The workspace is not known yet: pass over every git that could lie in
    # it, beneath the directory or any repository above it.
    untrusted = _possible_workspaces(directory)
    git = find_program("git", env, avoid=untrusted)
    if git.path is None:
        if git.skipped:
            raise WorkspaceError(
                f"{directory}: the only git on PATH lies where a sandboxed command "
                f"could have written it: {'; '.join(git.skipped)}; corral does not "
                "run it on the host; put the system's git first on PATH"
            )
        logger.debug("git not found; %s is its own workspace", directory)
        return directory
    env["PATH"] = os.pathsep.join(trusted_search_path(env, untrusted))
    try:
        result = subprocess.run(
            [git.path, "-C", str(directory), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            env=env,
            timeout=_GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except OSError as exc:
        raise WorkspaceError(f"{directory}: cannot run {git.path}: {exc}") from exc
    except subprocess.TimeoutExpired as exc:
        raise WorkspaceError(
            f"{directory}: git did not answer within {_GIT_TIMEOUT_SECONDS} s; "
            "check the file system, or run from a directory outside the repository"
        ) from exc
    if "dubious ownership" in result.stderr:
        # Falling back to the directory would skip the project's policy, which
        # only ever tightens; refuse instead.
        raise WorkspaceError(
            f"{directory}: git refuses to read this repository, which another "
            "user owns; run corral as its owner, or mark it safe with "
            "'git config --global --add safe.directory <path>'"
        )
    top = result.stdout.strip()
    if result.returncode != 0 or not top:
        logger.debug("not a git checkout (%s): %s", directory, result.stderr.strip())
        return directory
    return Path(top).resolve()


def _possible_workspaces(directory: Path) -> list[Path]:
    """`directory` and every directory above it holding a ``.git`` entry."""
    found = [directory]
    for parent in directory.parents:
        if os.path.lexists(parent / ".git"):
            found.append(parent)
    return found
