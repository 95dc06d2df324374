"""Programs that read and write files: coreutils, search tools, viewers, editors.

Readers are reads whatever their arguments.  Writers name their targets the
way each program does (cp's last operand or ``-t DIR``, rm's every operand,
chmod's after the mode), and each target is judged where it lands.
"""

from __future__ import annotations

import re

from corral.approvals._model import Category, Word, WordKind
from corral.approvals._paths import Paths
from corral.approvals.catalog._base import (
    Argv,
    Entry,
    Handler,
    Options,
    Parsed,
    Sink,
    Table,
    entry,
    name_of,
    parse_options,
    spec,
    writes_operands,
)
from corral.approvals.catalog._text import TEXT_PROGRAMS

__all__ = ["FILE_PROGRAMS"]

_READ = Category.READ
_EDIT = Category.EDIT

_READERS: dict[str, str] = {
    "ls": "lists files",
    "dir": "lists files",
    "vdir": "lists files",
    "exa": "lists files",
    "eza": "lists files",
    "lsd": "lists files",
    "cat": "prints files",
    "tac": "prints files backwards",
    "nl": "numbers lines",
    "head": "prints the start of files",
    "tail": "prints the end of files",
    "bat": "prints files",
    "batcat": "prints files",
    "wc": "counts lines and words",
    "cut": "prints columns",
    "paste": "joins lines",
    "join": "joins files on a field",
    "tr": "translates characters",
    "od": "dumps bytes",
    "hexdump": "dumps bytes",
    "hd": "dumps bytes",
    "hexyl": "dumps bytes",
    "strings": "prints text in files",
    "file": "says what files hold",
    "stat": "prints file metadata",
    "du": "measures disk use",
    "df": "measures free space",
    "pwd": "prints the working directory",
    "basename": "prints a name's last part",
    "dirname": "prints a name's directory",
    "realpath": "prints resolved paths",
    "readlink": "prints link targets",
    "namei": "follows a path's links",
    "which": "says where a program is",
    "whereis": "says where a program is",
    "locate": "looks names up in a file index",
    "grep": "searches text",
    "egrep": "searches text",
    "fgrep": "searches text",
    "zgrep": "searches compressed text",
    "ag": "searches text",
    "ack": "searches text",
    "ugrep": "searches text",
    "diff": "compares files",
    "colordiff": "compares files",
    "cmp": "compares files",
    "comm": "compares sorted files",
    "md5sum": "hashes files",
    "sha1sum": "hashes files",
    "sha224sum": "hashes files",
    "sha256sum": "hashes files",
    "sha384sum": "hashes files",
    "sha512sum": "hashes files",
    "b2sum": "hashes files",
    "b3sum": "hashes files",
    "cksum": "hashes files",
    "sum": "hashes files",
    "base64": "encodes or decodes base64",
    "base32": "encodes or decodes base32",
    "basenc": "encodes or decodes data",
    "column": "formats columns",
    "fold": "wraps lines",
    "fmt": "formats paragraphs",
    "expand": "turns tabs into spaces",
    "unexpand": "turns spaces into tabs",
    "rev": "reverses lines",
    "shuf": "shuffles lines",
    "seq": "prints numbers",
    "yes": "prints a line forever",
    "sleep": "waits",
    "jq": "queries JSON",
    "gron": "flattens JSON",
    "jless": "pages through JSON",
    "xmllint": "checks XML",
    "numfmt": "formats numbers",
    "factor": "factors numbers",
    "expr": "evaluates an expression",
    "bc": "calculates",
    "look": "looks up words",
    "pr": "paginates text",
    "tsort": "sorts topologically",
    "lsattr": "lists file attributes",
    "getfacl": "lists file ACLs",
    "findmnt": "lists mounts",
    "mountpoint": "says whether a directory is a mount point",
    "lsblk": "lists block devices",
    "nm": "lists symbols",
    "objdump": "dumps object files",
    "readelf": "dumps ELF files",
    "size": "prints section sizes",
    "glow": "renders markdown",
    "pygmentize": "highlights source code",
    "delta": "shows differences",
    "difft": "shows differences",
    "icdiff": "shows differences",
    "pv": "shows a pipe's progress",
    "fzf": "picks a line interactively",
    "tokei": "counts lines of code",
    "cloc": "counts lines of code",
    "scc": "counts lines of code",
}

# What a search tool hands the program it runs: the files it finds.
_EACH = Word("<each file found>", WordKind.DYNAMIC)

# Search tools whose options can name a program they run on every file.
_RG = spec("--pre -e -f -g -t -T -A -B -C -m -j -M --type --glob -r --replace")
_FD = spec("-x --exec -X --exec-batch -e -E -t -d --type --extension --exclude")


