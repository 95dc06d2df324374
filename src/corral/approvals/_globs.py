"""Globs walked as the shell and the kernel will: where each part leads.

`Globs` is the part of `corral.approvals._paths.Paths` that reads a glob: its
literal head resolved through links (``..`` included), the parts matched by
name against hidden and protected paths, and, where a match may be a link,
the glob expanded on this host as the shell will expand it.
"""

from __future__ import annotations

import os
from fnmatch import fnmatchcase
from pathlib import Path

from corral.approvals._context import Context

__all__ = [
    "GLOB_CHARS",
    "MAX_GLOB_ENTRIES",
    "Globs",
    "Place",
    "Tail",
    "joined",
    "may_be_parent",
]

GLOB_CHARS = frozenset("*?[")
# Directory entries read to expand one glob on this host, as the shell will, to
# see which matches are links; past this a glob is judged as leading anywhere,
# so that a classification stays quick in any tree.
MAX_GLOB_ENTRIES = 10_000
# Bracket expressions fnmatch does not read as the shell does: [[:alpha:]] ...
_CLASS_OPENERS = ("[:", "[=", "[.")

Place = tuple[str, tuple[str, ...]]
"""A glob's resolved literal directory, and the parts matched below it."""
Tail = tuple[str, ...]
"""The parts of a glob after a ``..`` that can lead anywhere."""


class Globs:
    """Reading globs, for a class that resolves paths in one `context`."""

    context: Context
    dotglob: bool
    """Whether a glob's ``*`` matches names that start with a dot."""
    expanded: dict[tuple[str, Tail, bool, bool], tuple[list[str], str | None]]
    """`through_links`' answers in this classification: a word is judged both
    as read and as written, and the host's directories are listed once."""

    def resolve(self, text: str, base: str, *, follow: bool = True) -> str:
        """Return `text` (taken from `base`) resolved as the kernel resolves it."""
        raise NotImplementedError

    def places(self, text: str, base: str) -> tuple[list[Place], Tail | None]:
        """Where the glob `text` can lead, walked as the kernel walks it.

        Returns each resolved directory with the parts matched below it (none
        when a part matching ``..`` leads to one known path), and the parts
        after the last ``..`` that follows a matched part, if one does: each
        match may be a link, so that ``..`` can climb anywhere.
        """
        start = "/" if text.startswith("/") else base
        return self._places_from(start, text.split("/"))

    def _places_from(
        self, start: str, parts: list[str]
    ) -> tuple[list[Place], Tail | None]:
        for index, part in enumerate(parts):
            if not GLOB_CHARS & set(part):
                continue
            # The literal head, ``..`` included, is resolved the way the kernel
            # walks it: ``..`` after a link leads to its target's parent.
            head = self.resolve("/".join(parts[:index]) or ".", start)
            rest = [p for p in parts[index + 1 :] if p not in ("", ".")]
            places: list[Place] = []
            tail: Tail | None = None
            if may_be_parent(part):
                places, tail = self._places_from(self.resolve("..", head), rest)
            climbs = [i for i, p in enumerate(rest) if p == ".." or may_be_parent(p)]
            if climbs:
                tail = tuple(rest[climbs[-1] + 1 :])
            else:
                places.append((head, (part, *rest)))
            return places, tail
        return [(self.resolve("/".join(parts) or ".", start), ())], None

    def through_links(
        self, head: str, parts: Tail, *, follow: bool, directories: bool
    ) -> tuple[list[str], str | None]:
        """Expand the glob `parts` below `head` on this host, as the shell will.

        Returns the matches that a link leads to: one a part before the last
        matched, or (with `follow`, or `directories`: a glob ending in ``/``,
        which matches directories only) the last part itself.  Matching by
        name judges the others.  Also returns why the matches cannot be judged,
        if they cannot: too many entries to read, or a link that does not
        resolve.  Only a glob with a part after its first pattern, or whose
        last part may be followed, is expanded.
        """
        follow = follow or directories
        if len(parts) == 1 and not follow:
            return [], None
        key = (head, parts, follow, directories)
        found = self.expanded.get(key)
        if found is None:
            found = self.expanded[key] = self._expand(head, parts, follow, directories)
        return found

    def _expand(
        self, head: str, parts: Tail, follow: bool, directories: bool
    ) -> tuple[list[str], str | None]:
        current = [(head, False)]
        budget = MAX_GLOB_ENTRIES
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            following: list[tuple[str, bool]] = []
            for directory, linked in current:
                if GLOB_CHARS & set(part):
                    found = _entries(
                        directory,
                        recursive=part == "**" and not last,
                        dots=self.dotglob,
                        limit=budget,
                    )
                    if found is None:
                        return [], f"it matches more than {MAX_GLOB_ENTRIES} entries"
                    budget -= len(found)
                    names = [
                        (path, link)
                        for path, link in found
                        if self.matches(part, path.rpartition("/")[2])
                        or (part == "**" and not last)
                    ]
                else:
                    path = directory.rstrip("/") + "/" + part
                    link = os.path.islink(path)  # noqa: PTH114 - a str walk, per word
                    names = [(path, link)]
                for path, link in names:
                    if link and not last and not _resolves(path):
                        shown = self.context.shown(path)
                        return [], f"the link {shown} does not resolve"
                    following.append((path, linked or (link and (follow or not last))))
            current = following
        return [
            path
            for path, linked in current
            if linked and (not directories or os.path.isdir(path))  # noqa: PTH112
        ], None

    def tail_hits(
        self, tail: Tail, targets: tuple[Path, ...], *, into: bool
    ) -> str | None:
        """Return the first of `targets` that `tail`, below any directory at all,
        can reach (see `glob_hits`)."""
        if not tail:
            return None
        for target in targets:
            target_parts = str(target).split("/")[1:]
            for index in range(len(target_parts)):
                if self._parts_match(list(tail), target_parts[index:], into=into):
                    return str(target)
        return None

    def glob_hits(
        self, pattern: str, targets: tuple[Path, ...], *, into: bool
    ) -> str | None:
        """Return the first of `targets` that the absolute glob `pattern` can reach.

        A pattern reaches a target when it can match the target or a path
        beneath it; with `into` (a recursive write), also when it can match a
        directory above it.
        """
        pattern_parts = pattern.split("/")[1:]
        for target in targets:
            target_parts = str(target).split("/")[1:]
            if self._parts_match(pattern_parts, target_parts, into=into):
                return str(target)
        return None

    def _parts_match(
        self, pattern: list[str], target: list[str], *, into: bool
    ) -> bool:
        for wanted, name in zip(pattern, target, strict=False):
            if wanted == "**":
                return True
            if wanted == name:
                continue
            if not GLOB_CHARS & set(wanted) or not self.matches(wanted, name):
                return False
        return len(pattern) >= len(target) or into

    def matches(self, wanted: str, name: str) -> bool:
        if name.startswith(".") and not wanted.startswith(".") and not self.dotglob:
            return False
        if any(opener in wanted for opener in _CLASS_OPENERS):
            # A character class fnmatch cannot read may match any name.
            return True
        return fnmatchcase(name, wanted.replace("[^", "[!"))


