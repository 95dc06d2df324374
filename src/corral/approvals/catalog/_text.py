"""Programs whose arguments hold more programs or more paths: find, sed, awk, tar.

``find -exec`` runs a command for each file found, sed and awk scripts can run
shell commands and write files, archivers extract into a directory or write an
archive, and each of those is followed or judged in turn.
"""

from __future__ import annotations

import re

from corral.approvals._context import resolve_path
from corral.approvals._model import Category, Word, WordKind
from corral.approvals.catalog._base import (
    Argv,
    Sink,
    Table,
    entry,
    name_of,
    parse_options,
    spec,
)

__all__ = ["TEXT_PROGRAMS"]

_READ = Category.READ
_EDIT = Category.EDIT

# find's options that come before the starting points.
_FIND_LEADING = frozenset({"-H", "-L", "-P"})
_FIND_LEADING_VALUED = frozenset({"-D"})
# Tests and actions of find that take one argument.
_FIND_ONE_ARGUMENT = frozenset(
    [
        "-name",
        "-iname",
        "-path",
        "-ipath",
        "-wholename",
        "-iwholename",
        "-regex",
        "-iregex",
        "-lname",
        "-ilname",
        "-type",
        "-xtype",
        "-perm",
        "-user",
        "-group",
        "-uid",
        "-gid",
        "-size",
        "-mtime",
        "-mmin",
        "-atime",
        "-amin",
        "-ctime",
        "-cmin",
        "-newer",
        "-anewer",
        "-cnewer",
        "-samefile",
        "-inum",
        "-links",
        "-maxdepth",
        "-mindepth",
        "-fstype",
        "-used",
        "-context",
        "-printf",
        "-regextype",
        "-files0-from",
    ]
)
_FIND_WRITES = frozenset({"-fprint", "-fprint0", "-fls"})
_FIND_RUNS = frozenset({"-exec", "-execdir", "-ok", "-okdir"})
# find's options and actions that test nothing: with only these, -delete
# removes everything beneath the starting points.
_FIND_NOT_TESTS = frozenset(
    [
        "-delete",
        "-depth",
        "-d",
        "-maxdepth",
        "-mindepth",
        "-mount",
        "-xdev",
        "-noleaf",
        "-ignore_readdir_race",
        "-noignore_readdir_race",
        "-daystart",
        "-follow",
        "-print",
        "-print0",
        "-true",
        "-a",
        "-and",
        ",",
        "(",
        ")",
    ]
)


def _find(sink: Sink, argv: Argv) -> None:
    """find: starting points, then an expression whose actions may run or write."""
    index = 1
    while index < len(argv) and argv[index].text in _FIND_LEADING:
        index += 1
    if index < len(argv) and argv[index].text in _FIND_LEADING_VALUED:
        index += 2
    starts: list[Word] = []
    while index < len(argv) and not _expression_start(argv[index]):
        starts.append(argv[index])
        index += 1
    expression = argv[index:]
    # What find puts for {}: a path beneath its one starting point (. when it
    # names none); with several, or one only known at run time, any path.
    base: str | None = "."
    if starts:
        base = starts[0].text if len(starts) == 1 and starts[0].is_literal else None
    found = _find_actions(sink, argv, expression, base)
    if any(w.is_literal and w.text == "-delete" for w in expression):
        every = all(
            w.text in _FIND_NOT_TESTS
            for w in expression
            if w.text.startswith(("-", "(", ")", ","))
        )
        for start in starts or [Word(".")]:
            sink.write(argv, start, verb="deletes files in", recursive=every)
        found = True
    if not found:
        sink.emit(argv, _READ, "find lists files")


def _expression_start(word: Word) -> bool:
    return (
        word.is_literal and word.text[:1] in ("-", "(", "!", ",") and word.text != "-"
    )


def _find_actions(sink: Sink, argv: Argv, expression: Argv, base: str | None) -> bool:
    """Follow -exec commands and judge -fprint files; return whether any was."""
    found = False
    index = 0
    while index < len(expression):
        text = expression[index].text
        if text in _FIND_RUNS:
            end = index + 1
            while end < len(expression) and not _ends_exec(expression, end):
                end += 1
            inner = tuple(_with_found(w, base) for w in expression[index + 1 : end])
            if inner:
                sink.command(inner)
            else:
                sink.emit(argv, Category.UNMODELLED, f"find {text} names no command")
            found = True
            index = end + 1
        elif text in _FIND_WRITES or text == "-fprintf":
            if index + 1 < len(expression):
                found = sink.write(argv, expression[index + 1]) is not None or found
            index += 3 if text == "-fprintf" else 2
        elif text in _FIND_ONE_ARGUMENT or text.startswith("-newer"):
            index += 2
        else:
            index += 1
    return found


