"""The `corral` command line: one module per subcommand, dispatched from here.

Results go to stdout, diagnostics to stderr, and every message from corral
itself starts with ``corral:``.  Exit codes are those of `corral.errors.ExitCode`.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import os
import signal
import sys
from collections.abc import Iterator, Sequence

from corral._logger import configure_later
from corral.cli._output import claim_standard_fds, say
from corral.cli._signals import Terminated, terminate_by_exception
from corral.errors import CorralError, ExitCode

__all__ = ["main"]


# Each subcommand's module, in the order ``corral --help`` lists them.
_SUBCOMMANDS = {
    "run": "corral.cli._run",
    "check": "corral.cli._check",
    "approve": "corral.cli._approve",
    "event": "corral.cli._event",
    "log": "corral.cli._log",
    "policy": "corral.cli._policy",
    "doctor": "corral.cli._doctor",
}


def _parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    """The command line's parser, with the subcommands `argv` may need.

    Only the subcommand `argv` names has its module imported (a ``corral run``
    does not pay for the log viewer); when that is not certain, every one is.
    """
    parser = argparse.ArgumentParser(
        prog="corral",
        description="Run an agent's shell commands inside a kernel-enforced boundary.",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="more diagnostics on stderr (-vv for debug)",
    )
    subparsers = parser.add_subparsers(dest="subcommand", metavar="SUBCOMMAND")
    chosen = _chosen_subcommand(argv)
    for name, module in _SUBCOMMANDS.items():
        if chosen in (None, name):
            importlib.import_module(module).add_parser(subparsers)
    return parser


def _chosen_subcommand(argv: Sequence[str]) -> str | None:
    """Return the subcommand `argv` names, when argparse must read it so; else None.

    It is the first argument after any number of ``-v``, ``-vv`` or
    ``--verbose`` (or its abbreviation): the only options before it that take
    no value.  Anything else first (``-h``, ``--``, a typo) gives None.
    """
    for arg in argv:
        verbose = len(arg) > 1 and arg.startswith("-") and arg.strip("v") == "-"
        if not verbose and not (len(arg) > 2 and "--verbose".startswith(arg)):
            return arg if arg in _SUBCOMMANDS else None
    return None


_LOG_FORMAT = "corral: %(name)s: %(message)s"


def _configure_logging(verbosity: int) -> None:
    env_level = os.environ.get("CORRAL_LOG_LEVEL", "").upper()
    if verbosity == 0 and not env_level:
        # Warnings only: `logging` is loaded once one is logged, if ever.
        configure_later(_LOG_FORMAT)
        return
    import logging  # noqa: PLC0415 (asked for: -v or CORRAL_LOG_LEVEL)

    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    if verbosity == 0 and env_level in logging.getLevelNamesMapping():
        level = logging.getLevelNamesMapping()[env_level]
    logging.basicConfig(level=level, format=_LOG_FORMAT)


# Subcommands that act (run a command, answer for a person, add to the trail):
# their failures are events; the ones that only read are not.
_RECORDED_SUBCOMMANDS = ("run", "approve", "event")


def _record_failure(subcommand: str, exc: CorralError) -> None:
    """Record ``corral.error`` for a failure no event describes yet, if it can be."""
    from corral._home import check_home  # noqa: PLC0415 (only on failure)
    from corral._state import state_dir  # noqa: PLC0415
    from corral.audit import record_event  # noqa: PLC0415

    with contextlib.suppress(CorralError):
        check_home(os.environ)  # else the state directory is not known
        record_event(
            state_dir(),
            "corral.error",
            {
                "subcommand": subcommand,
                "arguments": sys.argv[1:],
                "error": str(exc),
                "exit_status": int(exc.exit_code),
            },
        )


def _start_export() -> None:
    """Send what this command recorded to the collector, in the background."""
    from corral._state import state_dir  # noqa: PLC0415 (recording commands only)
    from corral.audit.export._start import start_export  # noqa: PLC0415

    with contextlib.suppress(CorralError):
        start_export(state_dir(), os.environ)


@contextlib.contextmanager
def _uncollected_imports(*, freeze: bool) -> Iterator[None]:
    """Import with the cyclic garbage collector paused, then, if `freeze`, freeze.

    A subcommand's modules build some hundred thousand objects (classes,
    functions, tables) that live as long as the process.  The collector would
    walk them again and again while they are built, at every full collection
    during the run and once more at exit, and free none: some 20 ms of every
    ``corral run``.  Frozen (`gc.freeze`), they are left out of every later
    collection.  Only the process's own command line freezes: a caller that
    passes argv may be a long-lived process whose heap is not corral's.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if enabled:
            gc.enable()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the corral command line and return its exit status."""
    claim_standard_fds()
    arguments = sys.argv[1:] if argv is None else argv
    with _uncollected_imports(freeze=argv is None):
        parser = _parser(arguments)
    args = parser.parse_args(arguments)
    if args.subcommand is None:
        parser.print_help(sys.stderr)
        return ExitCode.USAGE
    _configure_logging(args.verbose)
    try:
        with terminate_by_exception():
            return int(args.handler(args))
    except CorralError as exc:
        say(str(exc))
        if args.subcommand in _RECORDED_SUBCOMMANDS and not exc.recorded:
            _record_failure(args.subcommand, exc)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        return 128 + signal.SIGINT
    except Terminated as exc:
        return 128 + exc.signum
    finally:
        if args.subcommand in _RECORDED_SUBCOMMANDS:
            _start_export()
