"""Judge the paths a command names: which are hidden, and what each write reaches.

Literal paths are resolved on this host; a glob is matched, one component at a
time, against the hidden and protected paths, and what it matches through a link
is expanded here and judged like a literal path; a word only known at run time is
judged by the names its text shows and by the directory written before it.
"""

from __future__ import annotations

import os
import pwd
import re
from collections.abc import Sequence

from corral.approvals._context import GIT_DIR_NAME, PRIVATE_DIRS, Context, resolve_path
from corral.approvals._globs import (
    GLOB_CHARS,
    Globs,
    Tail,
    joined,
    may_be_parent,
)
from corral.approvals._model import Category, Word, WordKind

__all__ = ["NETWORK_DEVICES", "Cwds", "Paths", "is_sink"]

Cwds = tuple[str, ...] | None
"""The directories a command may be running in; None when one is computed."""

# Writing these changes no file.
_SINKS = frozenset(
    {"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/stdin", "/dev/tty", "/dev/zero"}
)
_SINK_PREFIXES = ("/dev/fd/", "/proc/self/fd/")
# bash itself opens a connection for a redirection to these.
NETWORK_DEVICES = ("/dev/tcp/", "/dev/udp/")
_DEVICES = "/dev/"
# Characters that begin the part of a word only known at run time.
_RUN_TIME_CHARS = frozenset("$`{*?[")
# A name ends where a character that cannot continue it follows.
_NAME_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
)
# As text: `re` compiles it on first use, and keeps it.
_VARIABLE = r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?"
_UNKNOWN_CWD = "cannot tell where relative paths point after cd to a computed directory"
# Source text after a tilde-prefix that leaves the word only known at run time.
_RUN_TIME_SOURCE = frozenset("$`'\"\\{}()")

# When a write may land in several places, the finding is for the worst one.
_SEVERITY = {
    Category.SECRET: 0,
    Category.PROTECTED_WRITE: 1,
    Category.DESTRUCTIVE: 2,
    Category.NETWORK: 3,
    Category.OUTSIDE_WRITE: 4,
    Category.EDIT: 5,
}

Judgement = tuple[Category, str]


def is_sink(text: str) -> bool:
    """Tell whether writing `text` changes no file (/dev/null, /dev/fd/N, ...)."""
    return text in _SINKS or text.startswith(_SINK_PREFIXES)


def _into(verb: str) -> str:
    return "writes into" if verb == "writes" else verb


def _worst(judgements: Sequence[Judgement | None]) -> Judgement | None:
    found = [j for j in judgements if j is not None]
    return min(found, key=lambda j: _SEVERITY[j[0]]) if found else None


