"""Environment variables that make a program run code they name.

Set inline (``LD_PRELOAD=x ls``), through ``env``, ``export`` or a bare
assignment, each of these turns what would be a read into running other code:
an ``exec-override``.  Ordinary variables (``CI=1``) are not looked at.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["conditional_override", "override"]

_OVERRIDES: Mapping[str, str] = MappingProxyType(
    {
        # The shell itself.
        "BASH_ENV": "names a file bash runs before any script",
        "ENV": "names a file sh runs at start-up",
        "PROMPT_COMMAND": "names commands the shell runs before each prompt",
        "PS0": "is expanded by the shell, which can run commands",
        "PS1": "is expanded by the shell, which can run commands",
        "PS2": "is expanded by the shell, which can run commands",
        "PS4": "is expanded before each traced command, which can run commands",
        "SHELLOPTS": "turns on shell options (such as xtrace) in every bash started",
        "BASHOPTS": "turns on shell options (such as expand_aliases) in every bash",
        "IFS": "changes how the shell splits words, so commands are not what they read",
        "PATH": "changes which program each command name runs",
        "BASH_LOADABLES_PATH": "names where bash loads builtins from",
        "GCONV_PATH": "names modules the C library loads to convert text",
        # git.
        "GIT_EXEC_PATH": "names the directory git runs its subcommands from",
        "GIT_PAGER": "names the program git pipes its output through",
        "GIT_EDITOR": "names the program git runs to edit messages",
        "GIT_SEQUENCE_EDITOR": "names the program git runs to edit a rebase plan",
        "GIT_SSH": "names the program git runs to reach a remote",
        "GIT_SSH_COMMAND": "names the command git runs to reach a remote",
        "GIT_PROXY_COMMAND": "names the command git runs to connect",
        "GIT_ASKPASS": "names the program git runs to ask for a password",
        "GIT_EXTERNAL_DIFF": "names the program git runs to show differences",
        "GIT_TEMPLATE_DIR": "names the hooks a new repository is given",
        "GIT_DIR": "points git at another repository, whose config can name programs",
        "GIT_COMMON_DIR": "points git at another repository's config and hooks",
        "GIT_WORK_TREE": "points git at another work tree and its attributes",
        # Pagers, editors and viewers that other programs start.
        "PAGER": "names the program output is piped through",
        "MANPAGER": "names the program man pipes pages through",
        "SYSTEMD_PAGER": "names the program systemd tools pipe output through",
        "BAT_PAGER": "names the program bat pipes output through",
        "LESSOPEN": "names a command less runs on every file it opens",
        "LESSCLOSE": "names a command less runs after every file it opens",
        "EDITOR": "names the program run to edit files",
        "VISUAL": "names the program run to edit files",
        "BROWSER": "names the program run to open web pages",
        "VIMINIT": "holds commands vim runs at start-up",
        "EXINIT": "holds commands vi runs at start-up",
        "SSH_ASKPASS": "names the program ssh runs to ask for a password",
        "SUDO_ASKPASS": "names the program sudo runs to ask for a password",
        "TAR_OPTIONS": "adds options to tar, which can name programs it runs",
        "RSYNC_RSH": "names the program rsync runs to reach a remote",
        "RSYNC_CONNECT_PROG": "names the program rsync runs to connect",
        # Language runtimes.
        "NODE_OPTIONS": "adds options such as --require to every node",
        "PERL5OPT": "adds options such as -M to every perl",
        "PERL5LIB": "puts modules before perl's own",
        "PERLLIB": "puts modules before perl's own",
        "PERL5DB": "names code perl's debugger runs",
        "RUBYOPT": "adds options such as -r to every ruby",
        "PYTHONSTARTUP": "names a file python runs at start-up",
        "PYTHONBREAKPOINT": "names code python runs at every breakpoint",
        "JAVA_TOOL_OPTIONS": "adds options such as -javaagent to every JVM",
        "_JAVA_OPTIONS": "adds options such as -javaagent to every JVM",
        "JDK_JAVA_OPTIONS": "adds options such as -javaagent to every java",
    }
)

_OVERRIDE_PREFIXES: tuple[tuple[str, str], ...] = (
    ("LD_", "changes what the dynamic loader loads into every program"),
    ("DYLD_", "changes what the dynamic loader loads into every program"),
    ("GIT_CONFIG", "adds git configuration, which can name programs git runs"),
)

# Only stops git reading the system-wide file; it names nothing to run.
_HARMLESS = frozenset({"GIT_CONFIG_NOSYSTEM"})

# These change where a program finds its code or configuration.  A program
# that runs code anyway (a test runner) is already what it is; one that would
# otherwise only read is not a read any more.
_CONDITIONAL: Mapping[str, str] = MappingProxyType(
    {
        "PYTHONPATH": "puts modules before python's own",
        "PYTHONHOME": "replaces python's standard library",
        "PYTHONUSERBASE": "adds a directory of python modules",
        "NODE_PATH": "adds a directory of node modules",
        "RUBYLIB": "puts libraries before ruby's own",
        "HOME": "moves the home directory, whose start-up files name programs",
        "XDG_CONFIG_HOME": "moves the configuration, which can name programs",
    }
)


def override(name: str) -> str | None:
    """Say what setting `name` makes programs run, or None for an ordinary variable."""
    found = _OVERRIDES.get(name)
    if found is not None or name in _HARMLESS:
        return found
    for prefix, what in _OVERRIDE_PREFIXES:
        if name.startswith(prefix):
            return what
    return None


def conditional_override(name: str) -> str | None:
    """Say what `name` changes for a program that would otherwise only read."""
    return _CONDITIONAL.get(name)
