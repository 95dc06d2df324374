"""A temporary machine for the presets' tests: a home, a workspace, an environment.

Every file is written by the test under its own temporary home; the tools are
the real pip, npm and git of this machine, or small scripts the test writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from corral.network.presets import Preset, read_preset

SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"


@dataclass
class Machine:
    """A temporary home, a workspace inside the writable area, and their environment."""

    home: Path
    workspace: Path
    environ: dict[str, str]

    def read(self, name: str, *writable: Path) -> Preset:
        return read_preset(
            name,
            workspace=self.workspace,
            environ=self.environ,
            writable=(self.workspace, *writable),
        )

    def write(self, path: Path, text: str) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path


def fake_tool(directory: Path, name: str, script: str) -> Path:
    directory.mkdir(exist_ok=True)
    tool = directory / name
    tool.write_text(f"#!/bin/sh\n{script}\n")
    tool.chmod(0o755)
    return tool