class Paths(Globs):
    """Path judgements for one classification, with resolved paths cached."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.dotglob = False
        """Whether a glob's ``*`` matches names that start with a dot."""
        self._resolved: dict[tuple[str, str], str] = {}
        self.expanded = {}
        home = str(context.home) if context.home is not None else ""
        self._home = home
        workspace = str(context.workspace)
        markers = ["/" + GIT_DIR_NAME]
        markers.extend(
            str(p)[len(workspace) :]
            for p in context.protected
            if str(p).startswith(workspace + "/")
        )
        self._protected_markers = tuple(dict.fromkeys(markers))

    def resolve(self, text: str, base: str, *, follow: bool = True) -> str:
        """Return `text` resolved against `base` (see `resolve_path`), cached.

        Without `follow`, a last component that is a link stays itself, as for
        a command that removes or renames the link; a trailing ``/`` still
        leads into it (``rm -r link/`` empties the link's target).
        """
        if not follow and not text.endswith("/"):
            head, _, tail = text.rstrip("/").rpartition("/")
            if tail and tail not in (".", ".."):
                parent = self.resolve(
                    head or ("/" if text.startswith("/") else "."), base
                )
                return parent.rstrip("/") + "/" + tail
        key = (text, base)
        found = self._resolved.get(key)
        if found is None:
            found = self._resolved[key] = resolve_path(text, base)
        return found

    def expand_home(self, text: str) -> str:
        """Expand a leading tilde-prefix whose value is known before the line runs.

        ``~`` is the home, ``~user`` that user's home from the password
        database, ``~+`` the directory the command runs in (as ``.``).  Any
        other prefix (``~-``, ``~N``, an unknown user) is left as written: see
        `run_time_tilde`.
        """
        if not text.startswith("~"):
            return text
        prefix, slash, rest = text[1:].partition("/")
        if not prefix:
            return self._home + text[1:] if self._home else text
        if prefix == "+":
            return "." + slash + rest
        if prefix[0] in "+-" or prefix.isdigit():
            return text
        try:
            home = pwd.getpwnam(prefix).pw_dir
        except KeyError:
            return text
        return home.rstrip("/") + slash + rest if home.startswith("/") else text

    def run_time_tilde(self, text: str) -> bool:
        """Whether `text` starts with a tilde-prefix only known at run time:
        ``~-`` (the previous directory), ``~N`` (the directory stack), ..."""
        return text.startswith("~") and self.expand_home(text).startswith("~")

    def known_word(self, word: Word) -> Word:
        """`word`, retyped as literal or glob when only its tilde-prefix made it
        run-time text and the prefix's value is known (``~+/x``, ``~root/x``)."""
        if word.kind is not WordKind.DYNAMIC or not word.text.startswith("~"):
            return word
        if _RUN_TIME_SOURCE & set(word.text) or self.run_time_tilde(word.text):
            return word
        text = self.expand_home(word.text)
        return Word(text, WordKind.GLOB if GLOB_CHARS & set(text) else WordKind.LITERAL)

    def expand_known(self, text: str) -> str:
        """Return run-time text with quotes dropped and known variables filled in."""
        text = self.expand_home(text.replace('"', "").replace("'", ""))
        environ = self.context.environ
        return re.sub(_VARIABLE, lambda m: environ.get(m.group(1), m.group(0)), text)

    # -- reading ---------------------------------------------------------------

    def hidden(self, word: Word, cwds: Cwds) -> str | None:
        """Return the hidden path `word` names or could name, as shown, or None."""
        word = self.known_word(word)
        if word.kind is WordKind.DYNAMIC:
            return self.marker(
                self.expand_known(word.text), self.context.hidden_markers
            )
        for text in _path_texts(word.text):
            found = self._hidden_text(self.expand_home(text), word.kind, cwds)
            if found is not None:
                return found
        return None

    def _hidden_text(self, text: str, kind: WordKind, cwds: Cwds) -> str | None:
        context = self.context
        if not text.startswith("/") and cwds is None:
            return self.marker(text, context.hidden_markers)
        bases = ("/",) if text.startswith("/") else cwds or ()
        for base in bases:
            if kind is WordKind.GLOB:
                found = self._glob_hidden(text, base)
                if found is not None:
                    return found
                continue
            path = self.resolve(text, base)
            if context.hidden_entry(path) is not None:
                return context.shown(path)
        return None

    def _glob_hidden(self, text: str, base: str) -> str | None:
        """The hidden path the glob `text` can reach from `base`, as shown."""
        context = self.context
        places, tail = self.places(text, base)
        for head, parts in places:
            if not parts:
                hit = head if context.hidden_entry(head) is not None else None
            else:
                hit = self.glob_hits(joined(head, parts), context.hidden, into=False)
            if hit is not None:
                return context.shown(hit)
            found = self._linked_hidden(text, head, parts)
            if found is not None:
                return found
        if tail is not None:
            hit = self.tail_hits(tail, context.hidden, into=False)
            if hit is not None:
                return context.shown(hit)
        return self.marker(text, context.hidden_markers)

    def _linked_hidden(self, text: str, head: str, parts: Tail) -> str | None:
        """The hidden path a match of `parts` reached through a link is, as shown."""
        matches, unknown = self.through_links(
            head, parts, follow=True, directories=text.endswith("/")
        )
        # A read is refused for the secrets corral finds, not for those it
        # cannot look for (too many entries, a link that leads nowhere): the
        # mount layer hides every hidden path wherever a link leads.
        if unknown is not None:
            return None
        for match in matches:
            path = self.resolve(match, "/")
            if self.context.hidden_entry(path) is not None:
                return self.context.shown(path)
        return None

    def marker(self, text: str, markers: tuple[str, ...]) -> str | None:
        """Return the first of `markers` that `text` names as a whole path part."""
        text = "/" + text
        for marker in markers:
            index = text.find(marker)
            while index >= 0:
                end = index + len(marker)
                if end == len(text) or text[end] not in _NAME_CHARS:
                    return self._shown_marker(marker)
                index = text.find(marker, index + 1)
        return None

    def _shown_marker(self, marker: str) -> str:
        """A marker as a person reads it: a tail below a home is ``~/tail``."""
        if marker in self._protected_markers:
            return marker.lstrip("/")
        if self.context.hidden_entry(marker) is not None:
            return self.context.shown(marker)
        return "~" + marker

    def names_protected(self, text: str) -> str | None:
        """The protected path the glob or run-time `text` can name, read from any
        directory at all, as shown, or None."""
        found = self.marker(self.expand_known(text), self._protected_markers)
        if found is not None:
            return found
        if self._may_name_git(text):
            return GIT_DIR_NAME
        parts = [part for part in text.split("/") if part not in ("", ".")]
        for marker in self._protected_markers:
            wanted = marker.strip("/").split("/")
            for index in range(len(parts)):
                if self._parts_match(parts[index:], wanted, into=False):
                    return marker.lstrip("/")
        return None

    # -- writing ---------------------------------------------------------------

    def write(
        self,
        word: Word,
        cwds: Cwds,
        *,
        verb: str = "writes",
        recursive: bool = False,
        follow: bool = True,
    ) -> Judgement | None:
        """Judge a write of `word`: None when it writes nothing (/dev/null)."""
        word = self.known_word(word)
        if word.kind is WordKind.LITERAL:
            return self._write_literal(word.text, cwds, verb, recursive, follow)
        if word.kind is WordKind.GLOB:
            return self._write_glob(word.text, cwds, verb, recursive, follow)
        return self._write_dynamic(word.text, cwds, verb, recursive)

    def _write_literal(
        self, text: str, cwds: Cwds, verb: str, recursive: bool, follow: bool
    ) -> Judgement | None:
        text = self.expand_home(text)
        if is_sink(text):
            return None
        if text.startswith("/"):
            paths = [self.resolve(text, "/", follow=follow)]
        elif cwds is None:
            return Category.OUTSIDE_WRITE, f"{verb} {text}: {_UNKNOWN_CWD}"
        else:
            paths = [self.resolve(text, cwd, follow=follow) for cwd in cwds]
        return _worst([self._write_path(p, verb, recursive) for p in paths])

    def _write_path(self, path: str, verb: str, recursive: bool) -> Judgement:
        context = self.context
        shown = context.shown(path)
        if context.hidden_entry(path) is not None:
            return Category.SECRET, f"{_into(verb)} the hidden path {shown}"
        if context.protected_entry(path) is not None:
            return Category.PROTECTED_WRITE, f"{_into(verb)} the protected path {shown}"
        if recursive:
            found = self._tree(path, verb, shown)
            if found is not None:
                return found
        if context.writable_root(path) is None:
            if path.startswith(_DEVICES):
                return Category.DESTRUCTIVE, f"{verb} the device {path}"
            return (
                Category.OUTSIDE_WRITE,
                f"{verb} {shown}, outside the workspace and the writable roots",
            )
        return Category.EDIT, f"{verb} {shown}"

    def _tree(self, path: str, verb: str, shown: str) -> Judgement | None:
        """Judge a recursive write of the directory `path`: what it holds."""
        context = self.context
        root = self._tree_root(path)
        if root is not None:
            what = "" if root == shown else f", {root}"
            return Category.DESTRUCTIVE, f"{verb} {shown} recursively{what}"
        below = path.rstrip("/") + "/"
        for hidden in context.hidden:
            if str(hidden).startswith(below):
                shown_hidden = context.shown(str(hidden))
                return (
                    Category.SECRET,
                    f"{verb} {shown}, which holds the hidden path {shown_hidden}",
                )
        inside = [str(p) for p in context.protected if str(p).startswith(below)]
        if os.path.lexists(below + GIT_DIR_NAME):
            inside.insert(0, below + GIT_DIR_NAME)
        if inside:
            return (
                Category.PROTECTED_WRITE,
                f"{verb} {shown}, which holds the protected path "
                f"{context.shown(inside[0])}",
            )
        return None

    def _tree_root(self, path: str) -> str | None:
        """Say why removing the tree at `path` loses more than workspace files."""
        workspace = str(self.context.workspace)
        named = {"/": "the root directory", workspace: "the workspace root"}
        if self._home:
            named[self._home] = "the home directory"
        for root in self.context.writable:
            if str(root) not in PRIVATE_DIRS:
                named.setdefault(str(root), "a writable root")
        if path in named:
            return named[path]
        if workspace.startswith(path + "/"):
            return "an ancestor of the workspace"
        if self._home and self._home.startswith(path + "/"):
            return "an ancestor of the home directory"
        return None

    def _write_glob(
        self, text: str, cwds: Cwds, verb: str, recursive: bool, follow: bool
    ) -> Judgement | None:
        text = self.expand_home(text)
        if not text.startswith("/") and cwds is None:
            return Category.OUTSIDE_WRITE, f"{verb} {text}: {_UNKNOWN_CWD}"
        bases = ("/",) if text.startswith("/") else cwds or ()
        return _worst(
            [self._write_pattern(text, base, verb, recursive, follow) for base in bases]
        )

    def _write_pattern(
        self, text: str, base: str, verb: str, recursive: bool, follow: bool
    ) -> Judgement | None:
        places, tail = self.places(text, base)
        what = f"{verb} whatever {text} matches"
        found: list[Judgement | None] = []
        for head, parts in places:
            found.append(self._write_place(head, parts, what, verb, recursive))
            found.extend(
                self._write_linked(
                    head,
                    parts,
                    what,
                    verb=verb,
                    recursive=recursive,
                    follow=follow,
                    directories=text.endswith("/"),
                )
            )
        if tail is not None:
            found.append(self._write_anywhere(text, tail, what, recursive))
        return _worst(found)

    def _write_place(
        self, head: str, parts: tuple[str, ...], what: str, verb: str, recursive: bool
    ) -> Judgement:
        """Judge writing what `parts` match below the resolved directory `head`."""
        if not parts:
            # A part that matches ``..`` leads to one known path.
            category, reason = self._write_path(head, verb, recursive)
            return category, what if category is Category.EDIT else f"{what}; {reason}"
        pattern = joined(head, parts)
        found = self._pattern_reaches(pattern, head, recursive=recursive)
        if found is not None:
            return found[0], f"{what}, {found[1]}"
        if self.context.writable_root(head) is None:
            return (
                Category.OUTSIDE_WRITE,
                f"{what}, outside the workspace and the writable roots",
            )
        return Category.EDIT, what

    def _write_linked(
        self,
        head: str,
        parts: Tail,
        what: str,
        *,
        verb: str,
        recursive: bool,
        follow: bool,
        directories: bool,
    ) -> list[Judgement]:
        """Judge each match of `parts` below `head` that a link leads to, as
        its literal path would be (`directories`: the glob ends in ``/``)."""
        matches, unknown = self.through_links(
            head, parts, follow=follow, directories=directories
        )
        if unknown is not None:
            category = Category.DESTRUCTIVE if recursive else Category.OUTSIDE_WRITE
            return [(category, f"{what}, which can lie anywhere: {unknown}")]
        found = []
        for match in matches:
            category, reason = self._write_path(
                self.resolve(match, "/", follow=follow or directories), verb, recursive
            )
            found.append((category, f"{what}; {reason}"))
        return found

    def _write_anywhere(
        self, text: str, tail: tuple[str, ...], what: str, recursive: bool
    ) -> Judgement:
        """Judge a glob whose ``..`` follows a matched part: each match may be a
        link, so what follows can lie anywhere; only `tail` is known."""
        context = self.context
        hidden = self.marker(text, context.hidden_markers)
        held = self.tail_hits(tail, context.hidden, into=recursive)
        if held is not None:
            hidden = context.shown(held)
        if hidden is not None:
            return (
                Category.SECRET,
                f"{what}, which can include the hidden path {hidden}",
            )
        protected = self.marker(text, self._protected_markers)
        held = self.tail_hits(tail, context.protected, into=recursive)
        if held is not None:
            protected = context.shown(held)
        elif protected is None and self._may_name_git("/".join(tail)):
            protected = GIT_DIR_NAME
        if protected is not None:
            return (
                Category.PROTECTED_WRITE,
                f"{what}, which can include the protected path {protected}",
            )
        category = Category.DESTRUCTIVE if recursive else Category.OUTSIDE_WRITE
        return (
            category,
            f"{what}, which can lie outside the workspace: '..' after a glob part "
            "climbs from wherever each match leads",
        )

    def _pattern_reaches(
        self, pattern: str, prefix: str, *, recursive: bool
    ) -> Judgement | None:
        """What a glob's matches can include that makes writing them more than an
        edit: a hidden or protected path, or (removing trees) the world outside."""
        context = self.context
        hidden = self.glob_hits(pattern, context.hidden, into=False)
        if hidden is not None:
            shown = context.shown(hidden)
            return Category.SECRET, f"which can include the hidden path {shown}"
        protected = self.glob_hits(pattern, context.protected, into=False)
        if protected is not None or context.protected_entry(prefix) is not None:
            shown = context.shown(protected or prefix)
            return (
                Category.PROTECTED_WRITE,
                f"which can include the protected path {shown}",
            )
        if self._may_name_git(pattern):
            return Category.PROTECTED_WRITE, "which can include a git directory"
        if recursive and not self._owned(prefix):
            return Category.DESTRUCTIVE, "outside the workspace"
        for targets, category in (
            (context.hidden, Category.SECRET),
            (context.protected, Category.PROTECTED_WRITE),
        ):
            held = self.glob_hits(pattern, targets, into=recursive)
            if held is not None:
                return category, f"which can hold {context.shown(held)}"
        return None

    def _write_dynamic(
        self, text: str, cwds: Cwds, verb: str, recursive: bool
    ) -> Judgement:
        expanded = self.expand_known(text)
        hidden = self.marker(expanded, self.context.hidden_markers)
        if hidden is not None:
            return (
                Category.SECRET,
                f"{verb} {text}, which can name the hidden path {hidden}",
            )
        protected = self.marker(expanded, self._protected_markers)
        if protected is not None:
            return (
                Category.PROTECTED_WRITE,
                f"{verb} {text}, which can name the protected path {protected}",
            )
        directory = self._dynamic_dir(text, cwds)
        if directory is not None:
            shown = self.context.shown(directory)
            return Category.EDIT, f"{verb} {text}, a path computed in {shown}"
        if recursive:
            return (
                Category.DESTRUCTIVE,
                f"{verb} {text} recursively, a path only known at run time",
            )
        return (
            Category.OUTSIDE_WRITE,
            f"{verb} {text}, a path only known at run time that may lie outside "
            "the workspace",
        )

    def _dynamic_dir(self, text: str, cwds: Cwds) -> str | None:
        """The one owned directory a run-time path is written below, if it shows one."""
        prefix = _static_prefix(text)
        directory = self.expand_home(prefix[: prefix.rfind("/") + 1])
        if not directory or _may_climb(text) or self.run_time_tilde(directory):
            return None
        if directory.startswith("/"):
            found = [self.resolve(directory, "/")]
        elif cwds is None:
            return None
        else:
            found = [self.resolve(directory, cwd) for cwd in cwds]
        if all(
            self._owned(d) and self.context.protected_entry(d) is None for d in found
        ):
            return found[0]
        return None

    def _may_name_git(self, pattern: str) -> bool:
        return any(
            GLOB_CHARS & set(part) and self.matches(part, GIT_DIR_NAME)
            for part in pattern.split("/")
        )

    def _owned(self, path: str) -> bool:
        """Whether `path` lies in the workspace or a private directory."""
        workspace = str(self.context.workspace)
        return (
            path == workspace
            or path.startswith(workspace + "/")
            or any(path == d or path.startswith(d + "/") for d in PRIVATE_DIRS)
        )


