"""Provision the sandboxes corral is benchmarked against, and build their command lines.

codex sandbox and srt are installed on demand into a cache outside the repository;
`prepare` says, for each peer, either how to run it here or why it cannot, and
never installs anything unless asked to.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import platform
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from corral.errors import CorralError

__all__ = [
    "INSTALL_ADVICE",
    "PEER_MODES",
    "Missing",
    "Peer",
    "PeerCacheError",
    "cache_dir",
    "prepare",
    "srt_settings",
]

logger = logging.getLogger(__name__)

PEER_MODES = ("codex", "codex-native", "srt")
INSTALL_ADVICE = "run bench/run.py --peers install"

# Pinned, so that every figure is measured against the same peer release.
CODEX_PACKAGE, CODEX_VERSION = "@openai/codex", "0.171.0"
SRT_PACKAGE, SRT_VERSION = "@anthropic-ai/sandbox-runtime", "0.0.78"
_PINNED = {CODEX_PACKAGE: CODEX_VERSION, SRT_PACKAGE: SRT_VERSION}
_PACKAGES = {"codex": CODEX_PACKAGE, "codex-native": CODEX_PACKAGE, "srt": SRT_PACKAGE}

# codex's equivalent of corral's default mode: the workspace writable, no network.
_CODEX_CONFIG = ("-c", 'sandbox_mode="workspace-write"')
# The node package that holds codex's native binary, by platform.machine().
_CODEX_ARCHES = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}
# srt refuses to start without these on PATH; the Debian packages that hold
# rg and socat (socat links libwrap.so.0, which libwrap0 holds).
_SRT_TOOLS = ("bwrap", "rg", "socat")
_DEBS = {"rg": ("ripgrep",), "socat": ("socat", "libwrap0")}

# Seconds: npm fetches some 430 MiB for codex; apt-get about 2 MiB.
_NPM_TIMEOUT = 900
_APT_TIMEOUT = 300
# Seconds for one --version or self-check run: a first start reads everything cold.
_CHECK_TIMEOUT = 60
# Lines of a failed tool's stderr kept in a Missing reason.
_TAIL_LINES = 5

_REPOSITORY = Path(__file__).resolve().parent.parent


class PeerCacheError(CorralError):
    """The peers' cache directory cannot be used as configured."""


@dataclass(frozen=True)
class Peer:
    """A peer sandbox ready to run: the argv before the command, and its variables."""

    mode: str
    version: str
    prefix: tuple[str, ...]
    env: dict[str, str]
    """Variables to add to the environment it runs in."""

    def argv(self, command: Sequence[str]) -> list[str]:
        """Return the command line that runs `command` inside this peer."""
        return [*self.prefix, *command]


@dataclass(frozen=True)
class Missing:
    """A peer that cannot run here: one line on what is missing and how to get it."""

    mode: str
    reason: str


@dataclass(frozen=True)
class _Layout:
    """Where each part of the cache lives."""

    root: Path

    @property
    def npm(self) -> Path:
        """The npm prefix both peers are installed under."""
        return self.root / "npm"

    @property
    def codex_home(self) -> Path:
        """codex's CODEX_HOME: empty of configuration, so a user's is never read."""
        return self.root / "codex-home"

    @property
    def bin(self) -> Path:
        """What srt finds first on its PATH: bubblewrap, and rg and socat if fetched."""
        return self.root / "bin"

    @property
    def debs(self) -> Path:
        """The prefix the Debian packages of rg and socat are unpacked into."""
        return self.root / "debs"

    @property
    def settings(self) -> Path:
        return self.root / "srt-settings"

    @property
    def lock(self) -> Path:
        return self.root / "install.lock"

    def modules(self, package: str) -> Path:
        return self.npm / "node_modules" / package


def cache_dir() -> Path:
    """Return the peers' cache directory; it may not exist yet.

    Raises PeerCacheError when it would lie inside the repository.
    """
    base = os.environ.get("CORRAL_BENCH_CACHE")
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME", "")
        # The XDG rules ignore a relative XDG_CACHE_HOME.
        cache = Path(xdg) if Path(xdg).is_absolute() else Path.home() / ".cache"
        base = str(cache / "corral-bench")
    peers = (Path(base).expanduser().absolute() / "peers").resolve()
    if peers.is_relative_to(_REPOSITORY):
        raise PeerCacheError(
            f"bench: the peers' cache {peers} is inside the repository "
            f"{_REPOSITORY}; set CORRAL_BENCH_CACHE to a directory outside it"
        )
    return peers


