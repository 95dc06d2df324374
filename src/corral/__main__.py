"""``python -m corral``: the same as the ``corral`` command."""

from corral.cli import main

raise SystemExit(main())