def _rg(sink: Sink, argv: Argv) -> None:
    """rg: a read, unless ``--pre COMMAND`` runs a program on every file."""
    parsed = parse_options(argv[1:], _RG)
    for command in parsed.values("--pre"):
        sink.emit(
            argv,
            Category.EXEC_OVERRIDE,
            f"rg --pre runs {command.text} on every file it searches",
        )
        sink.command((command, _EACH))
    if not parsed.values("--pre"):
        sink.emit(argv, _READ, "rg searches text")


def _fd(sink: Sink, argv: Argv) -> None:
    """fd: a read, unless ``-x``/``-X`` runs a command for what it finds."""
    words = list(argv[1:])
    for index, word in enumerate(words):
        if word.is_literal and word.text in ("-x", "--exec", "-X", "--exec-batch"):
            inner = []
            for following in words[index + 1 :]:
                if following.is_literal and following.text == ";":
                    break
                inner.append(following)
            if inner:
                sink.command((*inner, _EACH))
            break
    sink.emit(argv, _READ, f"{name_of(argv[0])} finds files")


_COPY = spec(
    "-t --target-directory -S --suffix --sparse --no-preserve --reflink -m --mode "
    "-o --owner -g --group --backup --context",
    "-T --no-target-directory -r -R -a -f -i -n -p -v -u -l -s -P -L -H -d -x -b -D",
    "--preserve",
)


def _copy(verb: str, *, moves: bool = False) -> Handler:
    def handle(sink: Sink, argv: Argv) -> None:
        parsed = parse_options(argv[1:], _COPY)
        operands = parsed.operands
        targets = parsed.values("-t", "--target-directory")
        sources = operands if targets else operands[:-1]
        if not targets and operands:
            targets = [operands[-1]] if len(operands) > 1 else [_basename(operands[-1])]
        found = False
        if moves:
            for source in sources:
                found = sink.write(argv, source, verb="moves") is not None or found
        if verb == "links" and parsed.has("-s", "--symbolic"):
            linked = sources or operands[:1]
            found = _links_into(sink, argv, linked, targets[:1]) or found
        for target in targets:
            found = sink.write(argv, target, verb=verb) is not None or found
        if not found:
            sink.emit(argv, _EDIT, f"{name_of(argv[0])} {verb} files")

    return handle


def _links_into(
    sink: Sink, argv: Argv, sources: list[Word], places: list[Word]
) -> bool:
    """A symbolic link to a protected path: writes through it land there.

    A relative target is read from the link's directory, which is the place
    named or the directory holding it.
    """
    found = False
    paths = Paths(sink.context)
    for source in map(paths.known_word, sources):
        if not source.is_literal:
            found = _links_anywhere(sink, argv, paths, source) or found
            continue
        names: list[Word] = []
        if source.is_literal and not source.text.startswith(("/", "~")):
            for place in places:
                inside = place.text.rstrip("/") or "/"
                parent = inside.rpartition("/")[0] or "."
                folders = [inside] if place.text.endswith("/") else [parent, inside]
                names.extend(Word(f"{folder}/{source.text}") for folder in folders)
        names.append(source)
        protected = next((p for n in names if (p := sink.protected(n))), None)
        if protected is not None:
            reason = (
                f"ln links to the protected path {protected}, for writes through it"
            )
            sink.emit(argv, Category.PROTECTED_WRITE, reason)
            found = True
    return found


def _links_anywhere(sink: Sink, argv: Argv, paths: Paths, source: Word) -> bool:
    """A link to a glob's match or to a path only known at run time: judged by
    the protected paths its text can name, from any directory."""
    protected = paths.names_protected(source.text)
    if protected is not None:
        reason = (
            f"ln links to {source.text}, which can name the protected path "
            f"{protected}, for writes through it"
        )
        sink.emit(argv, Category.PROTECTED_WRITE, reason)
        return True
    if source.kind is WordKind.DYNAMIC:
        reason = (
            f"ln links to {source.text}, a path only known at run time, which "
            "may be a protected path"
        )
        sink.emit(argv, Category.UNMODELLED, reason)
        return True
    return False


def _basename(word: Word) -> Word:
    """``ln -s /x/y`` makes ``./y``; a link made from one operand lands here."""
    if not word.is_literal:
        return word
    return Word(word.text.rstrip("/").rsplit("/", 1)[-1] or word.text)


def _recursive(parsed: Parsed) -> bool:
    return parsed.has("-r", "-R", "--recursive")


