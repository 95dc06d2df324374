"""The options ``corral run`` and ``corral policy`` share: the workspace and the policy.

``corral policy`` takes the same options as ``corral run`` so that a person can
see the policy exactly as a run with them would use it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from corral.policy import NetworkMode, SandboxMode

__all__ = ["add_command", "add_policy_options", "command_of", "policy_overrides"]


def add_policy_options(parser: argparse.ArgumentParser, *, preview: bool) -> None:
    """Add -C, --policy, --sandbox, --network and --timeout to `parser`.

    With `preview`, the help says the values only show what a run would use.
    """

    def explain(option: str, meaning: str) -> str:
        return (
            f"show the policy as 'corral run {option}' would use it"
            if preview
            else meaning
        )

    parser.add_argument(
        "-C",
        dest="directory",
        metavar="DIR",
        type=Path,
        default=Path.cwd(),
        help="workspace directory (its git top level is used; default: .)",
    )
    parser.add_argument(
        "--policy", metavar="FILE", type=Path, help="use FILE as the user policy"
    )
    parser.add_argument(
        "--sandbox",
        choices=[mode.value for mode in SandboxMode],
        help=explain("--sandbox MODE", "sandbox mode (full-access only when named)"),
    )
    parser.add_argument(
        "--network",
        choices=[mode.value for mode in NetworkMode],
        help=explain("--network MODE", "network mode"),
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help=explain(
            "--timeout SECONDS", "kill the command's whole process tree after SECONDS"
        ),
    )


def policy_overrides(args: argparse.Namespace) -> dict[str, object]:
    """Return the command-line values that override the policy files."""
    chosen = {
        "sandbox.mode": args.sandbox,
        "network.mode": args.network,
        "sandbox.timeout": args.timeout,
    }
    return {key: value for key, value in chosen.items() if value is not None}


def add_command(parser: argparse.ArgumentParser) -> None:
    """Add the trailing ``-- COMMAND...`` that ``run`` and ``check`` take."""
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="-- COMMAND")


def command_of(args: argparse.Namespace) -> list[str]:
    """Return the command given after ``--`` (empty when none was)."""
    command = list(args.command)
    return command[1:] if command[:1] == ["--"] else command
