"""The `corral` command line: one module per subcommand, dispatched from here.

Results go to stdout, diagnostics to stderr, and every message from corral
itself starts with ``corral:``.  Exit codes are those of `corral.errors.ExitCode`.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence

from corral.cli import _approve, _check, _doctor, _policy, _run
from corral.cli._output import claim_standard_fds, say
from corral.cli._signals import Terminated, terminate_by_exception
from corral.errors import CorralError, ExitCode

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
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
    for module in (_run, _check, _approve, _policy, _doctor):
        module.add_parser(subparsers)
    return parser


def _configure_logging(verbosity: int) -> None:
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    env_level = os.environ.get("CORRAL_LOG_LEVEL", "").upper()
    if verbosity == 0 and env_level in logging.getLevelNamesMapping():
        level = logging.getLevelNamesMapping()[env_level]
    logging.basicConfig(level=level, format="corral: %(name)s: %(message)s")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the corral command line and return its exit status."""
    claim_standard_fds()
    parser = _parser()
    args = parser.parse_args(argv)
    if args.subcommand is None:
        parser.print_help(sys.stderr)
        return ExitCode.USAGE
    _configure_logging(args.verbose)
    try:
        with terminate_by_exception():
            return int(args.handler(args))
    except CorralError as exc:
        say(str(exc))
        return int(exc.exit_code)
    except KeyboardInterrupt:
        return 128 + signal.SIGINT
    except Terminated as exc:
        return 128 + exc.signum
