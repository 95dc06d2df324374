"""``corral run``: run one command inside the boundary the policy asks for.

The command is classified first (see ``corral check``): a forbidden command
is refused, one that needs approval runs only once a person approved it.  The
exit status is the command's own; 124 after a timeout, 125 when corral could
not run it, 126 when policy refused it (or it waits for approval) or the
program could not be executed, 127 when the program was not found.  With
``--json`` one JSON object describing the run ends stdout, whatever the exit
status.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from corral._home import check_home
from corral._state import state_dir
from corral.audit import new_id, record_policy_loaded
from corral.cli._admit import admit, record_assessment
from corral.cli._check import assess_command
from corral.cli._options import add_command, add_policy_options, command_of
from corral.cli._output import say, write_result
from corral.cli._prompt import ask_destination, person_present
from corral.cli._terminal import terminal_kept
from corral.errors import CorralError, ExitCode
from corral.policy import SandboxMode, user_policy_path
from corral.sandbox import Layer, RunResult, Sandbox

__all__ = ["add_parser", "run"]

# New git directories named one warning line each; the rest are counted, so a
# command that creates thousands does not bury its own output.
_NAMED_GIT_DIRS = 5


def add_parser(subparsers: Any) -> None:
    """Register ``corral run``."""
    parser = subparsers.add_parser(
        "run",
        help="run a command inside the sandbox",
        description="Run COMMAND inside a kernel-enforced boundary.",
        epilog="exit status: the command's own; 124 timeout; 125 corral could not "
        "run it; 126 refused by policy or not executable; 127 program not found",
    )
    add_policy_options(parser, preview=False)
    parser.add_argument(
        "--no-input",
        action="store_true",
        help="give the command no standard input and ask nobody: a command "
        "that needs approval is refused with how to approve it",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="end stdout with one JSON object describing the run",
    )
    add_command(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the command named on the command line; return its exit status."""
    command = command_of(args)
    if not command:
        return _usage("no command given; usage: corral run [options] -- COMMAND")
    if args.timeout is not None and args.timeout <= 0:
        return _usage("--timeout takes a positive number of seconds")

    try:
        result = _run(args, command)
    except CorralError as exc:
        if args.json:
            # --json always ends stdout with an object, so that a reader never
            # takes a line the command printed for corral's answer.
            described = {
                "argv": command,
                "exit_status": exc.exit_code,
                "error": str(exc),
                **getattr(exc, "details", {}),
            }
            write_result(json.dumps(described, sort_keys=True))
        raise
    _report(result, as_json=args.json)
    return result.exit_status


def _run(args: argparse.Namespace, command: list[str]) -> RunResult:
    check_home(os.environ)
    assessment = assess_command(args, command)
    state = state_dir()
    run_id = new_id()
    record_policy_loaded(state, assessment.policy, assessment.workspace)
    record_assessment(state, assessment, run_id, environ=os.environ)
    admitted = admit(
        assessment,
        run_id=run_id,
        state=state,
        user_policy=user_policy_path(),
        no_input=args.no_input,
        environ=os.environ,
    )
    present = person_present(no_input=args.no_input, environ=os.environ)
    sandbox = Sandbox(
        assessment.workspace,
        assessment.policy,
        git_write=assessment.git_write,
        ask=ask_destination if present else None,
    )
    _warn_weaker(assessment.policy.sandbox_mode, sandbox.profile.missing)

    stdin = os.open(os.devnull, os.O_RDONLY) if args.no_input else None
    try:
        with sandbox, terminal_kept():
            result = sandbox.run(
                command,
                cwd=args.directory.resolve(),
                stdin=stdin,
                carry_stdout=args.json,
                decision=admitted,
                run_id=run_id,
            )
    finally:
        if stdin is not None:
            os.close(stdin)
    return result


def _usage(message: str) -> int:
    say(message)
    return int(ExitCode.USAGE)


def _warn_weaker(mode: SandboxMode, missing: frozenset[Layer]) -> None:
    if mode is SandboxMode.FULL_ACCESS:
        say(
            "warning: full-access: this command runs with no sandbox at all; "
            "the run is recorded as such"
        )
    for layer in sorted(missing):
        say(
            f"warning: running without the {layer} layer, as the policy "
            "accepts (sandbox.accept_missing)"
        )


def _report(result: RunResult, *, as_json: bool) -> None:
    """Say after the command's own output what corral saw; end with JSON if asked."""
    if result.start_error is not None:
        say(result.start_error)
    if result.timed_out:
        say("the command ran past its time limit; its whole process tree was killed")
    if result.mounts_lost:
        say(
            f"the command was killed: {result.mounts_lost[0]} was renamed over or "
            "removed on the host while it ran, which takes away the sandbox's "
            "hold on it; run the command again"
        )
    for refusal in result.refusals:
        say(f"sandbox refused: {refusal.message}")
    if result.proxy_lost:
        say(
            "warning: corral's network proxy ended while the command ran; what it "
            "tried to reach after that was refused (see the proxy's log in the "
            "state directory)"
        )
    if result.scan_error is not None:
        say(
            "warning: after the command, corral could not look for git "
            f"directories it may have created: {result.scan_error}; inspect the "
            "workspace before running git in it"
        )
    for path in result.new_git_dirs[:_NAMED_GIT_DIRS]:
        say(
            f"warning: the command created the git directory {path}; its "
            "hooks and config were writable during this run; inspect them before "
            "running git there (later commands protect it)"
        )
    unnamed = len(result.new_git_dirs) - _NAMED_GIT_DIRS
    if unnamed > 0:
        say(
            f"warning: and {unnamed} more new git directories; the full list is "
            "new_git_dirs in --json and in the command.finished event record"
        )
    if as_json:
        write_result(
            json.dumps(result.to_json(), sort_keys=True),
            fresh_line=result.stdout_open_line,
        )
