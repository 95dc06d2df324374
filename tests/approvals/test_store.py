"""Approvals and requests in corral's state directory: what they cover, how long
they last, and that a once approval is used exactly once."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from corral.approvals._store import (
    ApprovalStore,
    Request,
    Scope,
    fingerprint,
    session_id,
)
from corral.errors import ApprovalError


def _fingerprint(**changes: object) -> str:
    values: dict[str, object] = {
        "workspace": Path("/w"),
        "cwd": Path("/w"),
        "argv": ["git", "push"],
        "boundary": {"sandbox": "workspace-write", "network": "offline"},
        "scripts": {},
    }
    values.update(changes)
    return fingerprint(**values)  # type: ignore[arg-type]


def _request(fp: str, session: str = "s1", created: float | None = None) -> Request:
    return Request(
        id=fp[:16],
        fingerprint=fp,
        workspace="/w",
        cwd="/w",
        argv=["git", "push"],
        boundary={"sandbox": "workspace-write", "network": "offline"},
        session=session,
        requested_by="someone",
        created=time.time() if created is None else created,
        parts=[],
        always_allowed=True,
    )


@pytest.mark.parametrize(
    "change",
    [
        {"workspace": Path("/other")},
        {"cwd": Path("/w/sub")},
        {"argv": ["git", "push", "--force"]},
        {"argv": ["git", "push "]},
        {"boundary": {"sandbox": "full-access", "network": "offline"}},
        {"scripts": {"package.json": "digest"}},
    ],
    ids=["workspace", "cwd", "extra argument", "argument text", "boundary", "scripts"],
)
def test_the_fingerprint_changes_with_anything_that_changes_what_runs(
    change: dict[str, object],
) -> None:
    assert _fingerprint(**change) != _fingerprint()


def test_arguments_cannot_be_regrouped_into_the_same_fingerprint() -> None:
    assert _fingerprint(argv=["a b", "c"]) != _fingerprint(argv=["a", "b c"])


def test_a_once_approval_is_used_up_by_the_first_run(tmp_path: Path) -> None:
    store = ApprovalStore(tmp_path)
    fp = _fingerprint()
    store.save_request(_request(fp))
    store.grant(store.load_request(fp[:16]), Scope.ONCE, approver="p", via="test")

    assert store.take(fp, "s1") is not None
    assert store.take(fp, "s1") is None


def test_a_session_approval_covers_its_session_only(tmp_path: Path) -> None:
    store = ApprovalStore(tmp_path)
    fp = _fingerprint()
    store.grant(_request(fp, session="s1"), Scope.SESSION, approver="p", via="test")

    assert store.take(fp, "s1") is not None
    assert store.take(fp, "s1") is not None
    assert store.take(fp, "s2") is None
    assert store.take(_fingerprint(argv=["git", "push", "-f"]), "s1") is None


def test_an_answered_request_is_no_longer_pending(tmp_path: Path) -> None:
    store = ApprovalStore(tmp_path)
    fp = _fingerprint()
    store.save_request(_request(fp))
    assert [r.id for r in store.pending()] == [fp[:16]]

    store.grant(store.load_request(fp[:16]), Scope.ONCE, approver="p", via="test")
    assert store.pending() == []
    with pytest.raises(ApprovalError, match="no pending request"):
        store.load_request(fp[:16])


def test_a_lapsed_request_cannot_be_approved(tmp_path: Path) -> None:
    store = ApprovalStore(tmp_path)
    fp = _fingerprint()
    store.save_request(_request(fp, created=time.time() - 3 * 24 * 3600))

    with pytest.raises(ApprovalError, match="lapsed"):
        store.load_request(fp[:16])
    assert store.pending() == []


def test_a_request_id_of_decimal_digits_only_is_an_id(tmp_path: Path) -> None:
    # About one id in 1,900 has no hexadecimal letter in its 16 digits.
    store = ApprovalStore(tmp_path)
    fp = "8001441949343302" + "ab" * 24
    store.save_request(_request(fp))

    assert store.load_request(fp[:16]).fingerprint == fp


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "ABC", "a b", "", "\u00df", "\u0663", "g1", "abc\n"]
)
def test_a_request_id_is_never_a_path(tmp_path: Path, name: str) -> None:
    with pytest.raises(ApprovalError, match="not a request id"):
        ApprovalStore(tmp_path).load_request(name)


def test_a_record_that_is_not_corrals_is_an_error_naming_it(tmp_path: Path) -> None:
    store = ApprovalStore(tmp_path)
    store.requests.mkdir(parents=True)
    (store.requests / "abc.json").write_text("[1, 2]")

    with pytest.raises(ApprovalError, match=r"abc\.json is not one of corral's"):
        store.load_request("abc")


def test_a_link_in_place_of_a_record_is_not_followed(tmp_path: Path) -> None:
    store = ApprovalStore(tmp_path)
    store.requests.mkdir(parents=True)
    target = tmp_path / "elsewhere.json"
    target.write_text("{}")
    (store.requests / "abc.json").symlink_to(target)

    with pytest.raises(ApprovalError, match="cannot read"):
        store.load_request("abc")


def test_records_are_private_to_their_owner(tmp_path: Path) -> None:
    store = ApprovalStore(tmp_path)
    fp = _fingerprint()
    store.save_request(_request(fp))

    assert store.root.stat().st_mode & 0o077 == 0
    assert (store.requests / f"{fp[:16]}.json").stat().st_mode & 0o077 == 0


def test_a_named_session_is_the_harness_s_own() -> None:
    assert session_id({"CORRAL_SESSION": "agent-7"}) == "named:agent-7"
    assert session_id({}) == session_id({})
    assert session_id({}).startswith(f"sid:{os.getsid(0)}:")


def test_a_pending_request_is_not_replaced_by_another_command_with_its_id(
    tmp_path: Path,
) -> None:
    store = ApprovalStore(tmp_path)
    fp = _fingerprint()
    store.save_request(_request(fp))
    other = _request(fp[:16] + "0" * (len(fp) - 16))
    other = Request(**{**other.__dict__, "id": fp[:16], "argv": ["git", "push", "-f"]})

    with pytest.raises(ApprovalError, match="already names another pending command"):
        store.save_request(other)
    assert store.load_request(fp[:16]).argv == ["git", "push"]


def test_a_request_file_must_hold_the_request_it_is_named_for(tmp_path: Path) -> None:
    store = ApprovalStore(tmp_path)
    fp = _fingerprint()
    store.save_request(_request(fp))
    (store.requests / f"{fp[:16]}.json").rename(store.requests / "abcdef.json")

    with pytest.raises(ApprovalError, match="does not hold request abcdef"):
        store.load_request("abcdef")
