"""A harness's own events: any malformed one is refused with a clear error.

Through the library (`record_agent_event`) and the real ``corral event``
command line: a bad kind, cause or data is a `CorralError` (a usage error,
exit 2, on the command line), never a Python error, and nothing is recorded.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corral.audit._agent import MAX_DATA_DEPTH, record_agent_event
from corral.errors import CorralError
from tests.conftest import Home
from tests.support import CorralCLI, events

USAGE = 2


def nested(depth: int) -> dict[str, object]:
    """An object `depth` levels deep (the outermost object is level 1)."""
    value: dict[str, object] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def agent_records(home: Home) -> list[dict[str, object]]:
    return [r for r in events(home.state) if str(r["event"]).startswith("agent.")]


def test_data_as_deep_as_the_limit_is_recorded_whole(tmp_path: Path) -> None:
    record_agent_event("deep", nested(MAX_DATA_DEPTH), state=tmp_path)
    (line,) = (tmp_path / "events.jsonl").read_text().splitlines()
    assert json.loads(line)["data"] == nested(MAX_DATA_DEPTH)


@pytest.mark.parametrize("depth", [MAX_DATA_DEPTH + 1, 50, 500, 100_000])
def test_data_deeper_than_the_limit_is_a_corral_error_naming_it(
    tmp_path: Path, depth: int
) -> None:
    with pytest.raises(CorralError, match=f"over {MAX_DATA_DEPTH} levels"):
        record_agent_event("deep", nested(depth), state=tmp_path)
    assert not (tmp_path / "events.jsonl").exists()


def test_data_that_holds_itself_is_refused_not_followed(tmp_path: Path) -> None:
    loop: dict[str, object] = {}
    loop["again"] = [loop]
    with pytest.raises(CorralError, match="levels"):
        record_agent_event("loop", loop, state=tmp_path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Bad Kind"], "lower-case dotted words"),
        (["prompt", "--data", "[1]"], "must be a JSON object"),
        (["prompt", "--data", "{"], "not JSON"),
        (["prompt", "--data", '{"a": NaN}'], "not plain JSON"),
        (["prompt", "--data", '{"a": 1e999}'], "not plain JSON"),
        (["prompt", "--data", '{"a": ' + "1" * 5000 + "}"], "not JSON"),
        (["prompt", "--data", json.dumps(nested(50))], "levels"),
        (["prompt", "--data", '{"a":' * 500 + "1" + "}" * 500], "levels"),
        (["prompt", "--data", json.dumps({"t": "x" * 70_000})], "bytes as JSON"),
        (["prompt", "--data", "{}", "--data", '{"a": 1}'], "--data once"),
        (["prompt", "--field", "novalue"], "KEY=VALUE"),
        (["prompt", "--cause", "nothex"], "not an event id"),
    ],
)
def test_every_malformed_event_is_a_usage_error_and_not_recorded(
    corral: CorralCLI, home: Home, args: list[str], message: str
) -> None:
    ran = corral("event", *args)
    assert ran.returncode == USAGE, ran.stderr
    assert ran.stderr.startswith("corral: ")
    assert message in ran.stderr
    assert "Traceback" not in ran.stderr
    assert agent_records(home) == []


def test_data_on_stdin_too_deep_for_a_json_reader_is_a_usage_error(
    corral: CorralCLI, home: Home
) -> None:
    ran = corral("event", "prompt", "--data", "-", stdin="[" * 10**6 + "]" * 10**6)
    assert ran.returncode == USAGE, ran.stderr
    assert f"over {MAX_DATA_DEPTH} levels" in ran.stderr
    assert "Traceback" not in ran.stderr
    assert agent_records(home) == []


def test_undecodable_bytes_on_stdin_are_kept_escaped_as_in_argv(
    corral: CorralCLI, home: Home
) -> None:
    import subprocess  # noqa: PLC0415

    from tests.support import CORRAL  # noqa: PLC0415

    done = subprocess.run(
        [*CORRAL, "event", "prompt", "--data", "-"],
        input=b'{"file": "a\xffb"}', env=corral.env, capture_output=True,
        check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (record,) = agent_records(home)
    assert record["data"] == {"file": "a\udcffb"}


def test_an_undecodable_byte_in_a_field_is_kept_escaped(
    corral: CorralCLI, home: Home
) -> None:
    ran = corral("event", "prompt", "--field", "file=a\udcffb")
    assert ran.returncode == 0, ran.stderr
    (record,) = agent_records(home)
    assert record["data"] == {"file": "a\udcffb"}
