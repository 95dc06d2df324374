"""The machine itself: processes, services, users, devices, scheduling, and corral.

Inspecting the system is a read.  What needs root (mounting, services, users,
kernel settings) or outlives the sandbox (cron, at, systemd-run) is a
privilege: the boundary drops every capability, so the attempt is either
refused or meant to step outside it.  ``corral approve`` is a privilege too:
only a person outside the sandbox approves.
"""

from __future__ import annotations

from collections.abc import Sequence

from corral.approvals._model import Category
from corral.approvals.catalog._base import (
    Argv,
    Handler,
    Sink,
    Table,
    entry,
    first_operand,
    name_of,
    names,
    parse_options,
    spec,
)

__all__ = ["SYSTEM_PROGRAMS"]

_READ = Category.READ
_PRIVILEGE = Category.PRIVILEGE

_INSPECTORS = {
    "ps": "lists processes",
    "pgrep": "finds processes",
    "pidof": "finds processes",
    "top": "shows processes",
    "htop": "shows processes",
    "btop": "shows processes",
    "uptime": "prints the load",
    "free": "prints memory use",
    "vmstat": "prints system statistics",
    "iostat": "prints disk statistics",
    "mpstat": "prints processor statistics",
    "w": "lists logged-in users",
    "who": "lists logged-in users",
    "last": "lists logins",
    "id": "prints user and group ids",
    "whoami": "prints the user name",
    "groups": "prints groups",
    "uname": "prints the system name",
    "arch": "prints the architecture",
    "nproc": "prints the processor count",
    "cal": "prints a calendar",
    "printenv": "prints the environment",
    "locale": "prints locale settings",
    "getconf": "prints system settings",
    "getent": "looks up system databases",
    "tty": "prints the terminal name",
    "stty": "shows or sets terminal settings",
    "tput": "prints terminal codes",
    "clear": "clears the terminal",
    "reset": "resets the terminal",
    "lscpu": "lists processors",
    "lsmod": "lists kernel modules",
    "lspci": "lists PCI devices",
    "lsusb": "lists USB devices",
    "lsof": "lists open files",
    "ss": "lists sockets",
    "netstat": "lists sockets",
    "ipcs": "lists IPC objects",
    "dmesg": "prints the kernel log",
    "journalctl": "prints the system log",
    "getcap": "prints file capabilities",
    "sensors": "prints sensor readings",
    "nvidia-smi": "prints GPU status",
    "info": "shows info pages",
    "apropos": "searches manual pages",
    "whatis": "describes manual pages",
    "tldr": "shows examples",
    "atq": "lists scheduled jobs",
    "notify-send": "shows a desktop notification",
}

_ADMIN = names(
    "mount umount losetup swapon swapoff modprobe insmod rmmod depmod kexec "
    "iptables ip6tables nft ufw firewall-cmd tc route brctl ethtool iwconfig "
    "setenforce semanage auditctl grub-install update-grub efibootmgr hwclock "
    "setcap useradd usermod userdel groupadd groupmod groupdel passwd chpasswd chsh "
    "chfn visudo vipw vigr gpasswd newusers newgrp bwrap bubblewrap firejail cron "
    "crond service update-alternatives ldconfig dmidecode"
)
_STOPPERS = ("shutdown", "reboot", "poweroff", "halt", "init", "telinit")


def _status_or_admin(what: str, reads: Sequence[str]) -> Handler:
    """systemctl and kin: status subcommands read; the rest change the system."""
    read_set = frozenset(reads)
    spec_ = spec(
        "-H --host -M --machine -o --output -n --lines -p --property -t --type"
    )

    def handle(sink: Sink, argv: Argv) -> None:
        at = first_operand(argv, spec_)
        command = argv[at].text if at is not None else ""
        name = name_of(argv[0])
        if at is None or command in read_set or command.startswith("list-"):
            said = f"{name} {command}" if command else name
            sink.emit(argv, _READ, f"{said} prints status")
        else:
            sink.emit(argv, _PRIVILEGE, f"{name} {command} {what}")

    return handle


