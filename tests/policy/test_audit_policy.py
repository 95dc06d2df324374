"""The ``[audit]`` section: checked when read, set by managed and user policy only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corral.cli._policy import format_policy
from corral.errors import PolicyError
from corral.policy import Policy, load_policy, policy_digest, policy_to_json
from corral.policy._audit import MAX_ROTATE_BYTES, MIN_ROTATE_BYTES, parse_endpoint
from corral.policy._merge import merge_layers
from corral.policy._model import LayerKind
from corral.policy._schema import PolicyLayer, parse_layer, parse_overrides

MANAGED = "/etc/corral/requirements.toml"
USER = "/home/alice/.config/corral/policy.toml"
PROJECT = "/src/repo/.corral/policy.toml"

FULL = """
[audit]
redact = ["acme-[0-9]{6}", "(?i)internal-secret"]
rotate_bytes = 1048576
[audit.export]
endpoint = "http://127.0.0.1:4318"
timeout = 5
"""


def layer(text: str, kind: LayerKind = LayerKind.USER) -> PolicyLayer:
    origin = {LayerKind.MANAGED: MANAGED, LayerKind.USER: USER}.get(kind, PROJECT)
    return parse_layer(text.encode(), origin, kind)


def merged(managed: str | None = None, user: str | None = None) -> Policy:
    return merge_layers(
        None if managed is None else layer(managed, LayerKind.MANAGED),
        None if user is None else layer(user),
        None,
        None,
        environ={},
    )


# What is read, and how it is shown.


def test_without_audit_settings_the_built_in_values_apply() -> None:
    policy = merged()

    assert policy.audit_redact == ()
    assert policy.audit_rotate_bytes == 32 << 20
    assert policy.audit_endpoint is None
    assert policy.audit_export_timeout == 10.0
    assert all(
        policy.origins[key] == "built-in"
        for key in (
            "audit.redact",
            "audit.rotate_bytes",
            "audit.export.endpoint",
            "audit.export.timeout",
        )
    )


def test_user_policy_sets_every_audit_key_with_its_origin() -> None:
    policy = merged(user=FULL)

    assert policy.audit_redact == ("acme-[0-9]{6}", "(?i)internal-secret")
    assert policy.audit_rotate_bytes == 1 << 20
    assert policy.audit_endpoint == "http://127.0.0.1:4318"
    assert policy.audit_export_timeout == 5.0
    assert policy.origins["audit.redact"] == USER
    assert policy.origins["audit.export.endpoint"] == USER


def test_dotted_keys_are_the_same_as_the_sub_table() -> None:
    text = 'audit.export.endpoint = "http://127.0.0.1:4318"\n'

    assert layer(text).audit_endpoint == "http://127.0.0.1:4318"


def test_json_shows_audit_tables_by_their_headers() -> None:
    document = policy_to_json(merged(user=FULL))

    values = document["policy"]
    assert isinstance(values, dict)
    assert values["audit"] == {
        "redact": ["acme-[0-9]{6}", "(?i)internal-secret"],
        "rotate_bytes": 1 << 20,
    }
    assert values["audit.export"] == {
        "endpoint": "http://127.0.0.1:4318",
        "timeout": 5.0,
    }
    origins = document["origins"]
    assert isinstance(origins, dict)
    assert origins["audit.export.timeout"] == USER
    assert json.loads(json.dumps(document)) == document


def test_corral_policy_lists_each_audit_key_with_its_origin(tmp_path: Path) -> None:
    shown = format_policy(merged(user=FULL), tmp_path).splitlines()

    rows = {line.split()[0]: line.split()[1:] for line in shown}
    assert rows["audit.redact"] == [
        "acme-[0-9]{6},",
        "(?i)internal-secret",
        f"({USER})",
    ]
    assert rows["audit.rotate_bytes"] == ["1048576", f"({USER})"]
    assert rows["audit.export.endpoint"] == ["http://127.0.0.1:4318", f"({USER})"]
    assert rows["audit.export.timeout"] == ["5", "s", f"({USER})"]


def test_digest_changes_with_each_audit_setting() -> None:
    digests = {
        policy_digest(merged(user=text))
        for text in (
            "",
            '[audit]\nredact = ["x+"]\n',
            "[audit]\nrotate_bytes = 65536\n",
            '[audit.export]\nendpoint = "http://127.0.0.1:4318"\n',
            "[audit.export]\ntimeout = 3\n",
        )
    }

    assert len(digests) == 5


def test_policy_files_read_by_load_policy_carry_audit_settings(tmp_path: Path) -> None:
    user = tmp_path / "config" / "corral" / "policy.toml"
    user.parent.mkdir(parents=True)
    user.write_text(FULL)
    (tmp_path / "ws").mkdir()

    policy = load_policy(
        tmp_path / "ws",
        requirements_path=tmp_path / "absent.toml",
        environ={"XDG_CONFIG_HOME": str(tmp_path / "config"), "HOME": str(tmp_path)},
    )

    assert policy.audit_endpoint == "http://127.0.0.1:4318"
    assert policy.origins["audit.export.endpoint"] == str(user)


def load_with(tmp_path: Path, own: str, named: str | None = None) -> Policy:
    """Load with the user's own policy `own`, and a file `named` for the run."""
    own_file = tmp_path / "config" / "corral" / "policy.toml"
    own_file.parent.mkdir(parents=True, exist_ok=True)
    own_file.write_text(own)
    named_file = None
    if named is not None:
        named_file = tmp_path / "named.toml"
        named_file.write_text(named)
    (tmp_path / "ws").mkdir(exist_ok=True)
    return load_policy(
        tmp_path / "ws",
        user_policy=named_file,
        requirements_path=tmp_path / "absent.toml",
        environ={"XDG_CONFIG_HOME": str(tmp_path / "config"), "HOME": str(tmp_path)},
    )


