"""Approvals a person gave, and requests waiting for one, in corral's state directory.

The state directory is hidden from every sandbox, so a command can neither
approve itself nor read what was approved.  A request is identified by the
fingerprint of exactly what would run (`fingerprint`, from `_fingerprint`); an
approval applies to that fingerprint only, once or for one session.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from corral._digest import sha256_hex
from corral._files import StateFileError, open_regular
from corral._session import session_id
from corral._state import ensure_private_dir
from corral.approvals._fingerprint import fingerprint
from corral.approvals._model import Scope
from corral.errors import ApprovalError

__all__ = [
    "Approval",
    "ApprovalStore",
    "Request",
    "Scope",
    "fingerprint",
    "session_id",
]

# A request left unanswered this long is dropped: the person would no longer
# remember what the agent was doing when it asked.
REQUEST_LIFETIME_SECONDS = 24 * 3600
# An approval "once" that is not used soon lapses, so an old yes cannot be
# spent on a later run of the same command in a different situation.
ONCE_LIFETIME_SECONDS = 15 * 60
# A session approval outlives no working day, even if the session does.
SESSION_LIFETIME_SECONDS = 24 * 3600
# Request ids are a prefix of the fingerprint: 64 bits, so that nobody can
# make another command's id on purpose, and still short enough to copy.
REQUEST_ID_LENGTH = 16
# What an id is spelled with: a fingerprint is lowercase hexadecimal.
_HEX_DIGITS = frozenset("0123456789abcdef")
# A request file larger than this is not corral's: refuse rather than parse it.
MAX_RECORD_BYTES = 1 << 20


@dataclass(frozen=True)
class Request:
    """A command that waits for a person's approval."""

    id: str
    fingerprint: str
    workspace: str
    cwd: str
    argv: list[str]
    boundary: dict[str, str]
    session: str
    requested_by: str
    created: float
    parts: list[dict[str, object]]
    """The parts that need approval, as ``corral check --json`` shows them."""
    always_allowed: bool
    """Whether "always" may be given: not when a weaker boundary is asked for."""


@dataclass(frozen=True)
class Approval:
    """A person's yes to one fingerprint."""

    fingerprint: str
    scope: Scope
    session: str
    approver: str
    via: str
    """Where the person said yes: ``terminal`` or ``corral approve``."""
    granted: float
    expires: float

    def to_json(self) -> dict[str, object]:
        """The approval as recorded in an event."""
        return {
            "scope": str(self.scope),
            "approver": self.approver,
            "via": self.via,
            "granted": self.granted,
        }