_SYSTEMD_READS = (
    "status",
    "show",
    "is-active",
    "is-enabled",
    "is-failed",
    "is-system-running",
    "cat",
    "help",
    "get-default",
    "show-environment",
)


def _mount(sink: Sink, argv: Argv) -> None:
    if len(argv) == 1 or all(w.text in ("-l", "--show-labels", "-t") for w in argv[1:]):
        sink.emit(argv, _READ, "mount lists mounted file systems")
    else:
        sink.emit(argv, _PRIVILEGE, "mount changes the mount table, which needs root")


def _crontab(sink: Sink, argv: Argv) -> None:
    if any(w.text == "-l" for w in argv[1:]):
        sink.emit(argv, _READ, "crontab -l lists scheduled jobs")
    else:
        sink.emit(
            argv, _PRIVILEGE, "crontab installs jobs that cron runs outside the sandbox"
        )


def _sysctl(sink: Sink, argv: Argv) -> None:
    if any(
        "=" in w.text or w.text in ("-w", "-p", "--load", "--system") for w in argv[1:]
    ):
        sink.emit(argv, _PRIVILEGE, "sysctl changes kernel settings, which needs root")
    else:
        sink.emit(argv, _READ, "sysctl prints kernel settings")


def _ip(sink: Sink, argv: Argv) -> None:
    words = [w.text for w in argv[1:] if not w.text.startswith("-")]
    if len(words) <= 1 or words[1] in ("show", "list", "ls", "get", "lst", "sh"):
        sink.emit(argv, _READ, "ip prints network settings")
    else:
        sink.emit(argv, _PRIVILEGE, "ip changes network settings, which needs root")


def _only_bare(name: str, read: str, change: str) -> Handler:
    """hostname, date, ifconfig: without operands they print; with them they set."""

    def handle(sink: Sink, argv: Argv) -> None:
        operands = [w for w in argv[1:] if not w.text.startswith(("-", "+"))]
        setting = bool(operands) or any(w.text in ("-s", "--set") for w in argv[1:])
        if name == "date":
            setting = any(
                w.text in ("-s", "--set") or w.text.startswith("--set=")
                for w in argv[1:]
            )
        if setting:
            sink.emit(argv, _PRIVILEGE, f"{name} {change}, which needs root")
        else:
            sink.emit(argv, _READ, f"{name} {read}")

    return handle


_MAN = spec(
    "-P --pager -H --html -M --manpath -C --config-file -S -s --sections "
    "-l --local-file -L --locale"
)


def _man(sink: Sink, argv: Argv) -> None:
    """man: a read, unless it is told which pager or browser to run."""
    parsed = parse_options(argv[1:], _MAN)
    for program in parsed.values("-P", "--pager", "-H", "--html"):
        sink.emit(
            argv, Category.EXEC_OVERRIDE, f"man runs {program.text} to show pages"
        )
    if parsed.values("-C", "--config-file"):
        sink.emit(
            argv, Category.EXEC_OVERRIDE, "man -C reads a config that names programs"
        )
    sink.emit(argv, _READ, "man shows manual pages")


def _kill(sink: Sink, argv: Argv) -> None:
    sink.emit(
        argv,
        Category.EXECUTE,
        f"{name_of(argv[0])} signals processes (in the sandbox, only its own)",
    )


_SCRIPT = spec(
    "-c --command -E --echo -I --log-in -O --log-out -B --log-io -T --log-timing -m "
    "--logging-format",
    "-a --append -e --return -f --flush -q --quiet",
)


def _script(sink: Sink, argv: Argv) -> None:
    """script: records a terminal session of a shell (or ``-c COMMAND``) to a file."""
    parsed = parse_options(argv[1:], _SCRIPT)
    for target in [
        *parsed.operands[:1],
        *parsed.values(
            "-O", "--log-out", "-I", "--log-in", "-B", "--log-io", "-T", "--log-timing"
        ),
    ]:
        sink.write(argv, target)
    commands = parsed.values("-c", "--command")
    for command in commands:
        sink.shell(argv, command, dialect="sh")
    if not commands:
        sink.shell(argv, None, dialect="sh")


