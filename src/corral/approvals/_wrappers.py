"""Programs that run another command: env, sudo, xargs, timeout, sh -c, eval, ...

Each wrapper's own options are read as the wrapper reads them, so that the
command it runs is found and classified in turn.  A wrapper that changes
privilege also says so for itself.  An option corral does not know makes the
inner command unknowable, so it is reported as unmodelled rather than guessed.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from corral.approvals._model import Category, Word, WordKind, is_descriptor
from corral.approvals.catalog._base import (
    Argv,
    Handler,
    Options,
    Sink,
    Table,
    name_of,
    parse_options,
    spec,
)

__all__ = ["WRAPPERS", "assignment", "stdin_words"]

_PRIVILEGE = Category.PRIVILEGE
_NAME_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_NAME_CHARS = _NAME_START | frozenset("0123456789")

STDIN_WORDS = Word("<words read from stdin>", WordKind.DYNAMIC)
"""What xargs appends to its command: words only known at run time."""


def stdin_words() -> Word:
    """Return the word xargs adds to its command (known only at run time)."""
    return STDIN_WORDS


def assignment(word: Word) -> tuple[str, Word] | None:
    """Return ``(name, value)`` when `word` reads as ``NAME=value``, else None."""
    if word.kind is WordKind.GLOB:
        return None
    name, equals, value = word.text.partition("=")
    if not equals or not name or name[0] not in _NAME_START:
        return None
    if any(char not in _NAME_CHARS for char in name):
        return None
    return name, Word(value, word.kind)


@dataclass(frozen=True)
class Wrapper:
    """A program that reads its own options, maybe some operands, then a command."""

    options: Options
    operands: int = 0
    """Operands before the command (``timeout DURATION``, ``chroot NEWROOT``)."""
    category: Category | None = None
    """What the wrapper is itself, when that matters (sudo is a privilege)."""
    what: str = ""
    chdir: tuple[str, ...] = ()
    """Options that name the directory the command runs in."""
    no_command: tuple[str, ...] = ()
    """Options after which no command follows (``taskset -p PID``)."""
    assignments: bool = False
    """Whether ``NAME=value`` words before the command set its environment."""
    strict: bool = True
    """Whether an option the spec does not know makes the command unknowable."""
    writes: tuple[str, ...] = ()
    """Options that name a file the wrapper writes (``strace -o FILE``)."""


def wrapper(w: Wrapper) -> Handler:
    """Return the handler that classifies `w` and the command it runs."""

    def handle(sink: Sink, argv: Argv) -> None:
        name = name_of(argv[0])
        parsed = parse_options(argv[1:], w.options)
        if w.category is not None:
            sink.emit(argv, w.category, f"{name} {w.what}")
        for target in parsed.values(*w.writes):
            sink.write(argv, target)
        if w.strict and parsed.unknown:
            sink.emit(
                argv,
                Category.UNMODELLED,
                f"{name} option {parsed.unknown[0]} is not modelled, so the "
                "command it runs is not known",
            )
            return
        if parsed.has(*w.no_command):
            if w.category is None:
                sink.emit(argv, Category.READ, f"{name} changes a running process")
            return
        start = 1 + parsed.rest + w.operands
        if w.assignments:
            while start < len(argv) and (found := assignment(argv[start])):
                sink.environment(argv, *found)
                start += 1
        chdir = parsed.values(*w.chdir)
        if start < len(argv):
            sink.command(argv[start:], cwd=chdir[-1] if chdir else None)
        elif w.category is None:
            sink.emit(argv, Category.READ, f"{name} runs no command")

    return handle


def _digits() -> str:
    return " ".join(f"-{n}" for n in range(10))


_SUDO = Wrapper(
    spec(
        "-u --user -g --group -C --close-from -D --chdir -p --prompt -r --role "
        "-t --type -T --command-timeout -U --other-user --host",
        "-A --askpass -b --background -B --bell -E -e --edit -H --set-home -h "
        "--help -i --login -K --remove-timestamp -k --reset-timestamp -l --list "
        "-n --non-interactive -N --no-update -P --preserve-groups -S --stdin -s "
        "--shell -V --version -v --validate -R",
        "--preserve-env",
        permute=False,
    ),
    category=_PRIVILEGE,
    what="runs a command as another user (root by default)",
    chdir=("-D", "--chdir"),
    assignments=True,
)

_WRAPPERS: dict[str, Wrapper] = {
    "sudo": _SUDO,
    "sudoedit": Wrapper(_SUDO.options, category=_PRIVILEGE, what="edits files as root"),
    "doas": Wrapper(
        spec("-u -C", "-n -s -L", permute=False),
        category=_PRIVILEGE,
        what="runs a command as another user (root by default)",
    ),
    "pkexec": Wrapper(
        spec(
            "--user",
            "--disable-internal-agent --keep-cwd --help --version",
            permute=False,
        ),
        category=_PRIVILEGE,
        what="runs a command as another user (root by default)",
    ),
    "chroot": Wrapper(
        spec("--userspec --groups", "--skip-chdir --help --version", permute=False),
        operands=1,
        category=_PRIVILEGE,
        what="runs a command with another root directory",
    ),
    "nsenter": Wrapper(
        spec(
            "-t --target -S --setuid -G --setgid -N --net-socket",
            "-a --all -F --no-fork --preserve-credentials -Z --follow-context -e "
            "--env -c --join-cgroup -h --help -V --version",
            "-m --mount -u --uts -i --ipc -n --net -p --pid -U --user -C --cgroup "
            "-T --time -r --root -w --wd",
            permute=False,
        ),
        category=_PRIVILEGE,
        what="runs a command in other namespaces",
    ),
    "unshare": Wrapper(
        spec(
            "--map-user --map-group --map-users --map-groups --propagation "
            "--setgroups -R --root -w --wd -S --setuid -G --setgid -l --load-interp",
            "-f --fork -r --map-root-user -c --map-current-user --map-auto "
            "--keep-caps -h --help -V --version",
            "-m --mount -u --uts -i --ipc -n --net -p --pid -U --user -C --cgroup "
            "-T --time --mount-proc --kill-child --mount-binfmt",
            permute=False,
        ),
        category=_PRIVILEGE,
        what="runs a command in new namespaces",
    ),
    "setpriv": Wrapper(
        spec(
            "--reuid --regid --ruid --rgid --euid --egid --groups --inh-caps "
            "--ambient-caps --bounding-set --securebits --pdeathsig --selinux-label "
            "--apparmor-profile --landlock-access --landlock-rule --seccomp-filter",
            "--clear-groups --keep-groups --init-groups --reset-env --no-new-privs "
            "-d --dump -h --help -V --version",
            permute=False,
        ),
        category=_PRIVILEGE,
        what="runs a command with other credentials or capabilities",
    ),
    "sg": Wrapper(
        spec("", "", permute=False),
        operands=1,
        category=_PRIVILEGE,
        what="runs a command with another group",
    ),
    "fakeroot": Wrapper(
        spec(
            "-l --lib --faked -s -i -b",
            "-u --unknown-is-real -h -v --version",
            permute=False,
        )
    ),
    "timeout": Wrapper(
        spec(
            "-s --signal -k --kill-after",
            "--preserve-status --foreground -v --verbose --help --version",
            permute=False,
        ),
        operands=1,
    ),
    "nice": Wrapper(
        spec("-n --adjustment", _digits() + " --help --version", permute=False)
    ),
    "nohup": Wrapper(spec("", "--help --version", permute=False)),
    "stdbuf": Wrapper(
        spec("-i --input -o --output -e --error", "--help --version", permute=False)
    ),
    "ionice": Wrapper(
        spec(
            "-c --class -n --classdata -p --pid -P --pgid -u --uid",
            "-t --ignore -h --help -V --version",
            permute=False,
        ),
        no_command=("-p", "--pid", "-P", "--pgid", "-u", "--uid"),
    ),
    "chrt": Wrapper(
        spec(
            "-T --sched-runtime -P --sched-period -D --sched-deadline",
            "-a --all-tasks -b --batch -d --deadline -e --ext -f --fifo -i --idle "
            "-o --other -r --rr -R --reset-on-fork -v --verbose -h --help -V "
            "--version",
            permute=False,
        ),
        operands=1,
        no_command=("-p", "--pid", "-m", "--max"),
    ),
    "taskset": Wrapper(
        spec("", "-a --all-tasks -c --cpu-list -h --help -V --version", permute=False),
        operands=1,
        no_command=("-p", "--pid"),
    ),
    "setsid": Wrapper(
        spec("", "-c --ctty -f --fork -w --wait -h --help -V --version", permute=False)
    ),
    "strace": Wrapper(
        spec(
            "-a -b -e -E -I -o -O -p -P -s -S -u -X --trace --signal --output "
            "--attach --user --env",
            "-c -C -d -D -DD -f -F -h -i -k -n -q -r -t -T -v -V -w -x -y -z -Z "
            "--summary-only --follow-forks --output-separately --no-abbrev --help",
            permute=False,
        ),
        no_command=("-p", "--attach"),
        writes=("-o", "--output"),
    ),
    "ltrace": Wrapper(
        spec(
            "-a -A -e -F -l -n -o -p -s -u -D -w",
            "-b -c -C -f -h -i -L -r -S -t -T -V",
            permute=False,
        ),
        no_command=("-p",),
        writes=("-o",),
    ),
    "valgrind": Wrapper(
        spec("--log-file --xml-file", "", permute=False),
        strict=False,
        writes=("--log-file", "--xml-file"),
    ),
    "catchsegv": Wrapper(spec("", "", permute=False)),
}


def _env(sink: Sink, argv: Argv) -> None:
    """env: options, ``-S`` strings split into words, ``NAME=value``, a command."""
    words = list(argv[1:])
    cwd: Word | None = None
    index = 0
    while index < len(words):
        word = words[index]
        text = word.text
        if not word.is_literal or not text.startswith("-"):
            break
        if text == "--":
            index += 1
            break
        step = _env_option(sink, argv, words, index)
        if step is None:
            return
        index, chdir = step
        cwd = chdir or cwd
    while index < len(words) and (found := assignment(words[index])):
        sink.environment(argv, *found)
        index += 1
    if index < len(words):
        sink.command(tuple(words[index:]), cwd=cwd)
    else:
        sink.emit(argv, Category.READ, "env prints the environment")


_ENV = spec(
    "-u --unset -C --chdir -S --split-string",
    "-i --ignore-environment -0 --null -v --debug --list-signal-handling --help "
    "--version",
    "--default-signal --ignore-signal --block-signal",
)


def _env_option(
    sink: Sink, argv: Argv, words: list[Word], index: int
) -> tuple[int, Word | None] | None:
    """Read env's option at `index`; a ``-S`` string is spliced into `words`.

    Return the next index and the directory it names, or None when what
    follows cannot be known.
    """
    text = words[index].text
    if text == "-":
        return index + 1, None
    if text.startswith("--"):
        name, equals, value = text.partition("=")
        name = _ENV.long_name(name)
        given: Word | None = Word(value) if equals else None
        if name in _ENV.valued and given is None:
            given = words[index + 1] if index + 1 < len(words) else None
            del words[index : index + 2]
        else:
            del words[index]
        return _env_value(sink, argv, words, index, name=name, value=given)
    for position in range(1, len(text)):
        name = "-" + text[position]
        if name in _ENV.valued:
            attached = text[position + 1 :]
            given = Word(attached) if attached else None
            if given is None:
                given = words[index + 1] if index + 1 < len(words) else None
                del words[index : index + 2]
            else:
                del words[index]
            return _env_value(sink, argv, words, index, name=name, value=given)
        if name not in _ENV.flags:
            sink.emit(
                argv,
                Category.UNMODELLED,
                f"env option {name} is not modelled, so its command is not known",
            )
            return None
    return index + 1, None


def _env_value(
    sink: Sink,
    argv: Argv,
    words: list[Word],
    index: int,
    *,
    name: str,
    value: Word | None,
) -> tuple[int, Word | None] | None:
    if name in ("-S", "--split-string"):
        if value is None or not value.is_literal:
            sink.emit(
                argv,
                Category.UNMODELLED,
                "env -S splits a string only known at run time",
            )
            return None
        split = _split_string(value.text)
        if split is None:
            sink.emit(argv, Category.UNMODELLED, "env -S string does not split")
            return None
        words[index:index] = split
        return index, None
    if name in ("-C", "--chdir"):
        return index, value
    return index, None


def _split_string(text: str) -> list[Word] | None:
    """Split an ``env -S`` string as env does; ``${NAME}`` is only known at run time."""
    try:
        parts = shlex.split(text, comments=True)
    except ValueError:
        return None
    return [Word(p, WordKind.DYNAMIC if "${" in p else WordKind.LITERAL) for p in parts]


_XARGS = spec(
    "-a --arg-file -d --delimiter -E -I -L -n --max-args -P --max-procs -s "
    "--max-chars --process-slot-var",
    "-0 --null -p --interactive -r --no-run-if-empty -t --verbose -x --exit "
    "--show-limits -o --open-tty --help --version",
    "-e --eof -i --replace -l --max-lines",
    permute=False,
)


def _xargs(sink: Sink, argv: Argv) -> None:
    """xargs: its command gets words from stdin; no command means echo."""
    parsed = parse_options(argv[1:], _XARGS)
    if parsed.unknown:
        sink.emit(
            argv,
            Category.UNMODELLED,
            f"xargs option {parsed.unknown[0]} is not modelled, so the command "
            "it runs is not known",
        )
        return
    inner = argv[1 + parsed.rest :] or (Word("echo"),)
    replace = [w.text for w in parsed.values("-I")]
    if parsed.has("-i", "--replace"):
        replace.extend(w.text for w in parsed.values("-i", "--replace") or [Word("{}")])
    if replace:
        inner = tuple(_replaced(word, replace) for word in inner)
        sink.command(inner)
    else:
        sink.command((*inner, STDIN_WORDS))


def _replaced(word: Word, marks: list[str]) -> Word:
    """A word with xargs' or find's replacement string in it: known at run time."""
    if any(mark and mark in word.text for mark in marks):
        return Word(word.text, WordKind.DYNAMIC)
    return word


_SU = spec(
    "-c --command --session-command -s --shell -g --group -G --supp-group -w "
    "--whitelist-environment -u --user",
    "-l --login -m -p --preserve-environment -P --pty -f --fast -h --help -V --version",
)


def _su(sink: Sink, argv: Argv) -> None:
    """su and runuser: a user, then ``-c STRING`` or a shell reading stdin."""
    name = name_of(argv[0])
    parsed = parse_options(argv[1:], _SU)
    sink.emit(argv, _PRIVILEGE, f"{name} runs commands as another user")
    if name == "runuser" and parsed.has("-u", "--user"):
        # runuser -u USER [--] COMMAND: options stop at the command.
        plain = parse_options(argv[1:], Options(_SU.valued, _SU.flags, permute=False))
        at = 1 + plain.rest
        if at < len(argv):
            sink.command(argv[at:])
        return
    scripts = parsed.values("-c", "--command", "--session-command")
    for script in scripts:
        sink.shell(argv, script, dialect="sh")
    if not scripts:
        sink.shell(argv, None, dialect="sh")


_FLOCK = spec(
    "-w --wait --timeout -E --conflict-exit-code",
    "-s --shared -x -e --exclusive -u --unlock -n --nb --nonblock -o --close "
    "-F --no-fork --verbose -h --help -V --version",
    permute=False,
)


def _flock(sink: Sink, argv: Argv) -> None:
    """flock FILE COMMAND..., flock FILE -c STRING, or flock FD (no command)."""
    parsed = parse_options(argv[1:], _FLOCK)
    at = 1 + parsed.rest
    lock = argv[at] if at < len(argv) else None
    if lock is not None and not is_descriptor(lock.text):
        sink.write(argv, lock, verb="locks")
    rest = argv[at + 1 :]
    if rest[:1] and rest[0].text in ("-c", "--command") and rest[0].is_literal:
        sink.shell(argv, rest[1] if len(rest) > 1 else None, dialect="sh")
    elif rest:
        sink.command(rest)
    else:
        sink.emit(argv, Category.READ, "flock takes or releases a lock")


_WATCH = spec(
    "-n --interval -q --equexit",
    "-b --beep -c --color -C --no-color -e --errexit -g --chgexit -p --precise "
    "-t --no-title -w --no-wrap -x --exec -r --no-rerun -h --help -v --version",
    "-d --differences",
    permute=False,
)


def _watch(sink: Sink, argv: Argv) -> None:
    """watch: its words run through ``sh -c`` again and again (``-x``: exec'd)."""
    parsed = parse_options(argv[1:], _WATCH)
    inner = argv[1 + parsed.rest :]
    if parsed.unknown or not inner:
        sink.emit(argv, Category.UNMODELLED, "watch's command is not known")
    elif parsed.has("-x", "--exec"):
        sink.command(inner)
    elif all(word.is_literal for word in inner):
        sink.shell(argv, Word(" ".join(word.text for word in inner)), dialect="sh")
    else:
        sink.emit(argv, Category.UNMODELLED, "watch runs text only known at run time")


def _capsh(sink: Sink, argv: Argv) -> None:
    """capsh: capability options, then ``--`` and the arguments of a bash."""
    sink.emit(argv, _PRIVILEGE, "capsh changes capabilities and runs a shell")
    texts = [word.text for word in argv]
    if "--" in texts[1:]:
        at = texts.index("--", 1)
        sink.command((Word("bash"), *argv[at + 1 :]))
    elif "==" in texts[1:]:
        at = texts.index("==", 1)
        sink.command((Word("capsh"), *argv[at + 1 :]))


_EXEC = spec("-a", "-c -l")


def _exec(sink: Sink, argv: Argv) -> None:
    """exec: replaces the shell with a command; without one, only redirects."""
    parsed = parse_options(argv[1:], Options(_EXEC.valued, _EXEC.flags, permute=False))
    inner = argv[1 + parsed.rest :]
    if inner:
        sink.command(inner)
    else:
        sink.emit(argv, Category.READ, "exec without a command only redirects")


_COMMAND = spec("", "-p -v -V", permute=False)


def _command(sink: Sink, argv: Argv) -> None:
    """command: runs a program, not a function; ``-v``/``-V`` only look it up."""
    parsed = parse_options(argv[1:], _COMMAND)
    inner = argv[1 + parsed.rest :]
    if parsed.has("-v", "-V"):
        sink.emit(argv, Category.READ, "command -v says what a name would run")
    elif inner:
        sink.command(inner)
    else:
        sink.emit(argv, Category.READ, "command runs nothing")


def _builtin(sink: Sink, argv: Argv) -> None:
    """builtin NAME ...: runs the shell builtin NAME."""
    if len(argv) > 1:
        sink.command(argv[1:])
    else:
        sink.emit(argv, Category.READ, "builtin runs nothing")


_TIME = spec(
    "-f --format -o --output",
    "-p --portability -a --append -v --verbose -q --quiet --help -V --version",
    permute=False,
)


def _time(sink: Sink, argv: Argv) -> None:
    """time: measures a command (GNU time may write its report to ``-o FILE``)."""
    parsed = parse_options(argv[1:], _TIME)
    for target in parsed.values("-o", "--output"):
        sink.write(argv, target)
    inner = argv[1 + parsed.rest :]
    if inner:
        sink.command(inner)
    else:
        sink.emit(argv, Category.READ, "time runs nothing")


def _busybox(sink: Sink, argv: Argv) -> None:
    """busybox APPLET ...: runs the applet as the program of that name."""
    if len(argv) > 1 and not argv[1].text.startswith("-"):
        sink.command(argv[1:])
    else:
        sink.emit(argv, Category.READ, "busybox lists its applets")


_HANDLERS: dict[str, Handler] = {
    "env": _env,
    "xargs": _xargs,
    "su": _su,
    "runuser": _su,
    "flock": _flock,
    "watch": _watch,
    "capsh": _capsh,
    "exec": _exec,
    "command": _command,
    "builtin": _builtin,
    "time": _time,
    "busybox": _busybox,
}

WRAPPERS: Table = {
    **{name: wrapper(w) for name, w in _WRAPPERS.items()},
    **_HANDLERS,
}
"""Every wrapper, by program name."""