def _path_texts(text: str) -> list[str]:
    """The parts of a literal word that can name a file: the word, an option's
    value, ``name=value``'s value, ``@file`` and ``file://`` forms."""
    if text.startswith("--"):
        value = text.partition("=")[2]
        found = [value] if value else []
    elif text.startswith("-"):
        found = [text[2:]] if text[2:3] in ("/", "~") else []
    else:
        found = [text]
        if "=" in text:
            value = text.partition("=")[2]
            if value:
                found.append(value)
    for item in list(found):
        if item.startswith("@"):
            found.append(item[1:])
        if item.startswith("file://"):
            found.append(item[len("file://") :])
    return found


def _static_prefix(text: str) -> str:
    """The text of a run-time word before its first run-time part, quotes dropped."""
    kept = []
    for char in text:
        if char in _RUN_TIME_CHARS:
            break
        if char not in "\"'\\":
            kept.append(char)
    return "".join(kept)


def _may_climb(text: str) -> bool:
    """Whether a run-time word shows a ``..`` from its first run-time part on:
    one written, one an empty expansion joins from dots (``..$X``), or ``.*``."""
    first = next((i for i, c in enumerate(text) if c in _RUN_TIME_CHARS), len(text))
    parts = text[text.rfind("/", 0, first) + 1 :].replace('"', "").replace("'", "")
    return any(".." in part or may_be_parent(part) for part in parts.split("/"))