def _ends_exec(expression: Argv, index: int) -> bool:
    word = expression[index]
    if not word.is_literal:
        return False
    return word.text == ";" or (word.text == "+" and expression[index - 1].text == "{}")


def _with_found(word: Word, base: str | None) -> Word:
    """A word of a -exec command: ``{}`` is a path found beneath `base`."""
    if word.text.startswith("{}") and base is not None:
        return Word(base.rstrip("/") + "/" + word.text, WordKind.DYNAMIC)
    if "{}" in word.text:
        return Word(word.text, WordKind.DYNAMIC)
    return word


_SED = spec(
    "-e --expression -f --file -l --line-length",
    "-n --quiet --silent -E -r --regexp-extended -s --separate -u --unbuffered "
    "-z --null-data --posix --debug --sandbox --follow-symlinks -b --binary",
    "-i --in-place",
)


def _sed(sink: Sink, argv: Argv) -> None:
    """sed: ``-i`` edits its files; a script's ``w`` writes and ``e`` runs commands.

    ``--sandbox`` is not trusted to refuse a script: after an operand it is a
    file name where getopt stops at operands (POSIXLY_CORRECT).
    """
    parsed = parse_options(argv[1:], _SED)
    scripts = parsed.values("-e", "--expression")
    files = parsed.operands
    named = parsed.values("-f", "--file")
    if not scripts and not named and files:
        scripts, files = [files[0]], files[1:]
    _sed_scripts(sink, argv, scripts, whole=not named)
    for script in named:
        _sed_file(sink, argv, script)
    found = False
    if parsed.has("-i", "--in-place"):
        suffix = [value for name, value in parsed.options if name in _IN_PLACE][-1]
        for target in files:
            found = sink.write(argv, target, verb="edits") is not None or found
            _sed_backup(sink, argv, target, suffix, parsed.has("--follow-symlinks"))
    if not found:
        sink.emit(argv, _READ, "sed edits a stream of text")


_IN_PLACE = ("-i", "--in-place")
# Files that are a stream, not a script corral can read before sed does.
_STREAM_FILES = ("-", "/dev/", "/proc/")


def _sed_file(sink: Sink, argv: Argv, script: Word) -> None:
    """``-f FILE``: a workspace file runs as code; a stream is not known."""
    if not script.is_literal or script.text.startswith(_STREAM_FILES):
        reason = f"sed runs a script from {script.text}, which corral cannot read"
        sink.emit(argv, Category.UNMODELLED, reason)
        return
    reason = f"sed runs the script in {script.text}, which can write or run"
    sink.emit(argv, Category.EXECUTE, reason, scripts=sink.scripts([script.text]))


def _sed_backup(
    sink: Sink, argv: Argv, target: Word, suffix: Word | None, follows: bool
) -> None:
    """``-iSUFFIX``: the file, renamed to its backup's name, keeps its mode.

    GNU sed replaces each ``*`` of SUFFIX with the file's name as given (else
    appends SUFFIX to it), so ``-i'DIR/*'`` moves the original into DIR.
    """
    if suffix is None or suffix.text in ("", "*"):
        return
    if follows and "*" in suffix.text:
        # sed names the backup after where the link leads.
        reason = f"sed -i{suffix.text} --follow-symlinks names backups after links"
        sink.emit(argv, Category.UNMODELLED, reason)
        return
    text = suffix.text
    backup = text.replace("*", target.text) if "*" in text else target.text + text
    sink.write(argv, Word(backup, target.kind), verb="backs up to")


def _sed_scripts(sink: Sink, argv: Argv, scripts: list[Word], *, whole: bool) -> None:
    """The ``-e`` scripts, read together as sed joins them.

    `whole`: they are all of the script (no ``-f`` file adds to it).
    """
    for script in scripts:
        if not script.is_literal:
            reason = f"sed runs a script only known at run time: {script.text}"
            sink.emit(argv, Category.UNMODELLED, reason)
    known = [script.text for script in scripts if script.is_literal]
    if not known:
        return
    # Only a sed command needs sed's grammar.
    from corral.approvals.catalog._sed import read_script  # noqa: PLC0415

    read = read_script(known, whole=whole and len(known) == len(scripts))
    if read.runs:
        sink.emit(argv, Category.EXECUTE, "sed's script runs shell commands (e)")
    if read.runs_input:
        reason = "sed's e or s///e runs text made from its input as shell commands"
        sink.emit(argv, Category.UNMODELLED, reason)
    for command in read.commands:
        # sed runs the text with /bin/sh, which need not be bash.
        sink.shell(argv, Word(command.strip()), dialect="sh")
    for target in read.writes:
        sink.write(argv, Word(target))
    for source in read.reads:
        _sed_reads(sink, argv, source)
    if read.problem is not None:
        reason = f"corral cannot read sed's script: {read.problem}"
        sink.emit(argv, Category.UNMODELLED, reason)


def _sed_reads(sink: Sink, argv: Argv, source: str) -> None:
    """``r FILE`` and ``R FILE`` put FILE into sed's output: a hidden one is read.

    A relative name is judged from the command's directory, and also by the
    hidden paths' names (``.ssh/...``), since a ``cd`` before sed may have moved it.
    """
    context = sink.context
    path = resolve_path(source, str(context.cwd))
    hidden = context.hidden_entry(path)
    named = "/" + source.strip("/") + "/"
    if hidden is not None:
        shown = context.shown(path)
    elif not source.startswith("/") and any(
        marker + "/" in named for marker in context.hidden_markers
    ):
        shown = source
    else:
        return
    sink.emit(argv, Category.SECRET, f"sed reads the hidden path {shown}")


_AWK = spec(
    "-f --file -v --assign -F --field-separator -i --include -l --load -E --exec "
    "-e --source",
    "-b -c -C -d -D -g -h -L -M -n -N -o -O -p -P -r -s -S -t -V",
)
# The awk patterns are text, compiled by `re` (which keeps them) when a program is
# first read: most commands are not awk, and need not compile them.
# awk's system(), and pipes to or from a command, run shell commands.
_AWK_RUNS = r"\bsystem\s*\(|\|"
# The shell text of system("...") and of "..." | getline or print | "...".
_AWK_COMMANDS = (
    r'\bsystem\s*\(\s*"([^"\\]*)"\s*\)|"([^"\\]*)"\s*\|\s*getline|\|\s*"([^"\\]*)"'
)
# print and printf with ">" write the file named after it.
_AWK_WRITES = r"\bprintf?\b[^;{}\n]*>"


def _awk(sink: Sink, argv: Argv) -> None:
    """awk: its program can run commands (system, pipes) and write files (>)."""
    name = name_of(argv[0])
    parsed = parse_options(argv[1:], _AWK)
    files = parsed.values("-f", "--file", "-E", "--exec")
    operands = parsed.operands
    programs = parsed.values("-e", "--source")
    if not files and not programs and operands:
        programs, operands = operands[:1], operands[1:]
    if files:
        scripts = sink.scripts([f.text for f in files if f.is_literal])
        reason = f"{name} runs a program from a file"
        sink.emit(argv, Category.EXECUTE, reason, scripts=scripts)
    for program in programs:
        _awk_program(sink, argv, program)
    if "inplace" in {w.text for w in parsed.values("-i", "--include")}:
        for target in operands:
            sink.write(argv, target, verb="edits")
    sink.emit(argv, _READ, f"{name} processes text")


def _awk_program(sink: Sink, argv: Argv, program: Word) -> None:
    name = name_of(argv[0])
    if not program.is_literal:
        reason = f"{name} runs a program only known at run time"
        sink.emit(argv, Category.EXECUTE, reason)
    elif re.search(_AWK_RUNS, program.text):
        sink.emit(argv, Category.EXECUTE, f"{name}'s program runs shell commands")
        for match in re.finditer(_AWK_COMMANDS, program.text):
            command = next(g for g in match.groups() if g is not None)
            sink.shell(argv, Word(command), dialect="sh")
    elif re.search(_AWK_WRITES, program.text):
        sink.emit(argv, _EDIT, f"{name}'s program writes files")


_TAR = spec(
    "-f --file -C --directory -T --files-from -X --exclude-from -I "
    "--use-compress-program -g --listed-incremental -b --blocking-factor -H "
    "--format -K --starting-file -N --newer --after-date -V --label --exclude "
    "--to-command --checkpoint-action --transform --xform --owner --group --mode "
    "--mtime --rsh-command --info-script --new-volume-script -F --suffix "
    "--strip-components --use-compress",
    "-x --extract --get -c --create -r --append -u --update -A --catenate "
    "--concatenate -t --list -d --diff --compare --delete -z -j -J -a -v -k -p -P "
    "-O --to-stdout -h -S -W -m --force-local",
    "--checkpoint --totals",
)
_TAR_EXTRACT = ("-x", "--extract", "--get")
_TAR_WRITE = (
    "-c",
    "--create",
    "-r",
    "--append",
    "-u",
    "--update",
    "-A",
    "--catenate",
    "--concatenate",
    "--delete",
)
_TAR_SHELL = (
    "--to-command",
    "-I",
    "--use-compress-program",
    "--info-script",
    "--new-volume-script",
    "-F",
    "--rsh-command",
)


