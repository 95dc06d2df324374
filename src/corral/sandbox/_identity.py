"""The identity layer: no_new_privs and no capabilities, then proof of both.

After `drop_privileges` a setuid binary or file capability gains nothing, and a
process running as uid 0 holds no capability; this holds whether the enforcer
runs under bubblewrap (capabilities mostly gone) or directly as real root.
"""

from __future__ import annotations

from corral import _linux
from corral.errors import SandboxSetupError

__all__ = ["drop_privileges", "verify_dropped"]

_CAP_SETPCAP = 8
"""Needed to shrink the bounding set and to set securebits."""

_CAP_LAST_CAP = "/proc/sys/kernel/cap_last_cap"
_STATUS = "/proc/self/status"

# securebits (linux/securebits.h): each flag, then the bit that locks it.
_SECBIT_NOROOT = 1 << 0  # uid 0 gains no capabilities at execve
_SECBIT_NOROOT_LOCKED = 1 << 1
_SECBIT_NO_SETUID_FIXUP = 1 << 2  # setuid() to or from 0 does not touch caps
_SECBIT_NO_SETUID_FIXUP_LOCKED = 1 << 3
_SECBIT_KEEP_CAPS = 1 << 4
_SECBIT_KEEP_CAPS_LOCKED = 1 << 5
_SECBIT_NO_CAP_AMBIENT_RAISE = 1 << 6  # no ambient capability can be raised
_SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED = 1 << 7

_SECUREBITS = (
    (_SECBIT_NOROOT, _SECBIT_NOROOT_LOCKED, True),
    (_SECBIT_NO_SETUID_FIXUP, _SECBIT_NO_SETUID_FIXUP_LOCKED, True),
    # Locked *off*: keeping permitted capabilities across setuid() away from 0
    # is a way to keep privileges, and execve clears the flag anyway.
    (_SECBIT_KEEP_CAPS, _SECBIT_KEEP_CAPS_LOCKED, False),
    (_SECBIT_NO_CAP_AMBIENT_RAISE, _SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED, True),
)
"""(flag, its lock, wanted value): every flag ends up locked."""

_ZERO_FIELDS = ("CapInh", "CapPrm", "CapEff", "CapAmb")


def drop_privileges() -> None:
    """Set no_new_privs and drop every capability from every set, then verify.

    With CAP_SETPCAP (real root) the bounding set is emptied and the securebits
    are locked too; without it (under bubblewrap) those steps are skipped, as the
    kernel would refuse them and nothing is left for them to take away.

    Raises SandboxSetupError when a step fails or the result is not as required.
    """
    _linux.set_no_new_privs()

    if _linux.capget().effective & (1 << _CAP_SETPCAP):
        for cap in range(_cap_last_cap() + 1):
            _linux.capbset_drop(cap)
        _linux.set_securebits(_locked_securebits(_linux.get_securebits()))

    _linux.cap_ambient_clear_all()
    _linux.capset(effective=0, permitted=0, inheritable=0)

    verify_dropped()


def verify_dropped() -> None:
    """Check in /proc/self/status that no capability is left and no_new_privs is set.

    Raises SandboxSetupError naming the field that is wrong.
    """
    fields = _status_fields()
    for name in _ZERO_FIELDS:
        value = fields.get(name, "missing")
        if not value or value.strip("0"):
            raise SandboxSetupError(
                f"capabilities remain after dropping them ({name} = {value}); "
                f"the kernel refused part of the drop"
            )
    if fields.get("NoNewPrivs") != "1":
        raise SandboxSetupError(
            "no_new_privs is not set after setting it; the kernel refused it"
        )


def _locked_securebits(current: int) -> int:
    """Return securebits with every flag locked, keeping flags already locked."""
    bits = 0
    for flag, lock, wanted in _SECUREBITS:
        value = bool(current & flag) if current & lock else wanted
        bits |= lock | (flag if value else 0)
    return bits


def _cap_last_cap() -> int:
    try:
        with open(_CAP_LAST_CAP, encoding="ascii") as f:  # noqa: PTH123 (pathlib costs start-up)
            return int(f.read())
    except (OSError, ValueError) as exc:
        raise SandboxSetupError(
            f"cannot read {_CAP_LAST_CAP} ({exc}); /proc must be mounted to drop "
            f"capabilities"
        ) from exc


def _status_fields() -> dict[str, str]:
    try:
        with open(_STATUS, encoding="ascii") as f:  # noqa: PTH123 (pathlib costs start-up)
            lines = f.read().splitlines()
    except OSError as exc:
        raise SandboxSetupError(
            f"cannot read {_STATUS} ({exc.strerror}); /proc must be mounted to "
            f"verify the identity layer"
        ) from exc
    fields = {}
    for line in lines:
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields
