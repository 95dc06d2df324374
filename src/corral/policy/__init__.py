"""Policy: the three layers of files, merged strictest-wins, with each value's origin."""

from __future__ import annotations

from corral.policy._model import NetworkMode, Policy, SandboxMode, stricter_of

__all__ = ["NetworkMode", "Policy", "SandboxMode", "stricter_of"]