def srt_settings(workspace: Path) -> dict[str, dict[str, list[str]]]:
    """Return srt settings equivalent to corral's default boundary for `workspace`.

    No network at all; writes only in the workspace, corral's protected paths
    excepted; corral's hidden credential paths unreadable.
    """
    # Imported here: run.py imports this module in every cell's runner, whose
    # peak RSS must stay that of a bare interpreter (see run.py).
    from corral.policy._defaults import (  # noqa: PLC0415
        DEFAULT_HIDDEN_PATHS,
        DEFAULT_PROTECTED_PATHS,
    )

    ws = workspace.resolve()
    home = str(Path.home())
    return {
        "network": {"allowedDomains": [], "deniedDomains": []},
        "filesystem": {
            "allowWrite": [str(ws)],
            # srt rejects a deny entry ending in "/", corral's mark of a directory.
            "denyWrite": [
                str(ws / entry.rstrip("/")) for entry in DEFAULT_PROTECTED_PATHS
            ],
            "denyRead": [
                home + entry[1:] if entry.startswith("~/") else entry
                for entry in DEFAULT_HIDDEN_PATHS
            ],
        },
    }


def prepare(
    modes: Sequence[str], workspace: Path, *, install: bool
) -> dict[str, Peer | Missing]:
    """Return each mode's peer, installed first when `install` is true, else Missing.

    Without `install` nothing is fetched and an empty cache is left uncreated.
    Each peer found runs ``true`` in `workspace` once; one that fails is Missing.
    Raises ValueError for a mode not in PEER_MODES.
    """
    unknown = set(modes) - set(PEER_MODES)
    if unknown:
        raise ValueError(f"unknown peer modes {sorted(unknown)}; known: {PEER_MODES}")
    try:
        layout = _Layout(cache_dir())
    except PeerCacheError as error:
        return {mode: Missing(mode, str(error)) for mode in modes}

    failed = _install(modes, layout) if install else {}
    peers: dict[str, Peer | Missing] = {}
    for mode in modes:
        found = failed.get(mode) or _locate(mode, layout, workspace)
        peers[mode] = found if isinstance(found, Missing) else _check(found, workspace)
    return peers


def _install(modes: Sequence[str], layout: _Layout) -> dict[str, Missing]:
    """Fetch what `modes` lack into the cache, one run at a time; return failures."""
    packages = sorted({_PACKAGES[m] for m in modes} - set(_installed(layout)))
    tools = [t for t in ("rg", "socat") if "srt" in modes and not _tool(layout, t)]
    if not packages and not tools:
        return {}

    failed: dict[str, Missing] = {}
    with _locked(layout):
        # Another run may have installed them while this one waited.
        packages = [p for p in packages if p not in _installed(layout)]
        tools = [t for t in tools if not _tool(layout, t)]
        problem = _npm_install(layout, packages) if packages else None
        if problem:
            failed.update(
                {m: Missing(m, problem) for m in modes if _PACKAGES[m] in packages}
            )
        problem = _unpack_debs(layout, tools) if tools else None
        if problem and "srt" in modes:
            failed.setdefault("srt", Missing("srt", problem))
    return failed


@contextmanager
def _locked(layout: _Layout) -> Iterator[None]:
    """Hold the cache's install lock: a second run waits, then finds it installed."""
    layout.root.mkdir(parents=True, exist_ok=True)
    with layout.lock.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _installed(layout: _Layout) -> list[str]:
    """The pinned packages the cache holds at their pinned versions."""
    found = []
    for package, version in _PINNED.items():
        try:
            meta = json.loads((layout.modules(package) / "package.json").read_text())
        except (OSError, ValueError):
            continue
        if meta.get("version") == version:
            found.append(package)
    return found


def _npm_install(layout: _Layout, packages: Sequence[str]) -> str | None:
    """Install `packages` at their pinned versions; return what went wrong, if so."""
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not on PATH; install Node.js and npm, then " + INSTALL_ADVICE
    layout.npm.mkdir(parents=True, exist_ok=True)
    specs = [f"{p}@{_PINNED[p]}" for p in packages]
    logger.info("bench: installing %s into %s", " ".join(specs), layout.npm)
    # --save-exact: a later install of the other package keeps this one's pin.
    argv = [npm, "install", "--no-audit", "--no-fund", "--save-exact",
            "--prefix", str(layout.npm), *specs]  # fmt: skip
    _, problem = _run(argv, layout.npm, _NPM_TIMEOUT)
    if problem:
        return f"npm install {' '.join(specs)} failed: {problem}"
    absent = set(packages) - set(_installed(layout))
    if absent:
        return f"npm install left {sorted(absent)} absent or at another version"
    return None


