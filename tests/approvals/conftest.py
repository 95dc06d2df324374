"""The classifier every test of this package uses: the built-in policy, a real
workspace and a fake home holding credential stores."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.approvals.classify_support import Classifier
from tests.conftest import Home


@pytest.fixture
def classifier(workspace: Path, home: Home) -> Classifier:
    return Classifier(workspace, home)
