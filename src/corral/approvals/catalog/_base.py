"""What the program tables are made of: entries, option parsing, and the sink
through which a table's handler reports what a command does.

The tables themselves live by domain in the other modules here; each maps a program
name to an `Entry` (one category for every use) or a `Handler` (a function
that reads the arguments).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from corral._record import Record
from corral.approvals._context import Context
from corral.approvals._model import Category, Word, WordKind

__all__ = [
    "Argv",
    "Entry",
    "Handler",
    "Options",
    "Parsed",
    "Program",
    "Sink",
    "SubProgram",
    "Table",
    "about_only",
    "dispatch",
    "entry",
    "first_operand",
    "name_of",
    "names",
    "parse_options",
    "spec",
    "subcommands",
    "writes_operands",
]

Argv = tuple[Word, ...]

# Options that only ever print something about the program itself.
_ABOUT_OPTIONS = frozenset({"--version", "--help"})


class Sink(Protocol):
    """Where a handler reports findings, and asks for words to be followed."""

    @property
    def context(self) -> Context:
        """The workspace and paths the command is classified against."""
        ...

    def emit(
        self,
        argv: Argv,
        category: Category,
        reason: str,
        *,
        scripts: tuple[str, ...] = (),
        git_write: bool = False,
    ) -> None:
        """Record one thing the command does."""
        ...

    def command(self, argv: Argv, *, cwd: Word | None = None) -> None:
        """Classify `argv`, a command this one runs (in `cwd`, when it says)."""
        ...

    def shell(
        self,
        argv: Argv,
        script: Word | None,
        *,
        fresh: bool = True,
        dialect: str = "bash",
    ) -> None:
        """Classify `script` as shell text (None: the commands `argv` reads on stdin).

        `fresh`: a new shell runs it, so its ``cd`` does not outlast it.
        `dialect`: the shell that reads it (``sh`` for /bin/sh), where it is not bash.
        """
        ...

    def write(
        self,
        argv: Argv,
        target: Word,
        *,
        verb: str = "writes",
        recursive: bool = False,
        cwd: Word | None = None,
    ) -> Category | None:
        """Classify a path the command writes (`recursive`: removes a whole tree).

        Return the finding's category, or None when there was none (writing
        /dev/null changes no file).
        """
        ...

    def scripts(
        self,
        names: Iterable[str],
        *,
        directory: Word | None = None,
        upward: bool = False,
    ) -> tuple[str, ...]:
        """Return the workspace-relative files among `names` that exist in the
        command's directory (or `directory`; with `upward`, its parents too)."""
        ...

    def environment(self, argv: Argv, name: str, value: Word) -> None:
        """Classify one variable set in the environment of the command `argv`."""
        ...

    def protected(self, target: Word) -> str | None:
        """Return the protected path `target` resolves to, as shown, or None."""
        ...


Handler = Callable[[Sink, Argv], None]
"""Reads a command's words (program first) and reports what it does."""

SubProgram = Callable[[Sink, Argv, int], None]
"""Like `Handler`, for one subcommand: also given the subcommand's index."""


class Entry(Record):
    """A program, or a subcommand, that does one thing whatever its arguments."""

    __slots__ = ("category", "what")
    category: Category
    what: str
    """The rest of the sentence after the program's name: ``lists files``."""

    def __init__(self, category: Category, what: str) -> None:
        self._init(category=category, what=what)


Program = Entry | Handler
Table = Mapping[str, Program]


def entry(category: Category, what: str) -> Entry:
    """Return an `Entry` (a shorter spelling for the tables)."""
    return Entry(category, what)


def names(text: str) -> tuple[str, ...]:
    """Split whitespace-separated names: long tables of short names read best so."""
    return tuple(text.split())


def name_of(word: Word) -> str:
    """Return a program's name as a person reads it: the basename of argv[0]."""
    return word.text.rsplit("/", 1)[-1]


def about_only(argv: Argv) -> bool:
    """Tell whether the only argument asks for the program's version or help."""
    return len(argv) == 2 and argv[1].is_literal and argv[1].text in _ABOUT_OPTIONS


