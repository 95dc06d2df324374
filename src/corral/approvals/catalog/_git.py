"""git: global options, the configuration they set, and the subcommand.

Harmless global options (``-C DIR``, ``--no-pager``, ``--git-dir``) are skipped
to find the subcommand.  What makes git run a program it names is an
``exec-override``: ``-c`` with configuration that can name one (``core.pager``,
``alias.*``, ``diff.*.command``), ``--config-env``, ``--exec-path=PATH``.  A
``-c`` setting known to name nothing (``user.name``, ``color.ui``) is not,
since agents pass them with every commit.
"""

from __future__ import annotations

from corral.approvals._model import Category, Word
from corral.approvals.catalog._base import Argv, Sink, Table
from corral.approvals.catalog._git_config import config_runs_programs
from corral.approvals.catalog._git_read import GitCall
from corral.approvals.catalog._git_write import SUBCOMMANDS

__all__ = ["GIT_PROGRAMS"]

# Global options that take a value and change only where git looks or what
# it prints, not what it runs.
_GLOBAL_VALUED = frozenset(
    {
        "-C",
        "--git-dir",
        "--work-tree",
        "--namespace",
        "--super-prefix",
        "--list-cmds",
        "--attr-source",
    }
)
_GLOBAL_FLAGS = frozenset(
    {
        "--no-pager",
        "-P",
        "-p",
        "--paginate",
        "--no-optional-locks",
        "--literal-pathspecs",
        "--glob-pathspecs",
        "--noglob-pathspecs",
        "--icase-pathspecs",
        "--bare",
        "--no-replace-objects",
        "--no-lazy-fetch",
        "--no-advice",
        "--html-path",
        "--man-path",
        "--info-path",
        "--version",
        "--help",
        "-v",
        "-h",
    }
)


def _git(sink: Sink, argv: Argv) -> None:
    """git [global options] SUBCOMMAND ...: the subcommand decides."""
    index, cwd = 1, None
    while index < len(argv):
        word = argv[index]
        if not word.is_literal:
            sink.emit(
                argv,
                Category.UNMODELLED,
                f"git {word.text} is only known at run time",
            )
            return
        text = word.text
        if not text.startswith("-"):
            break
        name, equals, value = text.partition("=")
        following = argv[index + 1] if index + 1 < len(argv) else None
        if name in ("-c", "--config-env"):
            setting = Word(value) if equals else following
            _global_config(sink, argv, name, setting)
            index += 1 if equals else 2
        elif name == "--exec-path":
            if not equals:
                sink.emit(
                    argv,
                    Category.GIT_READ,
                    "git --exec-path prints where git's programs are",
                )
                return
            sink.emit(
                argv,
                Category.EXEC_OVERRIDE,
                f"git --exec-path={value} runs git's subcommands from {value}",
            )
            index += 1
        elif name in _GLOBAL_VALUED:
            if name == "-C":
                cwd = Word(value) if equals else following
            index += 1 if equals else 2
        elif text in _GLOBAL_FLAGS:
            index += 1
        else:
            sink.emit(
                argv, Category.UNKNOWN, f"git option {text} is not one corral knows"
            )
            return
    if index >= len(argv):
        sink.emit(argv, Category.GIT_READ, "git prints its version or help")
        return
    _subcommand(sink, argv, index, cwd)


def _global_config(sink: Sink, argv: Argv, option: str, setting: Word | None) -> None:
    if setting is None:
        sink.emit(argv, Category.GIT_READ, f"git {option} without a value does nothing")
        return
    if option == "--config-env":
        # --config-env=NAME=ENVVAR: the value comes from the environment.
        name = setting.text.partition("=")[0]
        setting = Word(name + "=<from the environment>", setting.kind)
    if config_runs_programs(setting):
        key = setting.text.partition("=")[0]
        sink.emit(
            argv,
            Category.EXEC_OVERRIDE,
            f"git {option} {key} sets configuration that can name programs git runs",
        )


def _subcommand(sink: Sink, argv: Argv, at: int, cwd: Word | None) -> None:
    word = argv[at]
    handler = SUBCOMMANDS.get(word.text)
    if handler is None:
        sink.emit(
            argv,
            Category.UNKNOWN,
            f"git {word.text} is not a git command corral knows; it may be an alias "
            "from git config",
        )
        return
    handler(GitCall(sink, argv, at, cwd))


GIT_PROGRAMS: Table = {"git": _git}
"""git, by name."""
