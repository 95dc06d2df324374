"""The event schema is a contract: documented, and kept by every record written."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path
from typing import Any

import pytest

from corral.audit._schema import (
    EVENTS,
    OCCASIONAL_FIELDS,
    SCHEMA_VERSION,
    STANDARD_FIELDS,
    agent_event_name,
    spec_of,
)
from tests.conftest import BOUNDARY_ONLY_RULES, Home
from tests.support import CorralCLI, events

_ROOT = Path(__file__).resolve().parents[2]


def _events_doc() -> Any:
    spec = importlib.util.spec_from_file_location(
        "events_doc", _ROOT / "scripts" / "events_doc.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_document_is_the_schema() -> None:
    """docs/events.md's reference is what scripts/events_doc.py makes of the schema."""
    doc = _events_doc()
    text = doc.DOC.read_text()
    assert doc.rendered(text) == text, "run: python scripts/events_doc.py"
    for name in EVENTS:
        assert f"### `{name}`" in text


def _undocumented(record: dict[str, Any]) -> list[str]:
    spec = spec_of(str(record["event"]))
    assert spec is not None, f"{record['event']} is not in the schema"
    known = {*STANDARD_FIELDS, *OCCASIONAL_FIELDS, *spec.fields}
    return sorted(set(record) - known)


def _check(records: list[dict[str, Any]]) -> None:
    for record in records:
        assert record["v"] == SCHEMA_VERSION
        assert _undocumented(record) == [], record["event"]
        assert set(STANDARD_FIELDS) <= set(record), record["event"]


def test_every_record_of_a_run_a_refusal_and_a_request_is_in_the_schema(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    assert corral.run(workspace, "true").returncode == 0
    assert corral.run(workspace, "sudo", "true").returncode == 126
    assert corral("run", "--no-input", "-C", str(workspace), "--", "git", "push")
    event_id = corral("event", "tool_call", "--field", "tool=Bash").stdout.strip()
    caused = corral.run(workspace, "true", env={"CORRAL_CAUSE": event_id})
    assert caused.returncode == 0
    assert corral.run(workspace, "sh", "-c", "kill -9 $$").returncode == 137
    records = events(home.state)
    _check(records)
    kinds = {str(r["event"]) for r in records}
    assert {
        "policy.loaded",
        "command.requested",
        "command.decided",
        "approval.asked",
        "command.refused",
        "command.started",
        "command.finished",
        "agent.tool_call",
    } <= kinds
    requested = [r for r in records if r["event"] == "command.requested"]
    assert requested[-2]["cause"] == event_id
    assert requested[0]["git_head"]["ref"] == "refs/heads/main"
    assert len(requested[0]["git_head"]["commit"]) == 40


def test_a_refused_connection_is_recorded_in_the_schema(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    policy = home.config / "corral" / "policy.toml"
    policy.parent.mkdir(parents=True, exist_ok=True)
    network = '[network]\nmode = "allow-list"\nallow = ["other.test"]\n'
    policy.write_text(BOUNDARY_ONLY_RULES + network)
    fetch = "import urllib.request as u; u.urlopen('http://pkg.test/', timeout=5)"
    ran = corral.run(workspace, "python3", "-c", fetch)
    assert ran.returncode != 0
    records = events(home.state)
    _check(records)
    (connection,) = [r for r in records if r["event"] == "network.connection"]
    started = [r for r in records if r["event"] == "command.started"][-1]
    assert connection["run"] == started["run"]
    assert connection["session"] == started["session"]
    assert connection["decision"] == "refuse"


def test_a_failure_before_any_command_is_a_corral_error(
    corral: CorralCLI, workspace: Path, home: Home
) -> None:
    ran = corral.run(workspace / "gone", "true")
    assert ran.returncode == 125
    records = events(home.state)
    _check(records)
    assert [r["event"] for r in records] == ["corral.error"]
    assert "does not exist" in records[0]["error"]
    assert records[0]["subcommand"] == "run"


@pytest.mark.parametrize("kind", ["prompt", "tool_call", "tool.result", "a.b.c"])
def test_a_harness_names_its_events_in_lower_case_dotted_words(kind: str) -> None:
    assert agent_event_name(kind) == f"agent.{kind}"


@pytest.mark.parametrize(
    "kind", ["", "Prompt", "tool call", "1st", "a..b", "x" * 65, "a.b.c.d.e", "é"]
)
def test_other_event_kinds_are_refused(kind: str) -> None:
    with pytest.raises(ValueError, match="lower-case dotted words"):
        agent_event_name(kind)


def test_agent_fields_stay_under_data_and_cannot_pose_as_corrals(
    corral: CorralCLI, home: Home
) -> None:
    ran = corral("event", "prompt", "--data", '{"user": "root", "event": "x"}')
    assert ran.returncode == 0, ran.stderr
    (record,) = events(home.state)
    assert record["event"] == "agent.prompt"
    assert record["data"] == {"user": "root", "event": "x"}
    assert record["id"] == ran.stdout.strip()


def test_the_git_head_of_a_workspace_is_read_without_git(
    workspace: Path, tmp_path: Path
) -> None:
    from corral._git_head import git_head  # noqa: PLC0415

    expected = subprocess.run(
        ["git", "-C", str(workspace), "rev-parse", "HEAD"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert git_head(workspace) == {"ref": "refs/heads/main", "commit": expected}
    subprocess.run(["git", "-C", str(workspace), "pack-refs", "--all"], check=True)
    assert git_head(workspace) == {"ref": "refs/heads/main", "commit": expected}
    subprocess.run(
        ["git", "-C", str(workspace), "checkout", "-q", "--detach"], check=True
    )
    assert git_head(workspace) == {"ref": None, "commit": expected}
    assert git_head(tmp_path / "nowhere") is None
    (workspace / ".git" / "HEAD").write_text("ref: ../../../etc/passwd\n")
    assert git_head(workspace)["unreadable"]  # type: ignore[index]
