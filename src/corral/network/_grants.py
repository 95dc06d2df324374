"""Destinations a person allowed for a session, kept across the session's runs.

The proxy process may exit between two runs of one session, so an answer
"for the session" is written to the proxy's directory, one file per session,
and read again when a run of that session registers.  Like an approval for
the session, it lapses after `SESSION_LIFETIME_SECONDS`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
from pathlib import Path

from corral.approvals._store import SESSION_LIFETIME_SECONDS

__all__ = ["SessionGrants"]


class SessionGrants:
    """The session grants kept in `directory` (the proxy's, private)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory / "sessions"
        self._lock = threading.Lock()

    def load(self, session: str) -> set[tuple[str, int]]:
        """Return the (host, port) pairs still granted to `session`."""
        with self._lock:
            return {(host, port) for host, port, _ in self._read(session)}

    def add(self, session: str, host: str, port: int) -> None:
        """Record that a person allowed `host`:`port` for `session`."""
        with self._lock:
            entries = [e for e in self._read(session) if (e[0], e[1]) != (host, port)]
            entries.append((host, port, time.time()))
            self.directory.mkdir(mode=0o700, exist_ok=True)
            path = self._path(session)
            temporary = path.with_suffix(".tmp")
            data = {"session": session, "grants": [list(e) for e in entries]}
            temporary.write_text(json.dumps(data))
            temporary.chmod(0o600)
            temporary.replace(path)

    def _path(self, session: str) -> Path:
        digest = hashlib.sha256(session.encode()).hexdigest()[:32]
        return self.directory / f"{digest}.json"

    def _read(self, session: str) -> list[tuple[str, int, float]]:
        with contextlib.suppress(FileNotFoundError, ValueError, OSError):
            data = json.loads(self._path(session).read_text())
            if data.get("session") != session:
                return []
            now = time.time()
            return [
                (str(host), int(port), float(granted))
                for host, port, granted in data.get("grants", [])
                if now - float(granted) < SESSION_LIFETIME_SECONDS
            ]
        return []
