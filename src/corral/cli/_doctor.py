"""``corral doctor``: which layers this machine can enforce, and why not.

Exit status 0 when every layer is available, 1 when any is missing.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from corral.sandbox import find_tools, probe_layers

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> None:
    """Register ``corral doctor``."""
    parser = subparsers.add_parser(
        "doctor",
        help="report which sandbox layers this machine can enforce",
        epilog="exit status: 0 every layer available; 1 some layer missing",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Probe every layer and print the report."""
    # Here, not at the top: every `corral run` imports this module, and platform
    # is needed only by this report.
    import platform  # noqa: PLC0415

    tools = find_tools()
    statuses = probe_layers(tools)
    if args.json:
        print(
            json.dumps(
                {
                    "platform": " ".join(
                        (platform.system(), platform.release(), platform.machine())
                    ),
                    "bwrap": tools.bwrap,
                    "python": tools.python,
                    "layers": [status.to_json() for status in statuses],
                },
                sort_keys=True,
            )
        )
    else:
        width = max(len(str(status.layer)) for status in statuses)
        for status in statuses:
            mark = "ok     " if status.available else "MISSING"
            print(f"{status.layer!s:<{width}}  {mark}  {status.detail}")
    return 0 if all(status.available for status in statuses) else 1