def test_a_policy_file_named_for_a_run_keeps_your_own_audit_settings(
    tmp_path: Path,
) -> None:
    policy = load_with(tmp_path, own=FULL, named="[sandbox]\nmode = 'read-only'\n")

    own = str(tmp_path / "config" / "corral" / "policy.toml")
    assert policy.audit_endpoint == "http://127.0.0.1:4318"
    assert policy.origins["audit.export.endpoint"] == own
    assert policy.origins["sandbox.mode"] == str(tmp_path / "named.toml")


def test_a_policy_file_named_for_a_run_may_repeat_the_audit_settings(
    tmp_path: Path,
) -> None:
    policy = load_with(tmp_path, own=FULL, named=FULL)

    assert policy.audit_redact == ("acme-[0-9]{6}", "(?i)internal-secret")


@pytest.mark.parametrize(
    "named",
    [
        '[audit.export]\nendpoint = "http://127.0.0.1:9"\n',
        '[audit]\nredact = [".+"]\n',
        "[audit.export]\ntimeout = 1\n",
    ],
)
def test_a_policy_file_named_for_a_run_cannot_change_the_audit_settings(
    tmp_path: Path, named: str
) -> None:
    with pytest.raises(PolicyError) as raised:
        load_with(tmp_path, own=FULL, named=named)

    message = str(raised.value)
    assert message.startswith(f"{tmp_path / 'named.toml'}: audit.")
    assert "named for one run cannot change the audit settings" in message


def test_naming_your_own_policy_file_is_reading_it(tmp_path: Path) -> None:
    own = tmp_path / "config" / "corral" / "policy.toml"
    own.parent.mkdir(parents=True)
    own.write_text(FULL)
    (tmp_path / "ws").mkdir()

    policy = load_policy(
        tmp_path / "ws",
        user_policy=own,
        requirements_path=tmp_path / "absent.toml",
        environ={"XDG_CONFIG_HOME": str(tmp_path / "config"), "HOME": str(tmp_path)},
    )

    assert policy.audit_endpoint == "http://127.0.0.1:4318"


# Who may set them.


@pytest.mark.parametrize(
    "text",
    [
        '[audit]\nredact = ["x+"]\n',
        "[audit]\nrotate_bytes = 65536\n",
        '[audit.export]\nendpoint = "http://127.0.0.1:4318"\n',
        "[audit.export]\ntimeout = 3\n",
        "[audit]\n",
    ],
)
def test_a_project_policy_cannot_set_any_audit_key(text: str) -> None:
    with pytest.raises(PolicyError) as raised:
        layer(text, LayerKind.PROJECT)

    message = str(raised.value)
    assert message.startswith(f"{PROJECT}: [audit] cannot be set by a project policy")
    assert "the user's or the organisation's, not a project's" in message
    assert "its own collector" in message
    assert "blank the trail" in message