# A chmod mode: octal, or symbolic clauses such as u+x,go-w.
# As text: `re` compiles it on first use, and keeps it.
_MODE = r"^(?:[0-7]{1,4}|(?:[ugoa]*[-+=][rwxXstugo]*,?)+)$"
# Octal modes with the setuid or setgid bit, and symbolic ones that add it.
_SETID = r"^(?:0?[2-7][0-7]{3}|.*[+=][rwxXt]*s.*)$"


def _chmod(sink: Sink, argv: Argv) -> None:
    """chmod MODE FILE...: a mode that starts with ``-`` is a mode, not an option."""
    mode: Word | None = None
    targets: list[Word] = []
    for word in argv[1:]:
        text = word.text
        if (mode is None and word.is_literal and re.match(_MODE, text)) or (
            word.is_literal and text.startswith("--reference=")
        ):
            mode = word
        elif word.is_literal and text.startswith("-") and mode is None:
            continue
        else:
            targets.append(word)
    if mode is not None and re.match(_SETID, mode.text):
        sink.emit(argv, Category.PRIVILEGE, "chmod sets a setuid or setgid bit")
    found = False
    for target in targets:
        found = (
            sink.write(argv, target, verb="changes the mode of") is not None or found
        )
    if not found:
        sink.emit(argv, _EDIT, "chmod changes file modes")


def _owner(category: Category, what: str) -> Handler:
    spec_ = spec("--from --reference", "-R -c -f -v -h -H -L -P --recursive")

    def handle(sink: Sink, argv: Argv) -> None:
        parsed = parse_options(argv[1:], spec_)
        sink.emit(argv, category, f"{name_of(argv[0])} {what}")
        skip = 0 if parsed.values("--reference") else 1
        for target in parsed.operands[skip:]:
            sink.write(argv, target, verb="changes the owner of")

    return handle


def _tee(sink: Sink, argv: Argv) -> None:
    parsed = parse_options(argv[1:], spec("--output-error", "-a -i -p --append"))
    for target in parsed.operands:
        sink.write(argv, target)
    sink.emit(argv, _READ, "tee copies its input to its output")


def _dd(sink: Sink, argv: Argv) -> None:
    """dd: ``of=`` is written; a device there is destroyed."""
    found = False
    for word in argv[1:]:
        key, equals, value = word.text.partition("=")
        if equals and key == "of":
            found = sink.write(argv, Word(value, word.kind)) is not None or found
    if not found:
        sink.emit(argv, _READ, "dd copies data")


# Options of readers that name a program they run (sort's helper compressor).
_RUNS_PROGRAM = ("--compress-program",)


def _output_option(what: str, options: Options, names: tuple[str, ...]) -> Handler:
    """A reader that writes only the file its output option names."""

    def handle(sink: Sink, argv: Argv) -> None:
        parsed = parse_options(argv[1:], options)
        for target in parsed.values(*names):
            sink.write(argv, target)
        for program in parsed.values(*_RUNS_PROGRAM):
            reason = f"{name_of(argv[0])} runs {program.text} as a helper"
            sink.emit(argv, Category.EXEC_OVERRIDE, reason)
            sink.command((program,))
        sink.emit(argv, _READ, f"{name_of(argv[0])} {what}")

    return handle


def _pager(sink: Sink, argv: Argv) -> None:
    """less, more: a read, but ``+CMD`` runs pager commands, ``+!CMD`` a shell."""
    name = name_of(argv[0])
    for word in argv[1:]:
        if word.text.startswith("+"):
            sink.emit(argv, Category.EXECUTE, f"{name} runs its start-up commands")
            command = word.text[1:]
            if command.startswith("!"):
                sink.shell(argv, Word(command[1:], word.kind), dialect="sh")
    sink.emit(argv, _READ, f"{name} pages through files")


def _uniq(sink: Sink, argv: Argv) -> None:
    parsed = parse_options(argv[1:], spec("-f -s -w --skip-fields --skip-chars"))
    if len(parsed.operands) > 1:
        sink.write(argv, parsed.operands[1])
    sink.emit(argv, _READ, "uniq filters repeated lines")


_EDITOR_COMMANDS = frozenset({"-c", "--cmd", "-S", "-s", "--eval", "-x"})


def _editor(sink: Sink, argv: Argv) -> None:
    """An editor: the files it opens may be written; ``-c``/``+CMD`` run commands,
    and a command starting with ``!`` is shell text."""
    name = name_of(argv[0])
    commands: list[Word] = []
    words = iter(argv[1:])
    for word in words:
        text = word.text
        if text in _EDITOR_COMMANDS:
            commands.append(next(words, Word("")))
        elif text.startswith("+"):
            commands.append(Word(text[1:], word.kind))
        elif not text.startswith("-"):
            sink.write(argv, word, verb="may write")
    for command in commands:
        sink.emit(argv, Category.EXECUTE, f"{name} runs editor commands")
        text = command.text.lstrip(":")
        if text.startswith("!"):
            sink.shell(argv, Word(text[1:], command.kind), dialect="sh")
    sink.emit(argv, _EDIT, f"{name} edits files")


