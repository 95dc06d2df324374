"""Where a command runs, as the classifier needs it: workspace, home and paths.

A `Context` is made once per command from the policy and the environment.  Its
predicates say of a resolved absolute path whether it is protected, hidden or
writable, the way the sandbox will treat it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from corral._home import home_dirs
from corral._record import Record
from corral._state import state_dir
from corral.policy import Policy
from corral.sandbox._profile import PRIVATE_DIRS as SANDBOX_PRIVATE_DIRS

__all__ = ["PRIVATE_DIRS", "Context", "make_context", "resolve_path"]

# Every sandbox gets a fresh, empty tmpfs at each of these, so writing there
# reaches nothing of the host's: the sandbox's own list, so the two never differ.
PRIVATE_DIRS: tuple[str, ...] = tuple(str(path) for path in SANDBOX_PRIVATE_DIRS)

# The name of a git directory, protected wherever it appears: its hooks and
# config are run and read by git outside the sandbox.
GIT_DIR_NAME = ".git"

# As the kernel: a path naming more symbolic links than this is a loop.
_MAX_LINK_HOPS = 40


class _Prefixes(Record):
    """Directories matched as prefixes: each path and the same with a slash."""

    __slots__ = ("paths", "slashed")
    paths: tuple[str, ...]
    slashed: tuple[str, ...]

    def __init__(self, paths: tuple[str, ...]) -> None:
        slashed = tuple(p if p.endswith("/") else p + "/" for p in paths)
        self._init(paths=paths, slashed=slashed)

    def match(self, path: str) -> str | None:
        """Return the first prefix that `path` is or lies beneath, or None."""
        for plain, slashed in zip(self.paths, self.slashed, strict=True):
            if path == plain or path.startswith(slashed):
                return plain
        return None


@dataclass(frozen=True)
class Context:
    """The workspace, cwd, home and path sets one command is classified against.

    Paths are absolute with symbolic links resolved.  `protected`, `hidden`
    and `writable` also hold each entry as written (``~`` expanded), so a
    path matches whichever name it was reached by.
    """

    workspace: Path
    cwd: Path
    home: Path | None
    writable: tuple[Path, ...]
    """The workspace, the policy's writable roots and the private directories."""
    protected: tuple[Path, ...]
    """The policy's protected paths inside the workspace (besides every ``.git``)."""
    hidden: tuple[Path, ...]
    """The policy's hidden paths and corral's own state directory."""
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)
    _writable: _Prefixes = field(init=False, repr=False)
    _protected: _Prefixes = field(init=False, repr=False)
    _hidden: _Prefixes = field(init=False, repr=False)
    hidden_markers: tuple[str, ...] = field(init=False, repr=False)
    """Text that names a hidden path: each absolute path, and each tail below a
    home (``/.ssh``), for recognising hidden paths in words only known at run time."""

    def __post_init__(self) -> None:
        def prefixes(paths: Iterable[Path]) -> _Prefixes:
            return _Prefixes(tuple(dict.fromkeys(str(p) for p in paths)))

        object.__setattr__(self, "_writable", prefixes(self.writable))
        object.__setattr__(self, "_protected", prefixes(self.protected))
        object.__setattr__(self, "_hidden", prefixes(self.hidden))
        object.__setattr__(self, "hidden_markers", self._markers())

    def _markers(self) -> tuple[str, ...]:
        homes = [str(h) for h in home_dirs(self.environ)]
        if self.home is not None:
            homes.append(str(self.home))
        markers: dict[str, None] = {}
        for path in self._hidden.paths:
            markers[path] = None
            for home in homes:
                if path.startswith(home.rstrip("/") + "/"):
                    markers[path[len(home.rstrip("/")) :]] = None
        return tuple(markers)

    def is_protected(self, path: Path | str) -> bool:
        """Tell whether writing `path` would change a protected path.

        `path` is resolved first (relative to the cwd, links of its existing
        prefix followed), as for each predicate here.
        """
        return self.protected_entry(self._resolved(path)) is not None

    def is_hidden(self, path: Path | str) -> bool:
        """Tell whether `path` is, or lies beneath, a hidden path."""
        return self._hidden.match(self._resolved(path)) is not None

    def is_writable(self, path: Path | str) -> bool:
        """Tell whether `path` lies in a directory commands may write."""
        return self._writable.match(self._resolved(path)) is not None

    def _resolved(self, path: Path | str) -> str:
        return resolve_path(str(path), str(self.cwd))

    def protected_entry(self, path: str) -> str | None:
        """Return the protected path that `path` (resolved) is or lies beneath."""
        index = (path + "/").find("/" + GIT_DIR_NAME + "/")
        if index >= 0:
            return path[: index + 1 + len(GIT_DIR_NAME)]
        return self._protected.match(path)

    def hidden_entry(self, path: str) -> str | None:
        """Return the hidden path that `path` (resolved) is or lies beneath."""
        return self._hidden.match(path)

    def writable_root(self, path: str) -> str | None:
        """Return the writable directory that `path` (resolved) lies in, or None."""
        return self._writable.match(path)

    def shown(self, path: str) -> str:
        """Return `path` as a person reads it: workspace-relative, ``~/x`` or whole."""
        workspace = str(self.workspace)
        if path == workspace:
            return "the workspace root"
        if path.startswith(workspace + "/"):
            return path[len(workspace) + 1 :]
        if self.home is not None:
            home = str(self.home)
            if path == home:
                return "~"
            if path.startswith(home + "/"):
                return "~" + path[len(home) :]
        return path