@pytest.mark.parametrize(
    "key", ["audit.export.endpoint", "audit.redact", "audit.rotate_bytes", "audit"]
)
def test_the_command_line_cannot_override_audit_settings(key: str) -> None:
    with pytest.raises(PolicyError, match=rf"command line: cannot override '{key}'"):
        parse_overrides({key: "http://127.0.0.1:9"})


def test_managed_requirements_set_every_audit_key() -> None:
    policy = merged(managed=FULL)

    assert policy.audit_endpoint == "http://127.0.0.1:4318"
    assert policy.origins["audit.export.endpoint"] == MANAGED
    assert policy.origins["audit.redact"] == MANAGED


@pytest.mark.parametrize(
    ("user", "key"),
    [
        (
            '[audit.export]\nendpoint = "http://127.0.0.1:9999"\n',
            "audit.export.endpoint",
        ),
        ("[audit.export]\ntimeout = 60\n", "audit.export.timeout"),
        ("[audit]\nrotate_bytes = 65536\n", "audit.rotate_bytes"),
        ('[audit]\nredact = ["acme-[0-9]{6}", "more"]\n', "audit.redact"),
        ('[audit]\nredact = ["acme-[0-9]{6}"]\n', "audit.redact"),
    ],
)
def test_user_policy_cannot_change_what_managed_requirements_set(
    user: str, key: str
) -> None:
    with pytest.raises(PolicyError) as raised:
        merged(managed=FULL, user=user)

    message = str(raised.value)
    assert message.startswith(f"{USER}: {key} = ")
    assert f"managed requirements ({MANAGED}) set" in message
    assert f"ask the administrator who owns {MANAGED}" in message


def test_user_policy_may_repeat_what_managed_requirements_set() -> None:
    repeated = FULL.replace(
        '"acme-[0-9]{6}", "(?i)internal-secret"',
        '"(?i)internal-secret", "acme-[0-9]{6}"',
    )

    policy = merged(managed=FULL, user=repeated)

    assert policy.audit_redact == ("acme-[0-9]{6}", "(?i)internal-secret")
    assert policy.origins["audit.export.endpoint"] == MANAGED


def test_user_sets_what_managed_requirements_leave_open() -> None:
    policy = merged(
        managed='[audit.export]\nendpoint = "https://collector.corp.test"\n',
        user='[audit]\nredact = ["acme-[0-9]+"]\n[audit.export]\ntimeout = 30\n',
    )

    assert policy.audit_endpoint == "https://collector.corp.test"
    assert policy.audit_redact == ("acme-[0-9]+",)
    assert policy.audit_export_timeout == 30.0
    assert policy.origins["audit.export.endpoint"] == MANAGED
    assert policy.origins["audit.redact"] == USER


def test_managed_empty_redact_list_is_the_list_the_user_cannot_add_to() -> None:
    with pytest.raises(
        PolicyError, match=r"audit\.redact = \['x\+'\] differs from \[\]"
    ):
        merged(managed="[audit]\nredact = []\n", user='[audit]\nredact = ["x+"]\n')


# Every value is checked when the policy is read.


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("(", "is not a regular expression"),
        ("[a-", "is not a regular expression"),
        ("a{2,1}", "is not a regular expression"),
        ("x*", "matches the empty string"),
        ("a|", "matches the empty string"),
        ("x" * 1001, "longer than 1000 characters"),
    ],
)
def test_a_bad_redaction_pattern_is_named_with_its_file(
    pattern: str, problem: str
) -> None:
    text = f"[audit]\nredact = [{json.dumps(pattern)}]\n"

    with pytest.raises(PolicyError) as raised:
        layer(text)

    message = str(raised.value)
    assert message.startswith(f"{USER}: audit.redact entry {pattern!r} ")
    assert problem in message


@pytest.mark.parametrize(
    "value", [MIN_ROTATE_BYTES - 1, MAX_ROTATE_BYTES + 1, 0, -1, "1MiB", 1.5e6, True]
)
def test_rotate_bytes_out_of_range_or_not_a_whole_number_is_refused(
    value: object,
) -> None:
    with pytest.raises(PolicyError, match=rf"{USER}: audit\.rotate_bytes = "):
        layer(f"[audit]\nrotate_bytes = {json.dumps(value)}\n")