def _entries(
    directory: str, *, recursive: bool, dots: bool, limit: int
) -> list[tuple[str, bool]] | None:
    """The entries of `directory` (with `recursive`, it and every directory
    below, as ``**`` walks: links not entered, dot names only with `dots`),
    each with whether it is a link; None when there are more than `limit`."""
    found: list[tuple[str, bool]] = [(directory, False)] if recursive else []
    try:
        with os.scandir(directory) as listing:
            entries = [
                (e.path, e.is_symlink(), e.is_dir(follow_symlinks=False))
                for _, e in zip(range(limit + 1), listing, strict=False)
            ]
    except OSError:
        return found
    if len(entries) > limit:
        return None
    for path, link, is_dir in entries:
        if recursive and not dots and path.rpartition("/")[2].startswith("."):
            continue
        if recursive and is_dir:
            below = _entries(path, recursive=True, dots=dots, limit=limit - len(found))
            if below is None:
                return None
            found.extend(below)
        elif not recursive or link:
            found.append((path, link))
        if len(found) > limit:
            return None
    return found


def _resolves(path: str) -> bool:
    """Whether the link `path` leads somewhere: its chain ends, or at a name
    that does not exist yet (which the shell would create as written)."""
    try:
        os.path.realpath(path, strict=True)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False
    return True


def joined(head: str, parts: tuple[str, ...]) -> str:
    return head.rstrip("/") + "/" + "/".join(parts)


def may_be_parent(part: str) -> bool:
    """Whether the glob part can match ``..``: sh's ``.*`` and ``.?`` do (bash's
    too once globskipdots is off); only a written leading dot matches one."""
    return part.startswith((".", "[")) and fnmatchcase("..", part)