class ApprovalStore:
    """Pending requests and given approvals under ``STATE/approvals``."""

    def __init__(self, state: Path) -> None:
        self.root = state / "approvals"
        self.requests = self.root / "requests"
        self.granted = self.root / "granted"

    def save_request(self, request: Request) -> None:
        """Keep `request` until a person answers it or it lapses.

        Raises ApprovalError rather than replace a pending request for another
        command that has the same id: the person was shown that one.
        """
        path = self.requests / f"{request.id}.json"
        pending = self._read(path)
        if pending is not None and pending.get("fingerprint") != request.fingerprint:
            raise ApprovalError(
                f"request id {request.id} already names another pending command; "
                "answer or let that request lapse, then run this command again"
            )
        self._write(path, asdict(request))

    def load_request(self, request_id: str) -> Request:
        """Return the pending request named `request_id`.

        Raises ApprovalError when there is none, or it has lapsed.
        """
        if not request_id or not set(request_id) <= _HEX_DIGITS:
            raise ApprovalError(
                f"{request_id!r} is not a request id; 'corral approve' with no id "
                "lists the pending ones"
            )
        path = self.requests / f"{request_id}.json"
        data = self._read(path)
        if data is None:
            raise ApprovalError(
                f"no pending request {request_id}; it was answered, lapsed after "
                f"{REQUEST_LIFETIME_SECONDS // 3600} hours, or belongs to another "
                "user; run the command again to ask anew"
            )
        request = _request_from(data, path)
        if request.id != request_id or not request.fingerprint.startswith(request_id):
            raise ApprovalError(f"{path} does not hold request {request_id}; remove it")
        if time.time() - request.created > REQUEST_LIFETIME_SECONDS:
            _unlink(path)
            raise ApprovalError(
                f"request {request_id} lapsed; run the command again to ask anew"
            )
        return request

    def pending(self) -> list[Request]:
        """Return the requests still waiting, oldest first; drop lapsed ones."""
        found = []
        for path in self._entries(self.requests):
            data = self._read(path)
            if data is None:
                continue
            with contextlib.suppress(ApprovalError):
                request = _request_from(data, path)
                if time.time() - request.created > REQUEST_LIFETIME_SECONDS:
                    _unlink(path)
                else:
                    found.append(request)
        return sorted(found, key=lambda r: r.created)

    def grant(
        self, request: Request, scope: Scope, *, approver: str, via: str
    ) -> Approval:
        """Record a person's approval of `request` and drop the request."""
        if scope is Scope.ALWAYS:
            raise ApprovalError("an 'always' approval is a rule, not a stored approval")
        now = time.time()
        lifetime = (
            ONCE_LIFETIME_SECONDS if scope is Scope.ONCE else SESSION_LIFETIME_SECONDS
        )
        approval = Approval(
            fingerprint=request.fingerprint,
            scope=scope,
            session=request.session,
            approver=approver,
            via=via,
            granted=now,
            expires=now + lifetime,
        )
        self._write(self._approval_path(approval), asdict(approval))
        self.drop_request(request.id)
        return approval

    def drop_request(self, request_id: str) -> None:
        """Forget a pending request (answered, or refused by the person)."""
        _unlink(self.requests / f"{request_id}.json")

    def take(self, fingerprint_: str, session: str) -> Approval | None:
        """Return an approval that covers `fingerprint_` in `session`, if any.

        A once approval is used up by the call: of two runs racing for it,
        only one gets it.  A session approval stays until it lapses.
        """
        for path in self._entries(self.granted):
            if not path.name.startswith(fingerprint_):
                continue
            approval = _approval_from(self._read(path), path)
            if approval is None or approval.expires < time.time():
                _unlink(path)
                continue
            if approval.fingerprint != fingerprint_ or approval.session != session:
                continue
            if approval.scope is Scope.SESSION:
                return approval
            claimed = path.with_name(f"{path.name}.used-{os.getpid()}")
            try:
                path.rename(claimed)
            except FileNotFoundError:
                continue
            _unlink(claimed)
            return approval
        return None

    def _approval_path(self, approval: Approval) -> Path:
        session = sha256_hex(approval.session.encode())[:16]
        name = f"{approval.fingerprint}-{approval.scope}-{session}"
        if approval.scope is Scope.ONCE:
            name += f"-{int(approval.granted * 1e6)}"
        return self.granted / f"{name}.json"

    def _entries(self, directory: Path) -> Iterator[Path]:
        try:
            names = sorted(os.listdir(directory))  # noqa: PTH208 (names, not paths)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise ApprovalError(
                f"cannot read {directory}: {exc.strerror}; corral's state "
                "directory must be readable by its owner"
            ) from exc
        for name in names:
            if name.endswith(".json"):
                yield directory / name

    def _write(self, path: Path, data: Mapping[str, object]) -> None:
        try:
            ensure_private_dir(self.root)
            ensure_private_dir(path.parent)
            temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            fd = open_regular(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
            with os.fdopen(fd, "w") as stream:
                json.dump(data, stream, sort_keys=True)
            temporary.replace(path)
        except OSError as exc:
            raise ApprovalError(
                f"cannot record the approval in {path.parent}: {exc.strerror}; "
                "check corral's state directory (corral doctor shows it)"
            ) from exc

    def _read(self, path: Path) -> dict[str, object] | None:
        try:
            fd = open_regular(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        except StateFileError as exc:
            raise ApprovalError(f"cannot read {path}: {exc}") from exc
        except OSError as exc:
            raise ApprovalError(
                f"cannot read {path}: {exc.strerror}; corral's state directory is "
                "not readable here (inside a sandbox it is hidden); run corral "
                "approve in your own terminal"
            ) from exc
        with os.fdopen(fd, "rb") as stream:
            text = stream.read(MAX_RECORD_BYTES + 1)
        if len(text) > MAX_RECORD_BYTES:
            raise ApprovalError(f"{path} is too large for one of corral's records")
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise ApprovalError(
                f"{path} is not one of corral's records ({exc}); remove it"
            ) from exc
        if not isinstance(data, dict):
            raise ApprovalError(f"{path} is not one of corral's records; remove it")
        return data


def _request_from(data: Mapping[str, object], path: Path) -> Request:
    try:
        return Request(**data)  # type: ignore[arg-type]
    except TypeError as exc:
        raise ApprovalError(
            f"{path} is not a request this corral wrote ({exc}); remove it"
        ) from exc


def _approval_from(data: Mapping[str, object] | None, path: Path) -> Approval | None:
    if data is None:
        return None
    try:
        fields = dict(data)
        fields["scope"] = Scope(str(fields["scope"]))
        return Approval(**fields)  # type: ignore[arg-type]
    except (KeyError, TypeError, ValueError) as exc:
        raise ApprovalError(
            f"{path} is not an approval this corral wrote ({exc}); remove it"
        ) from exc


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
