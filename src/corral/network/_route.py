"""What one run may reach: the policy's entries and presets, resolved for the proxy.

The run's side builds a `RouteConfig` (it knows the workspace and reads the
presets from the tools' configuration); the proxy process receives it as JSON
and turns it into the rules it serves (`corral.network._daemon`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from corral.errors import PolicyError
from corral.network._patterns import parse_pattern
from corral.network.presets import read_preset
from corral.policy import Policy, UnknownDestinations

__all__ = ["RouteConfig", "route_config"]


@dataclass(frozen=True)
class RouteConfig:
    """The destinations of one run, each entry with the place that set it."""

    allow: tuple[tuple[str, str], ...]
    """(pattern, origin) pairs."""
    deny: tuple[tuple[str, str], ...]
    refuse_private: bool = False
    unknown: UnknownDestinations = UnknownDestinations.REFUSE
    hosts: Mapping[str, str] = field(default_factory=dict)
    context: Mapping[str, object] = field(default_factory=dict)
    """Fields every event of this run carries (run id, session, workspace)."""
    notes: tuple[str, ...] = ()
    """What the presets could not read, for the run's record."""
    environment: Mapping[str, str] = field(default_factory=dict)
    """Variables pointing the tools inside at what the presets allow."""

    def to_json(self) -> dict[str, object]:
        return {
            "allow": [list(pair) for pair in self.allow],
            "deny": [list(pair) for pair in self.deny],
            "refuse_private": self.refuse_private,
            "unknown": self.unknown.value,
            "hosts": dict(self.hosts),
            "context": dict(self.context),
        }

    def summary(self) -> dict[str, object]:
        """What the run's record says it may reach (presets as read for it)."""
        values = self.to_json()
        del values["context"]  # the record carries those fields itself
        return {
            **values,
            "notes": list(self.notes),
            "environment": dict(self.environment),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> RouteConfig:
        """Read what `to_json` writes; raises `ValueError` for anything else."""
        try:
            return cls(
                allow=_pairs(data["allow"]),
                deny=_pairs(data["deny"]),
                refuse_private=data["refuse_private"] is True,
                unknown=UnknownDestinations(str(data["unknown"])),
                hosts={str(k): str(v) for k, v in _object(data["hosts"]).items()},
                context=_object(data["context"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed route: {exc!r}") from exc


def route_config(
    policy: Policy,
    *,
    workspace: Path,
    writable: Sequence[Path],
    environ: Mapping[str, str],
    context: Mapping[str, object],
) -> RouteConfig:
    """Resolve `policy`'s network entries for one run in `workspace`.

    Presets are read now, from configuration no sandboxed command can have
    written (files beneath `writable` are skipped).  Raises `PolicyError`
    when a preset yields an entry that is not a valid destination.
    """
    allow_origin = policy.origins.get("network.allow", "policy")
    allow = [(text, allow_origin) for text in policy.network_allow]
    notes: list[str] = []
    environment: dict[str, str] = {}
    for name in policy.network_presets:
        preset = read_preset(
            name, workspace=workspace, environ=environ, writable=writable
        )
        origin = f"preset {name} ({', '.join(preset.sources) or 'nothing found'})"
        allow.extend((text, origin) for text in preset.patterns)
        notes.extend(f"preset {name}: {note}" for note in preset.notes)
        environment.update(preset.environment)
    deny_origin = policy.origins.get("network.deny", "policy")
    config = RouteConfig(
        allow=tuple(dict.fromkeys(allow)),
        deny=tuple((text, deny_origin) for text in policy.network_deny),
        refuse_private=policy.network_refuse_private,
        unknown=policy.network_unknown,
        hosts=dict(policy.network_hosts),
        context=dict(context),
        notes=tuple(notes),
        environment=environment,
    )
    _check_entries(config)
    return config


def _object(value: object) -> dict[str, object]:
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, not {value!r}")
    return dict(value)


def _pairs(value: object) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list):
        raise TypeError(f"expected a list of pairs, not {value!r}")
    pairs = []
    for pair in value:
        if not (isinstance(pair, list) and len(pair) == 2):
            raise TypeError(f"expected a [pattern, origin] pair, not {pair!r}")
        pairs.append((str(pair[0]), str(pair[1])))
    return tuple(pairs)


def _check_entries(config: RouteConfig) -> None:
    for text, origin in config.allow:
        try:
            parse_pattern(text, origin)
        except ValueError as exc:
            raise PolicyError(
                f"{origin}: the allow-list entry {text!r} is not valid: {exc}"
            ) from exc
