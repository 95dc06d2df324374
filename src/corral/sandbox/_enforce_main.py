"""The script the sandbox runs before every command: ``python -I -S -B THIS ...``.

A script, unlike a module, is compiled afresh each time it runs, so this one is
kept to a few lines; the enforcer itself (`corral.sandbox._enforce`) is loaded
from its bytecode.
"""

import os
import sys

# -I drops the script's directory and -S site-packages from sys.path, so the
# directory holding the corral package is put back by hand (os.path, not
# pathlib: importing pathlib would cost every command ~2 ms).
package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # noqa: PTH100, PTH120
sys.path.insert(0, os.path.dirname(package))  # noqa: PTH120

from corral.sandbox._enforce import main  # noqa: E402 (needs the path above)

sys.exit(main(sys.argv[1:]))