def _unpack_debs(layout: _Layout, tools: Sequence[str]) -> str | None:
    """Unpack the Debian packages of `tools` into the cache; wrap each in its bin."""
    apt, dpkg_deb = shutil.which("apt-get"), shutil.which("dpkg-deb")
    if apt is None or dpkg_deb is None:
        needs = " and ".join(tools)
        return f"srt needs {needs}, and apt-get and dpkg-deb are not here to fetch them"
    debs = sorted({deb for tool in tools for deb in _DEBS[tool]})
    logger.info("bench: fetching the Debian packages %s", " ".join(debs))
    layout.debs.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=layout.root) as download:
        _, problem = _run([apt, "download", *debs], Path(download), _APT_TIMEOUT)
        if problem:
            return f"apt-get download {' '.join(debs)} failed: {problem}"
        for deb in sorted(Path(download).glob("*.deb")):
            unpack = [dpkg_deb, "-x", str(deb), str(layout.debs)]
            _, problem = _run(unpack, layout.root, _APT_TIMEOUT)
            if problem:
                return f"dpkg-deb -x {deb.name} failed: {problem}"
    for tool in tools:
        binary = _unpacked(layout, tool)
        if not binary.is_file():
            return f"the Debian packages {' '.join(debs)} hold no usr/bin/{tool}"
        _write_wrapper(layout, tool, binary)
    return None


def _write_wrapper(layout: _Layout, tool: str, binary: Path) -> None:
    """Write a script in bin that runs `binary` with the unpacked libraries."""
    libraries = ":".join(str(d) for d in _library_dirs(layout))
    script = (
        "#!/bin/sh\n"
        f"# {tool} unpacked from its Debian package by bench/_peers.py\n"
        f"LD_LIBRARY_PATH={shlex.quote(libraries)}${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}"
        f' exec {shlex.quote(str(binary))} "$@"\n'
    )
    _replace(layout.bin / tool, lambda path: path.write_text(script), mode=0o755)


def _library_dirs(layout: _Layout) -> list[Path]:
    return sorted({p.parent for p in layout.debs.glob("**/lib*.so*")})


def _replace(
    path: Path, write: Callable[[Path], object], *, mode: int | None = None
) -> None:
    """Create `path` through a temporary name: a concurrent reader sees old or new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.unlink(missing_ok=True)
    write(temporary)
    if mode is not None:
        temporary.chmod(mode)
    temporary.replace(path)


def _tool(layout: _Layout, name: str) -> str | None:
    """Where srt will find `name`: the cache's bin first, then PATH."""
    cached = layout.bin / name
    unpacked = name == "bwrap" or _unpacked(layout, name).is_file()
    if cached.is_file() and unpacked:
        return str(cached)
    return shutil.which(name)


def _unpacked(layout: _Layout, tool: str) -> Path:
    """Where a tool's Debian package puts its binary."""
    return layout.debs / "usr" / "bin" / tool


def _locate(mode: str, layout: _Layout, workspace: Path) -> Peer | Missing:
    """Build the peer for `mode` from what the cache holds; fetch nothing."""
    package = _PACKAGES[mode]
    if package not in _installed(layout):
        where = f"{package}@{_PINNED[package]} is not in {layout.npm}"
        return Missing(mode, f"{where}; {INSTALL_ADVICE}")
    # The launchers of both peers are node scripts; the native codex is not.
    if mode != "codex-native" and shutil.which("node") is None:
        return Missing(mode, "node is not on PATH; install Node.js and rerun")
    if mode == "srt":
        return _locate_srt(layout, workspace)

    layout.codex_home.mkdir(parents=True, exist_ok=True)
    env = {"CODEX_HOME": str(layout.codex_home)}
    program = str(layout.npm / "node_modules" / ".bin" / "codex")
    if mode == "codex-native":
        native = _codex_native(layout)
        if isinstance(native, Missing):
            return native
        program = native
    return Peer(mode, "", (program, "sandbox", *_CODEX_CONFIG, "--"), env)


def _codex_native(layout: _Layout) -> str | Missing:
    """The native binary the codex launcher execs, found in its platform package."""
    machine = platform.machine()
    arch = _CODEX_ARCHES.get(machine.lower())
    if arch is None:
        return Missing("codex-native", f"codex ships no native binary for {machine}")
    vendor = layout.modules(f"{CODEX_PACKAGE}-linux-{arch}") / "vendor"
    found = sorted(vendor.glob("*/bin/codex"))
    if not found:
        reason = f"no codex binary under {vendor}; remove {layout.npm} and "
        return Missing("codex-native", reason + INSTALL_ADVICE)
    return str(found[0])


