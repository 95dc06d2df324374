"""``python -m corral.audit.export [--once] [--state DIR]``: export what is pending."""

import sys

from corral.audit.export._start import main

sys.exit(main(sys.argv[1:]))