_EDITS: Table = {
    "cp": _copy("copies to"),
    "mv": _copy("moves to", moves=True),
    "install": _copy("installs to"),
    "ln": _copy("links"),
    "link": writes_operands(_EDIT, "links a file", skip=1, verb="links"),
    "rm": writes_operands(
        _EDIT,
        "removes files",
        options=spec(
            "",
            "-r -R -f -i -I -d -v --recursive --force --dir --one-file-system "
            "--no-preserve-root",
            "--interactive --preserve-root",
        ),
        verb="removes",
        recursive=_recursive,
    ),
    "rmdir": writes_operands(_EDIT, "removes directories", verb="removes"),
    "unlink": writes_operands(_EDIT, "removes a file", verb="removes"),
    "touch": writes_operands(
        _EDIT, "creates or touches files", options=spec("-r --reference -d --date -t")
    ),
    "mkdir": writes_operands(
        _EDIT,
        "creates directories",
        options=spec("-m --mode --context"),
        verb="creates",
    ),
    "truncate": writes_operands(
        _EDIT, "truncates files", options=spec("-s --size -r --reference")
    ),
    "mkfifo": writes_operands(
        _EDIT, "creates a pipe", options=spec("-m --mode"), verb="creates"
    ),
    "shred": writes_operands(
        Category.DESTRUCTIVE,
        "overwrites files so they cannot be recovered",
        options=spec("-n --iterations -s --size --random-source"),
        verb="shreds",
    ),
    "setfacl": writes_operands(
        _EDIT,
        "changes file ACLs",
        options=spec(
            "-m --modify -x --remove -M --modify-file -X --remove-file --set --set-file"
        ),
        verb="changes the ACLs of",
    ),
    "sponge": writes_operands(_EDIT, "writes its input to a file"),
    "dos2unix": writes_operands(_EDIT, "converts files in place", verb="converts"),
    "unix2dos": writes_operands(_EDIT, "converts files in place", verb="converts"),
    "split": writes_operands(
        _EDIT,
        "splits a file",
        skip=1,
        options=spec("-a -b -C -l -n -t --additional-suffix"),
    ),
    "csplit": writes_operands(_EDIT, "splits a file", options=spec("-b -f -n")),
    "chmod": _chmod,
    "chown": _owner(Category.PRIVILEGE, "changes file ownership, which needs root"),
    "chgrp": _owner(_EDIT, "changes the group of files"),
    "tee": _tee,
    "dd": _dd,
    "less": _pager,
    "more": _pager,
    "most": _pager,
    "tree": _output_option("lists files", spec("-o -L -P -I --charset"), ("-o",)),
    "sort": _output_option(
        "sorts lines",
        spec(
            "-o --output -k -t -S -T --key --field-separator --buffer-size "
            "--temporary-directory --compress-program"
        ),
        ("-o", "--output"),
    ),
    "iconv": _output_option(
        "converts text",
        spec("-f -t -o --from-code --to-code --output"),
        ("-o", "--output"),
    ),
    "uniq": _uniq,
    "rg": _rg,
    "fd": _fd,
    "fdfind": _fd,
    "vi": _editor,
    "vim": _editor,
    "nvim": _editor,
    "view": _editor,
    "nano": _editor,
    "emacs": _editor,
    "micro": _editor,
    "hx": _editor,
    "kak": _editor,
    "ed": _editor,
    "ex": _editor,
}

_DESTROYERS: dict[str, Entry] = {
    name: entry(Category.DESTRUCTIVE, "erases a disk or file system")
    for name in (
        "mkfs",
        "mkfs.ext2",
        "mkfs.ext3",
        "mkfs.ext4",
        "mkfs.xfs",
        "mkfs.btrfs",
        "mkfs.vfat",
        "mkfs.fat",
        "mkfs.exfat",
        "mkfs.ntfs",
        "mke2fs",
        "mkswap",
        "wipefs",
        "fdisk",
        "sfdisk",
        "cfdisk",
        "gdisk",
        "sgdisk",
        "parted",
        "blkdiscard",
    )
}

FILE_PROGRAMS: Table = {
    **{name: entry(_READ, what) for name, what in _READERS.items()},
    **_EDITS,
    **_DESTROYERS,
    **TEXT_PROGRAMS,
}
"""File readers, writers and destroyers, by name."""