def _locate_srt(layout: _Layout, workspace: Path) -> Peer | Missing:
    """srt with bwrap, rg and socat ahead on its PATH and the workspace's settings."""
    problem = _link_bwrap(layout)
    if problem:
        return Missing("srt", problem)
    absent = [name for name in _SRT_TOOLS if _tool(layout, name) is None]
    if absent:
        needs = " and ".join(absent)
        return Missing("srt", f"srt needs {needs} on PATH; {INSTALL_ADVICE}")
    for name in ("rg", "socat"):
        unresolved = _unresolved_libraries(layout, name)
        if unresolved:
            libraries = ", ".join(unresolved)
            return Missing(
                "srt",
                f"{name} unpacked into {layout.debs} needs {libraries}, which the "
                "loader does not find; install the packages that hold them",
            )

    settings = _write_settings(layout, workspace)
    path = os.pathsep.join([str(layout.bin), os.environ.get("PATH", os.defpath)])
    program = str(layout.npm / "node_modules" / ".bin" / "srt")
    # "--": without it srt reads the command's own options (python3 -c) as its own.
    return Peer("srt", "", (program, "-s", str(settings), "--"), {"PATH": path})


def _link_bwrap(layout: _Layout) -> str | None:
    """Link corral's own bubblewrap into the cache's bin, so srt runs the same one."""
    from corral.sandbox import find_tools  # noqa: PLC0415 - see srt_settings

    bwrap = find_tools().bwrap
    if bwrap is None:
        return "corral finds no bubblewrap for srt to use; run scripts/setup"
    link = layout.bin / "bwrap"
    if not (link.is_symlink() and str(link.readlink()) == bwrap):
        _replace(link, lambda path: path.symlink_to(bwrap))
    return None


def _unresolved_libraries(layout: _Layout, name: str) -> list[str]:
    """The shared libraries the dynamic loader cannot find for a cached tool."""
    wrapper = layout.bin / name
    binary = _unpacked(layout, name)
    ldd = shutil.which("ldd")
    if not wrapper.is_file() or not binary.is_file() or ldd is None:
        return []
    libraries = ":".join(str(d) for d in _library_dirs(layout))
    done = subprocess.run(
        [ldd, str(binary)], env={**os.environ, "LD_LIBRARY_PATH": libraries},
        capture_output=True, text=True, check=False, timeout=_CHECK_TIMEOUT,
    )  # fmt: skip
    return [line.split()[0] for line in done.stdout.splitlines() if "not found" in line]


def _write_settings(layout: _Layout, workspace: Path) -> Path:
    """Write the srt settings of `workspace` to a file of its own; drop stale ones."""
    for old in layout.settings.glob("settings-*.json"):
        try:
            allowed = json.loads(old.read_text())["filesystem"]["allowWrite"][0]
        except (OSError, ValueError, LookupError, TypeError):
            continue
        if not Path(allowed).exists():
            old.unlink(missing_ok=True)
    text = json.dumps(srt_settings(workspace), indent=2) + "\n"
    digest = hashlib.sha256(str(workspace.resolve()).encode()).hexdigest()[:16]
    path = layout.settings / f"settings-{digest}.json"
    _replace(path, lambda p: p.write_text(text))
    return path


def _check(peer: Peer, workspace: Path) -> Peer | Missing:
    """Read the peer's version, then run ``true`` in it; Missing if either fails."""
    env = {**os.environ, **peer.env}
    version, problem = _run(
        [peer.prefix[0], "--version"], workspace, _CHECK_TIMEOUT, env
    )
    if problem:
        return Missing(peer.mode, f"{peer.mode} --version failed: {problem}")
    true = shutil.which("true") or "true"
    _, problem = _run(peer.argv([true]), workspace, _CHECK_TIMEOUT, env)
    if problem:
        failed = f"{peer.mode} fails its self-check on `true` in {workspace}"
        return Missing(peer.mode, f"{failed}: {problem}")
    first = version.strip().splitlines()
    return replace(peer, version=first[0] if first else "")


def _run(
    argv: Sequence[str], cwd: Path, timeout: float, env: dict[str, str] | None = None
) -> tuple[str, str | None]:
    """Run `argv`; return its stdout, and its exit and stderr's tail if it failed."""
    try:
        done = subprocess.run(
            argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
            capture_output=True, text=True, check=False, timeout=timeout,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as error:
        return "", str(error)
    if done.returncode != 0:
        return done.stdout, f"exit {done.returncode}: {_tail(done.stderr)}"
    return done.stdout, None


def _tail(text: str) -> str:
    """The last few non-empty lines of `text`, on one line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(lines[-_TAIL_LINES:]) or "(nothing on stderr)"