def _tar(sink: Sink, argv: Argv) -> None:
    """tar: extracts into a directory, writes an archive, or lists one."""
    words = list(argv[1:])
    if words and words[0].is_literal and words[0].text.isalpha():
        words[0] = Word("-" + words[0].text)
    parsed = parse_options(words, _TAR)
    # tar runs these commands with /bin/sh -c.
    for program in parsed.values(*_TAR_SHELL):
        sink.shell(argv, program, dialect="sh")
    for action in parsed.values("--checkpoint-action"):
        if action.text.startswith("exec="):
            command = Word(action.text[len("exec=") :], action.kind)
            sink.shell(argv, command, dialect="sh")
    archives = parsed.values("-f", "--file")
    for archive in archives:
        if ":" in archive.text.split("/", 1)[0] and not parsed.has("--force-local"):
            sink.emit(
                argv, Category.NETWORK, f"tar reaches the remote archive {archive.text}"
            )
    if parsed.has(*_TAR_EXTRACT) and not parsed.has("-O", "--to-stdout"):
        directories = parsed.values("-C", "--directory") or [Word(".")]
        sink.write(argv, directories[-1], verb="extracts into")
    elif parsed.has(*_TAR_WRITE):
        for archive in archives:
            if archive.text != "-":
                sink.write(argv, archive)
    sink.emit(argv, _READ, "tar reads or writes an archive")


_ZIP = spec("-b -n -t -tt -x -i -P --password -O --output-file -Z -s")


def _zip(sink: Sink, argv: Argv) -> None:
    """zip ARCHIVE FILES: writes ARCHIVE; ``-TT`` names a command to test it with."""
    texts = [w.text for w in argv]
    for flag in ("-TT", "--unzip-command"):
        if flag in texts and texts.index(flag) + 1 < len(argv):
            sink.shell(argv, argv[texts.index(flag) + 1], dialect="sh")
    for text in texts:
        if text.startswith("--unzip-command="):
            sink.shell(argv, Word(text.partition("=")[2]), dialect="sh")
    parsed = parse_options([w for w in argv[1:] if w.text not in ("-TT",)], _ZIP)
    for target in [*parsed.operands[:1], *parsed.values("-O", "--output-file")]:
        sink.write(argv, target)
    if parsed.has("-m", "--move"):
        for source in parsed.operands[1:]:
            sink.write(argv, source, verb="removes")
    sink.emit(argv, _READ, "zip writes an archive")


_UNZIP = spec("-d -x -P", "-l -v -t -Z -z -p -o -n -q -j -a -C -L -X -f -u")


def _unzip(sink: Sink, argv: Argv) -> None:
    parsed = parse_options(argv[1:], _UNZIP)
    if parsed.has("-l", "-v", "-t", "-Z", "-z", "-p"):
        sink.emit(argv, _READ, "unzip lists or tests an archive")
        return
    directories = parsed.values("-d") or [Word(".")]
    if sink.write(argv, directories[-1], verb="extracts into") is None:
        sink.emit(argv, _EDIT, "unzip extracts an archive")


_COMPRESS = spec(
    "-S --suffix -o -b -T -L --level",
    "-c --stdout --to-stdout -l --list -t --test -k -f -d -z -v -q -r -n -N",
)


def _compressor(sink: Sink, argv: Argv) -> None:
    """gzip and kin: each file is replaced, unless they write to stdout."""
    parsed = parse_options(argv[1:], _COMPRESS)
    name = name_of(argv[0])
    for target in parsed.values("-o"):
        sink.write(argv, target)
    if not parsed.has("-c", "--stdout", "--to-stdout", "-l", "--list", "-t", "--test"):
        for target in parsed.operands:
            sink.write(argv, target, verb="replaces")
    sink.emit(argv, _READ, f"{name} compresses or decompresses")


def _seven_zip(sink: Sink, argv: Argv) -> None:
    parsed = parse_options(argv[1:], spec())
    operands = parsed.operands
    command = operands[0].text if operands else ""
    if command in ("x", "e"):
        outputs = [w.text[2:] for w in argv if w.is_literal and w.text.startswith("-o")]
        places = [Word(o) for o in outputs if o] or [Word(".")]
        sink.write(argv, places[-1], verb="extracts into")
    elif command in ("a", "u", "d", "rn") and len(operands) > 1:
        sink.write(argv, operands[1])
    sink.emit(argv, _READ, "7z reads or writes an archive")