def make_context(
    policy: Policy, workspace: Path, cwd: Path, environ: Mapping[str, str]
) -> Context:
    """Resolve `policy` for `workspace`: what the classifier compares paths with.

    Raises `WorkspaceError` when corral's state directory cannot be created.
    """
    homes = [str(h) for h in home_dirs(environ)]
    root = str(workspace.resolve())
    writable = [root]
    mine = homes[:1]
    writable.extend(
        _both(p for text in policy.writable_roots for p in _expand(text, mine))
    )
    writable.extend(_both(PRIVATE_DIRS))
    protected = _both(
        root + "/" + entry.rstrip("/") for entry in policy.protected_paths
    )
    entries = [*policy.hidden_paths, str(state_dir(environ))]
    runtime_dir = environ.get("XDG_RUNTIME_DIR", "")
    if runtime_dir.startswith("/"):
        # The sandbox hides the session's sockets (agents, keyrings, buses) too.
        entries.append(runtime_dir)
    hidden = _both(p for text in entries for p in _expand(text, homes))
    return Context(
        workspace=Path(root),
        cwd=Path(resolve_path(str(cwd), root)),
        home=Path(homes[0]) if homes else None,
        writable=tuple(map(Path, writable)),
        protected=tuple(map(Path, protected)),
        hidden=tuple(map(Path, hidden)),
        environ=dict(environ),
    )


def resolve_path(text: str, base: str) -> str:
    """Return `text` made absolute against `base`, with the symbolic links of its
    existing prefix resolved on this host, and ``.``/``..`` applied.

    `base` must already be absolute and resolved.  What does not exist is
    joined as written, as the shell would create it.
    """
    start = "/" if text.startswith("/") else base
    return _walk(start, text.split("/"), _MAX_LINK_HOPS)[0]


def _walk(start: str, parts: list[str], hops: int) -> tuple[str, int]:
    current = start
    existing = True
    for part in parts:
        if not part or part == ".":
            continue
        if part == "..":
            current = os.path.dirname(current)  # noqa: PTH120 - a str walk, per word
            continue
        step = "/" + part if current == "/" else current + "/" + part
        if existing:
            try:
                mode = os.lstat(step).st_mode
            except OSError:
                existing = False
            else:
                if stat.S_ISLNK(mode) and hops > 0:
                    target = os.readlink(step)  # noqa: PTH115 - a str walk, per word
                    origin = "/" if target.startswith("/") else current
                    current, hops = _walk(origin, target.split("/"), hops - 1)
                    continue
        current = step
    return current, hops


def _expand(text: str, homes: list[str]) -> list[str]:
    """Expand a leading ``~`` under every home of this user, as the sandbox does."""
    if text == "~" or text.startswith("~/"):
        return [home + text[1:] for home in homes]
    return [text]


def _both(paths: Iterable[str]) -> list[str]:
    """Each absolute path as written and as resolved, without repeats.

    Only empty and ``.`` parts are dropped from a path as written: ``..``
    after a link leads where the link's target is, which only resolving
    tells, so a path with ``..`` is kept as resolved alone.  Hidden paths
    share a few parents (``~``, ``~/.config``): each parent is resolved once,
    then each name beneath it.
    """
    found: dict[str, None] = {}
    parents: dict[str, str] = {}
    for written in paths:
        if not written.startswith("/"):
            continue
        parts = [part for part in written.split("/") if part not in ("", ".")]
        path = "/" + "/".join(parts)
        if ".." not in parts:
            found[path] = None
        parent, _, name = path.rpartition("/")
        real = parents.get(parent)
        if real is None:
            real = parents[parent] = resolve_path(parent or "/", "/")
        found[resolve_path(name, real) if name else real] = None
    return list(found)