@pytest.mark.parametrize("value", [MIN_ROTATE_BYTES, MAX_ROTATE_BYTES])
def test_rotate_bytes_bounds_are_allowed(value: int) -> None:
    assert layer(f"[audit]\nrotate_bytes = {value}\n").audit_rotate_bytes == value


@pytest.mark.parametrize("value", ["0", "-1", "301", "nan", "inf", '"10"', "true"])
def test_export_timeout_must_be_positive_and_bounded(value: str) -> None:
    with pytest.raises(PolicyError, match=rf"{USER}: audit\.export\.timeout = "):
        layer(f"[audit.export]\ntimeout = {value}\n")


def test_unknown_audit_keys_and_tables_are_refused() -> None:
    with pytest.raises(PolicyError, match=r"unknown key audit\.redaction; known"):
        layer('[audit]\nredaction = ["x+"]\n')
    with pytest.raises(PolicyError, match=r"unknown key audit\.export\.url; known"):
        layer('[audit.export]\nurl = "http://127.0.0.1:4318"\n')
    with pytest.raises(PolicyError, match=r"audit\.export must be a table"):
        layer('[audit]\nexport = "http://127.0.0.1:4318"\n')
    with pytest.raises(PolicyError, match=r"not a sub-table; write \[audit\.export\]"):
        layer('["audit.export"]\nendpoint = "http://127.0.0.1:4318"\n')


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("http://127.0.0.1:4318", "http://127.0.0.1:4318"),
        ("HTTPS://Collector.Corp.TEST", "https://collector.corp.test"),
        ("http://127.0.0.1:4318/", "http://127.0.0.1:4318"),
        ("https://otel.corp.test/prefix/v1/", "https://otel.corp.test/prefix/v1"),
        ("http://[::1]:4318", "http://[::1]:4318"),
        ("http://[0:0::1]", "http://[::1]"),
        ("http://localhost:4318/a%20b", "http://localhost:4318/a%20b"),
    ],
)
def test_endpoint_is_kept_in_canonical_form(written: str, canonical: str) -> None:
    assert parse_endpoint(written) == canonical


@pytest.mark.parametrize(
    ("endpoint", "problem"),
    [
        ("http://user:secret@collector.test", "user name or password"),
        ("http://token@collector.test", "user name or password"),
        ("http://collector.test/?token=x", "query or fragment"),
        ("http://collector.test/#x", "query or fragment"),
        ("ftp://collector.test", "scheme 'ftp'"),
        ("file:///etc/passwd", "scheme 'file'"),
        ("collector.test:4318", "not a URL"),
        ("http:/collector.test", "not a URL"),
        ("http://", "host is empty"),
        ("http://collector.test:0", "port"),
        ("http://collector.test:65536", "port"),
        ("http://collector.test:+80", "port"),
        ("http://collector.test:80x", "port"),
        ("http://::1:4318", "ambiguous"),
        ("http://collector test", "spaces"),
        ("http://collector.test/a b", "spaces"),
        ("http://collector.test\n", "spaces"),
        ("http://collector.test\\@evil.test", "'\\'"),
        ("http://collector.test/../x", "path segment '..'"),
        ("http://collector.test//x", "path segment ''"),
        ("http://collector.test/@evil", "path segment '@evil'"),
        ("http://collectör.test", "ASCII"),
        ("http://999.1.1.1", "looks like an IPv4 address"),
        ("http://bad_label-.test", "starts or ends with '-'"),
        ("", "not a URL"),
    ],
)
def test_a_malformed_endpoint_is_refused_saying_why(
    endpoint: str, problem: str
) -> None:
    with pytest.raises(PolicyError) as raised:
        layer(f"[audit.export]\nendpoint = {json.dumps(endpoint)}\n")

    message = str(raised.value)
    assert message.startswith(f"{USER}: audit.export.endpoint = {endpoint!r} ")
    assert problem in message


def test_endpoint_must_be_a_string() -> None:
    with pytest.raises(PolicyError, match="must be a string, not 4318"):
        layer("[audit.export]\nendpoint = 4318\n")