_CORRAL_RUN = spec(
    "-C --policy --sandbox --network --timeout", "--no-input --json", permute=False
)


def _corral_run(sink: Sink, argv: Argv, at: int) -> None:
    parsed = parse_options(argv[at + 1 :], _CORRAL_RUN)
    for mode in parsed.values("--sandbox", "--network"):
        if mode.text in ("full-access", "online", "allow-list") or not mode.is_literal:
            sink.emit(
                argv,
                Category.ESCALATION,
                f"corral run asks for {mode.text}, a weaker boundary",
            )
    inner = argv[at + 1 + parsed.rest :]
    if inner:
        sink.command(inner)
    else:
        sink.emit(argv, _READ, "corral run runs nothing")


def _corral(sink: Sink, argv: Argv) -> None:
    at = first_operand(argv, spec())
    command = argv[at].text if at is not None else ""
    if command == "approve":
        sink.emit(
            argv,
            _PRIVILEGE,
            "corral approve grants approvals, which only a person outside the sandbox "
            "gives",
        )
    elif command == "run" and at is not None:
        _corral_run(sink, argv, at)
    elif command in ("check", "policy", "doctor"):
        sink.emit(argv, _READ, f"corral {command} prints what corral would do")
    elif not command:
        sink.emit(argv, _READ, "corral prints its help")
    else:
        sink.emit(
            argv, Category.UNKNOWN, f"corral {command} is not a subcommand corral knows"
        )


SYSTEM_PROGRAMS: Table = {
    **{name: entry(_READ, what) for name, what in _INSPECTORS.items()},
    **dict.fromkeys(_ADMIN, entry(_PRIVILEGE, "changes the system, which needs root")),
    **dict.fromkeys(_STOPPERS, entry(_PRIVILEGE, "stops or restarts the machine")),
    "mount": _mount,
    "crontab": _crontab,
    "at": entry(_PRIVILEGE, "schedules a job that runs outside the sandbox"),
    "batch": entry(_PRIVILEGE, "schedules a job that runs outside the sandbox"),
    "atrm": entry(_PRIVILEGE, "removes a scheduled job"),
    "systemd-run": entry(
        _PRIVILEGE, "starts a command as a service, outside the sandbox"
    ),
    "systemctl": _status_or_admin("changes services or the system", _SYSTEMD_READS),
    "loginctl": _status_or_admin("changes sessions", _SYSTEMD_READS),
    "hostnamectl": _status_or_admin("changes the host name", _SYSTEMD_READS),
    "timedatectl": _status_or_admin("changes the clock", _SYSTEMD_READS),
    "localectl": _status_or_admin("changes the locale", _SYSTEMD_READS),
    "resolvectl": _status_or_admin(
        "changes name resolution",
        (*_SYSTEMD_READS, "query", "dns", "domain", "statistics"),
    ),
    "networkctl": _status_or_admin("changes network links", _SYSTEMD_READS),
    "busctl": _status_or_admin(
        "calls system services", ("tree", "introspect", "status")
    ),
    "sysctl": _sysctl,
    "ip": _ip,
    "hostname": _only_bare("hostname", "prints the host name", "sets the host name"),
    "date": _only_bare("date", "prints the date", "sets the clock"),
    "ifconfig": _only_bare(
        "ifconfig", "prints network interfaces", "changes network interfaces"
    ),
    "man": _man,
    "kill": _kill,
    "pkill": _kill,
    "killall": _kill,
    "script": _script,
    "tmux": entry(
        Category.UNMODELLED, "runs commands it is sent later, which corral cannot see"
    ),
    "screen": entry(
        Category.UNMODELLED, "runs commands it is sent later, which corral cannot see"
    ),
    "xdg-open": entry(
        Category.EXECUTE, "opens a file with the desktop's default program"
    ),
    "open": entry(Category.EXECUTE, "opens a file with the desktop's default program"),
    "corral": _corral,
}
"""System inspection and administration, scheduling, and corral, by name."""