class Options(Record):
    """How a program reads its options: which take a value, which it knows."""

    __slots__ = ("valued", "flags", "optional", "permute", "longs")  # noqa: RUF023 (as their repr shows them)
    valued: frozenset[str]
    """Options followed by a value (``-o FILE``, ``--output FILE``)."""
    flags: frozenset[str]
    """Options without a value that the program is known to take."""
    optional: frozenset[str]
    """Options whose value, if any, is attached (``-i[REPL]``, ``--color[=WHEN]``)."""
    permute: bool
    """Options may follow operands (GNU); else the first operand ends them."""
    longs: tuple[str, ...]

    def __init__(
        self,
        valued: frozenset[str] = frozenset(),
        flags: frozenset[str] = frozenset(),
        optional: frozenset[str] = frozenset(),
        permute: bool = True,
    ) -> None:
        every = valued | flags | optional
        self._init(
            valued=valued,
            flags=flags,
            optional=optional,
            permute=permute,
            longs=tuple(o for o in every if o[:2] == "--"),
        )

    def long_name(self, name: str) -> str:
        """Return the long option `name` abbreviates, as getopt accepts it."""
        if name in self.valued or name in self.flags or name in self.optional:
            return name
        matches = [known for known in self.longs if known.startswith(name)]
        return matches[0] if len(matches) == 1 else name

    def knows(self, name: str) -> bool:
        """Tell whether `name` is an option this program takes."""
        return name in self.valued or name in self.flags or name in self.optional


def spec(
    valued: str = "", flags: str = "", optional: str = "", *, permute: bool = True
) -> Options:
    """Return `Options` from space-separated option names."""
    return Options(
        frozenset(valued.split()),
        frozenset(flags.split()),
        frozenset(optional.split()),
        permute,
    )


@dataclass
class Parsed:
    """A command's options and operands, as its option parser would see them."""

    options: list[tuple[str, Word | None]] = field(default_factory=list)
    operands: list[Word] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    """Options the spec does not know (a wrapper cannot then find its command)."""
    rest: int = -1
    """Index (into the parsed words) of the first operand when options stop there."""

    def has(self, *names: str) -> bool:
        """Tell whether any of the options `names` was given."""
        return any(name in names for name, _ in self.options)

    def values(self, *names: str) -> list[Word]:
        """Return the values given to the options `names`, in order."""
        return [v for name, v in self.options if name in names and v is not None]


def parse_options(words: Sequence[Word], options: Options) -> Parsed:
    """Split `words` (the arguments, without the program) into options and operands.

    A word that is not LITERAL is an operand: it could be anything.
    """
    parsed = Parsed()
    index, count = 0, len(words)
    while index < count:
        word = words[index]
        text = word.text
        if word.kind is not WordKind.LITERAL or len(text) < 2 or text[0] != "-":
            if not options.permute:
                parsed.rest = index
                parsed.operands.extend(words[index:])
                return parsed
            parsed.operands.append(word)
        elif text == "--":
            parsed.rest = index + 1
            parsed.operands.extend(words[index + 1 :])
            return parsed
        elif text[1] == "-":
            index = _long_option(words, index, options, parsed)
        else:
            index = _short_options(words, index, options, parsed)
        index += 1
    parsed.rest = count if parsed.rest < 0 else parsed.rest
    return parsed


def _long_option(words: Sequence[Word], index: int, options: Options, p: Parsed) -> int:
    name, equals, value = words[index].text.partition("=")
    name = options.long_name(name)
    if equals:
        p.options.append((name, Word(value)))
    elif name in options.valued:
        following = words[index + 1] if index + 1 < len(words) else None
        p.options.append((name, following))
        return index + 1
    else:
        p.options.append((name, None))
    if not options.knows(name):
        p.unknown.append(name)
    return index


def _short_options(
    words: Sequence[Word], index: int, options: Options, p: Parsed
) -> int:
    text = words[index].text
    for position in range(1, len(text)):
        name = "-" + text[position]
        attached = text[position + 1 :]
        if name in options.valued:
            if attached:
                p.options.append((name, Word(attached)))
                return index
            following = words[index + 1] if index + 1 < len(words) else None
            p.options.append((name, following))
            return index + 1
        if name in options.optional:
            p.options.append((name, Word(attached) if attached else None))
            return index
        p.options.append((name, None))
        if name not in options.flags:
            p.unknown.append(name)
    return index


