"""What a fresh ``corral`` process loads: only what its subcommand and command need.

Every ``corral run`` is a new process, so what it imports is paid before every
command an agent runs.  Each test runs the command line in a fresh interpreter
and checks which modules it loaded, never how long that took.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import Home

_PROBE = """
import json, sys
from corral.cli import main
status = main(sys.argv[1:])
print(json.dumps({"status": status, "modules": sorted(sys.modules)}))
"""


def _python(home: Home, *args: str) -> subprocess.CompletedProcess[str]:
    """Run this interpreter with `args` in a fresh process, in `home`."""
    return subprocess.run(
        [sys.executable, *args],
        env=home.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _loaded(home: Home, *argv: str) -> set[str]:
    """Run ``corral ARGV`` in a fresh interpreter; return the modules it loaded."""
    done = _python(home, "-c", _PROBE, *argv)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["status"] == 0, done.stderr
    return set(result["modules"])


def _run(home: Home, workspace: Path, *command: str) -> set[str]:
    return _loaded(home, "run", "-C", str(workspace), "--", *command)


def test_a_run_logs_nothing_so_loads_no_logging(home: Home, workspace: Path) -> None:
    assert "logging" not in _run(home, workspace, "true")


def test_a_run_with_nothing_on_stderr_loads_no_refusal_patterns(
    home: Home, workspace: Path
) -> None:
    assert "corral.sandbox._refusals" not in _run(home, workspace, "true")


def test_a_run_with_no_collector_named_loads_no_log_reader_or_cursor(
    home: Home, workspace: Path
) -> None:
    assert not _run(home, workspace, "true") & {
        "corral.audit._read",
        "corral.audit._verify",
        "corral.audit.export._cursor",
        "corral.audit.export._ship",
    }


def test_a_run_digests_its_records_without_loading_openssl(
    home: Home, workspace: Path
) -> None:
    assert not _run(home, workspace, "true") & {"hashlib", "_hashlib"}


def test_a_run_with_no_policy_file_loads_no_toml_or_rule_parser(
    home: Home, workspace: Path
) -> None:
    assert not _run(home, workspace, "true") & {"tomllib", "corral.policy._rules"}


def test_a_run_of_the_command_line_loads_nothing_for_prestarted_sandboxes(
    home: Home, workspace: Path
) -> None:
    """A prestarted sandbox serves a long-lived caller; corral run has none."""
    assert not _run(home, workspace, "true") & {
        "corral.sandbox._prestart",
        "corral.sandbox._handover",
        "concurrent.futures",
    }


def test_an_offline_run_loads_no_network_proxy(home: Home, workspace: Path) -> None:
    """Offline, there is no route to mediate: no proxy, bridge, lease or resolver."""
    loaded = _run(home, workspace, "true")
    assert not {name for name in loaded if name.startswith("corral.network")}


def test_a_run_of_an_argv_loads_no_shell_parser(home: Home, workspace: Path) -> None:
    loaded = _run(home, workspace, "true")
    assert not loaded & {
        "tree_sitter",
        "tree_sitter_bash",
        "corral.approvals.shell._parse",
        "importlib.resources",
    }


def test_shell_text_loads_the_bash_grammar_without_its_package(
    home: Home, workspace: Path
) -> None:
    """tree-sitter-bash's package imports importlib.resources; its binding does not."""
    loaded = _loaded(home, "check", "-C", str(workspace), "--", "sh", "-c", "ls | wc")
    assert "tree_sitter" in loaded
    assert "corral.approvals.shell._parse" in loaded
    assert not loaded & {"tree_sitter_bash", "importlib.resources"}


def test_a_run_loads_no_other_subcommand(home: Home, workspace: Path) -> None:
    loaded = _run(home, workspace, "true")
    assert not loaded & {
        "corral.cli._approve",
        "corral.cli._doctor",
        "corral.cli._event",
        "corral.cli._log",
        "corral.cli._log_view",
        "corral.cli._policy",
    }


def test_verbose_options_before_the_subcommand_still_load_only_that_one(
    home: Home, workspace: Path
) -> None:
    loaded = _loaded(home, "-v", "--verbose", "run", "-C", str(workspace), "--", "true")
    assert "corral.cli._run" in loaded
    assert "corral.cli._doctor" not in loaded


def test_help_lists_every_subcommand(home: Home) -> None:
    done = _python(home, "-m", "corral", "--help")
    assert done.returncode == 0, done.stderr
    for name in ("run", "check", "approve", "event", "log", "policy", "doctor"):
        assert f"    {name} " in done.stdout


def test_an_unknown_subcommand_is_refused_naming_every_one(home: Home) -> None:
    done = _python(home, "-m", "corral", "-v", "rnu")
    assert done.returncode == 2
    assert (
        "invalid choice: 'rnu' (choose from 'run', 'check', 'approve', 'event', "
        "'log', 'policy', 'doctor')" in done.stderr
    )


def test_an_allowed_command_loads_nothing_for_approvals(
    home: Home, workspace: Path
) -> None:
    """It waits for nobody: no approval store, prompt or rule writer (nor tomllib)."""
    loaded = _run(home, workspace, "true")
    assert not loaded & {
        "corral.cli._approval",
        "corral.approvals._always",
        "corral.approvals._store",
        "tomllib",
    }


_COLLECTOR = """
import gc, json, sys
from corral.cli import main
was_enabled = sys.argv[1] == "enabled"
if not was_enabled:
    gc.disable()
if sys.argv[2] == "program":
    sys.argv[1:] = sys.argv[3:]
    status = main()
else:
    status = main(sys.argv[3:])
print(json.dumps([status, gc.isenabled(), gc.get_freeze_count()]))
"""


def _collector_after(home: Home, collector: str, caller: str, *argv: str) -> list[int]:
    done = _python(home, "-c", _COLLECTOR, collector, caller, *argv)
    assert done.returncode == 0, done.stderr
    result: list[int] = json.loads(done.stdout.splitlines()[-1])
    return result


def test_the_command_line_freezes_what_its_imports_built(
    home: Home, workspace: Path
) -> None:
    """Left out of later collections; the collector runs again for the rest."""
    status, enabled, frozen = _collector_after(
        home, "enabled", "program", "run", "-C", str(workspace), "--", "true"
    )
    assert status == 0
    assert enabled
    assert frozen > 0


def test_a_caller_passing_argv_keeps_its_heap_and_its_collector_setting(
    home: Home, workspace: Path
) -> None:
    argv = ("run", "-C", str(workspace), "--", "true")
    assert _collector_after(home, "enabled", "caller", *argv) == [0, True, 0]
    assert _collector_after(home, "disabled", "caller", *argv) == [0, False, 0]