_PATCH = spec(
    "-p --strip -i --input -o --output -d --directory -B --prefix -F --fuzz -r "
    "--reject-file -z --suffix -D --ifdef -V --version-control -Y --basename-prefix",
    "--dry-run -R --reverse -N --forward -E -s -t -f -u -c -n -e -l -b",
)


def _patch(sink: Sink, argv: Argv) -> None:
    """patch: changes the files its patch names, in its directory."""
    parsed = parse_options(argv[1:], _PATCH)
    if parsed.has("--dry-run"):
        sink.emit(argv, _READ, "patch --dry-run only checks a patch")
        return
    for target in [*parsed.operands[:1], *parsed.values("-o", "--output")]:
        sink.write(argv, target)
    directories = parsed.values("-d", "--directory") or [Word(".")]
    sink.write(argv, directories[-1], verb="patches files in")


def _xxd(sink: Sink, argv: Argv) -> None:
    parsed = parse_options(argv[1:], spec("-c -g -l -s -o -n -C"))
    if len(parsed.operands) > 1:
        sink.write(argv, parsed.operands[1])
    sink.emit(argv, _READ, "xxd dumps or restores bytes")


def _yq(sink: Sink, argv: Argv) -> None:
    parsed = parse_options(
        argv[1:],
        spec("-o --output-format -p --input-format --from-file", "", "-i --inplace"),
    )
    if parsed.has("-i", "--inplace"):
        for target in parsed.operands[1:]:
            sink.write(argv, target, verb="edits")
    sink.emit(argv, _READ, "yq queries YAML")


def _mktemp(sink: Sink, argv: Argv) -> None:
    parsed = parse_options(
        argv[1:],
        spec(
            "-p --tmpdir --suffix",
            "-d -u -q -t --directory --dry-run --quiet",
            "--tmpdir",
        ),
    )
    directories = parsed.values("-p", "--tmpdir")
    if directories:
        sink.write(argv, directories[-1], verb="creates a file in")
    elif parsed.operands and not parsed.has("-t"):
        sink.write(argv, parsed.operands[0], verb="creates")
    sink.emit(argv, _EDIT, "mktemp creates a temporary file")


def _mknod(sink: Sink, argv: Argv) -> None:
    parsed = parse_options(argv[1:], spec("-m --mode -Z --context"))
    kind = parsed.operands[1].text if len(parsed.operands) > 1 else ""
    if kind in ("b", "c", "u"):
        sink.emit(
            argv, Category.PRIVILEGE, "mknod creates a device file, which needs root"
        )
    for target in parsed.operands[:1]:
        sink.write(argv, target, verb="creates")


def _chattr(sink: Sink, argv: Argv) -> None:
    sink.emit(
        argv, Category.PRIVILEGE, "chattr changes file attributes, which needs root"
    )
    operands = [w for w in argv[1:] if w.text[:1] not in "-+=" or not w.is_literal]
    for target in operands:
        sink.write(argv, target, verb="changes the attributes of")


TEXT_PROGRAMS: Table = {
    "find": _find,
    "sed": _sed,
    "gsed": _sed,
    "awk": _awk,
    "gawk": _awk,
    "mawk": _awk,
    "nawk": _awk,
    "tar": _tar,
    "gtar": _tar,
    "bsdtar": _tar,
    "zip": _zip,
    "unzip": _unzip,
    "7z": _seven_zip,
    "7za": _seven_zip,
    "7zr": _seven_zip,
    "patch": _patch,
    "xxd": _xxd,
    "yq": _yq,
    "mktemp": _mktemp,
    "mknod": _mknod,
    "chattr": _chattr,
    **dict.fromkeys(
        (
            "gzip",
            "gunzip",
            "bzip2",
            "bunzip2",
            "xz",
            "unxz",
            "lzma",
            "unlzma",
            "zstd",
            "unzstd",
            "lz4",
            "unlz4",
            "brotli",
            "compress",
            "uncompress",
            "pigz",
            "pbzip2",
            "lzip",
        ),
        _compressor,
    ),
    **dict.fromkeys(
        ("zcat", "bzcat", "xzcat", "zstdcat", "lz4cat", "zless", "zmore"),
        entry(_READ, "prints compressed files"),
    ),
}
"""Programs that run commands or write files named inside their arguments."""