def first_operand(argv: Argv, options: Options, start: int = 1) -> int | None:
    """Return the index in `argv` of the first operand after `start`, past options
    (those in `options.valued` with their values), or None when there is none."""
    index = start
    while index < len(argv):
        word = argv[index]
        text = word.text
        if not word.is_literal or text == "-" or not text.startswith("-"):
            return index
        if text == "--":
            return index + 1 if index + 1 < len(argv) else None
        name = text.partition("=")[0] if text.startswith("--") else text[:2]
        if text.startswith("--"):
            name = options.long_name(name)
            takes = name in options.valued and "=" not in text
        else:
            takes = name in options.valued and len(text) == 2
        index += 2 if takes else 1
    return None


def dispatch(
    sink: Sink,
    argv: Argv,
    at: int | None,
    table: Mapping[str, Entry | SubProgram],
    *,
    missing: Entry | Handler,
    fallback: Entry | SubProgram | None = None,
) -> None:
    """Classify `argv` by its subcommand at index `at`, from `table`.

    `missing` describes the program run without a subcommand.  A subcommand
    the table lacks is `fallback`, else unknown (it may be an alias or a plugin).
    """
    program = name_of(argv[0])
    if at is None:
        if isinstance(missing, Entry):
            sink.emit(argv, missing.category, f"{program} {missing.what}")
        else:
            missing(sink, argv)
        return
    word = argv[at]
    if not word.is_literal:
        sink.emit(
            argv,
            Category.UNMODELLED,
            f"the {program} subcommand {word.text} is only known at run time",
        )
        return
    found = table.get(word.text, fallback)
    if found is None:
        sink.emit(
            argv,
            Category.UNKNOWN,
            f"{program} {word.text} is not a subcommand corral knows",
        )
    elif isinstance(found, Entry):
        sink.emit(argv, found.category, f"{program} {word.text} {found.what}")
    else:
        found(sink, argv, at)


def subcommands(
    groups: Sequence[tuple[Category, str, str]],
    *,
    options: Options | None = None,
    missing: Entry | Handler | None = None,
    extra: Mapping[str, Entry | SubProgram] | None = None,
    fallback: Entry | SubProgram | None = None,
) -> Handler:
    """Return a handler for a program whose first operand is a subcommand.

    Each group is ``(category, what, "sub another ...")``; `extra` adds
    subcommands with handlers of their own.  Global `options` with values are
    skipped to find the subcommand.
    """
    table: dict[str, Entry | SubProgram] = {}
    for category, what, names in groups:
        table.update(dict.fromkeys(names.split(), Entry(category, what)))
    table.update(extra or {})
    spec_ = options or Options()
    none = missing or Entry(Category.READ, "prints its help")

    def handle(sink: Sink, argv: Argv) -> None:
        at = first_operand(argv, spec_)
        dispatch(sink, argv, at, table, missing=none, fallback=fallback)

    return handle


def writes_operands(
    category: Category,
    what: str,
    *,
    options: Options | None = None,
    skip: int = 0,
    verb: str = "writes",
    recursive: Callable[[Parsed], bool] | None = None,
) -> Handler:
    """Return a handler for a program that writes each operand (after `skip` ones).

    Each operand is a write target with a finding of its own.  The program
    itself is `category` (``shred destroys files``), said when it is more than
    an edit or when no operand made a finding.
    """
    spec_ = options or Options()

    def handle(sink: Sink, argv: Argv) -> None:
        parsed = parse_options(argv[1:], spec_)
        deep = recursive(parsed) if recursive is not None else False
        found = False
        for target in parsed.operands[skip:]:
            found = (
                sink.write(argv, target, verb=verb, recursive=deep) is not None or found
            )
        if not found or category is not Category.EDIT:
            sink.emit(argv, category, f"{name_of(argv[0])} {what}")

    return handle
