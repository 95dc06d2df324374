"""Shell text to `Script`: every simple command bash may run, wherever it stands.

tree-sitter-bash parses the text; `Walker` flattens lists, pipelines, compound
commands, function bodies and substitutions into `Invocation`s in source
order, and records in `Script.unmodelled` whatever it cannot model.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import re
import sys
from types import ModuleType

import tree_sitter
from tree_sitter import Node

from corral.approvals._model import Invocation, Script
from corral.approvals.shell._repair import (
    blank,
    end_commands,
    fill,
    joined_comments,
    misread_heredocs,
    misread_read_writes,
    misread_strings,
    read_write,
)
from corral.approvals.shell._walk import MAX_DEPTH, Walker

__all__ = ["MAX_DEPTH", "MAX_TEXT_BYTES", "parse"]

MAX_TEXT_BYTES = 256 * 1024
"""Longer text is read only this far: twice what Linux passes as one argument
(``bash -c TEXT``), and it bounds the time one command can cost to classify."""

_PASSES = 4
"""How often the text is parsed again after a repair (`_repair`): each pass
repairs every misreading it sees, and one may hide another."""

_PIECE_BREAKS = re.compile(rb"[;&|(){}\n`]|\$\(")
"""Where text that does not parse is cut into pieces parsed on their own: the
operators and brackets that can end one command and start another."""

_parser: tree_sitter.Parser | None = None


def _get_parser() -> tree_sitter.Parser:
    """Return the bash parser, built on first use."""
    global _parser  # noqa: PLW0603 - one parser per process, built lazily
    if _parser is None:
        _parser = tree_sitter.Parser(tree_sitter.Language(_bash_language()))
    return _parser


def _bash_language() -> object:
    """Return the bash grammar from tree-sitter-bash's compiled binding.

    The binding is loaded on its own, not through ``import tree_sitter_bash``:
    that package's ``__init__`` imports importlib.resources, for a highlighting
    query corral never reads, and that import cost every command given as shell
    text some 16 ms.  Where the binding is not a file beside the package (a
    layout this does not know), the package is imported after all.
    """
    package = sys.modules.get("tree_sitter_bash") or _bash_binding()
    if package is None:
        import tree_sitter_bash  # noqa: PLC0415 (a layout this does not know)

        package = tree_sitter_bash
    language: object = package.language()
    return language


def _bash_binding() -> ModuleType | None:
    """Load ``tree_sitter_bash._binding`` without its package, or return None."""
    spec = importlib.util.find_spec("tree_sitter_bash")
    loaders = (
        importlib.machinery.ExtensionFileLoader,
        importlib.machinery.EXTENSION_SUFFIXES,
    )
    for location in (spec and spec.submodule_search_locations) or ():
        finder = importlib.machinery.FileFinder(location, loaders)
        found = finder.find_spec("tree_sitter_bash._binding")
        if found is not None and found.loader is not None:
            binding = importlib.util.module_from_spec(found)
            found.loader.exec_module(binding)
            return binding
    return None


def parse(text: str, *, home: str | None = None) -> Script:
    """Return every simple command `text` can run, and what could not be modelled.

    `home` is what an unquoted ``~`` expands to; without it such words are
    DYNAMIC.  Odd input never raises: it is reported in `Script.unmodelled`.
    Raises TypeError when `text` is not a str.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse() takes shell text as str, not {type(text).__name__}")
    return _parse_at(text, home, 0)


def _parse_at(
    text: str, home: str | None, depth: int, *, pieces: bool = True
) -> Script:
    """Parse `text` found `depth` levels of nesting down (in backquotes).

    Where the text does not parse, each piece of it between the shell's
    operators is parsed too (unless `pieces` is False, as for the pieces
    themselves), so that a command the error hides is still classified.
    """
    src, errors, reasons = _encode(text)
    walker = _read(src, errors, home, reasons, depth)
    invocations = [i for i in walker.out if i is not None]
    if walker.misparsed and pieces:
        seen = {_key(i) for i in invocations}
        for piece in _PIECE_BREAKS.split(src):
            if piece.strip():
                found = _parse_at(
                    piece.decode("utf-8", errors), home, depth, pieces=False
                )
                invocations.extend(i for i in found.invocations if _key(i) not in seen)
    return Script(tuple(invocations), tuple(walker.reasons))


def _key(invocation: Invocation) -> tuple[object, ...]:
    """What makes two invocations the same command, wherever they were found."""
    return invocation.words, invocation.assignments, invocation.redirects


def _encode(text: str) -> tuple[bytes, str, list[str]]:
    """Return `text` as the bytes to parse, how they decode, and what is odd."""
    reasons: list[str] = []
    try:
        src, errors = text.encode("utf-8", "surrogateescape"), "surrogateescape"
    except UnicodeEncodeError:
        src, errors = text.encode("utf-8", "surrogatepass"), "surrogatepass"
        reasons.append("the text holds characters that are not valid Unicode")
    if b"\0" in src:
        reasons.append("the text holds a NUL byte, which bash never receives")
    if len(src) > MAX_TEXT_BYTES:
        reasons.append(
            f"the text is longer than {MAX_TEXT_BYTES} bytes; only the start was read"
        )
        src = _cut(src, MAX_TEXT_BYTES)
    return src, errors, reasons


def _read(
    src: bytes, errors: str, home: str | None, reasons: list[str], depth: int
) -> Walker:
    """Parse and walk `src`, parsing again where tree-sitter misread it."""
    parsed = src
    for attempt in range(_PASSES):
        last = attempt == _PASSES - 1
        root = _get_parser().parse(parsed).root_node
        misread = misread_strings(root, src) + misread_heredocs(root, parsed)
        read_writes = misread_read_writes(root, parsed)
        if (misread or read_writes) and not last:
            parsed = read_write(fill(parsed, misread), read_writes)
            continue
        walker = _walk(root, src, errors, home, reasons, depth=depth)
        for comment in joined_comments(root, src):
            walker.note(
                f"cannot model the `#` inside a word at "
                f"{walker.where(comment)}: bash reads no comment there"
            )
        if not (misread or read_writes or walker.blanks or walker.newlines):
            break
        if last:
            walker.note("cannot parse the text as bash does: too many misreadings")
            break
        # tree-sitter misreads `time` and `!` before a compound command, and
        # some newlines as blanks; with the first blanked, and a `;` for the
        # second, it reads the text as bash does.
        parsed = blank(parsed, walker.blanks)
        parsed = end_commands(parsed, walker.newlines)
    return walker


def _walk(
    root: Node,
    src: bytes,
    errors: str,
    home: str | None,
    reasons: list[str],
    *,
    depth: int,
) -> Walker:
    """Walk the tree `root`, reading text from `src`; `reasons` come first."""

    def reparse(text: str, at: int) -> Script:
        return _parse_at(text, home, at)

    walker = Walker(src, errors, home, depth=depth, reparse=reparse)
    for reason in reasons:
        walker.note(reason)
    try:
        walker.walk(root)
    except RecursionError:
        # MAX_DEPTH keeps the walk far from Python's limit; a caller already deep
        # in its own stack may still reach it.  Collect without structure.
        walker = Walker(src, errors, home, depth=depth)
        for reason in [*reasons, "nesting too deep to follow"]:
            walker.note(reason)
        walker.salvage(root)
    return walker


def _cut(src: bytes, limit: int) -> bytes:
    """Return at most `limit` bytes of `src`, not splitting a UTF-8 character."""
    end = limit
    while end > 0 and src[end] & 0xC0 == 0x80:
        end -= 1
    return src[:end]
