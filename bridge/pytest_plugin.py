"""The pytest plugin installed with this package (entry point `tfbridge`): one fixture.

Loading it imports nothing heavy; TensorFlow is imported when a test first checks a migration.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def check_migration() -> Callable[..., Any]:
    """Check a migration file; a verdict other than identical or equivalent fails the test with
    the report (verdict, where the port parts from TF1 and why, the summary)."""
    from bridge.testing import MigrationMismatch, assert_migration

    def check(path: str | Path, **options: Any) -> Any:
        try:
            return assert_migration(path, **options)
        except MigrationMismatch as mismatch:
            failure = str(mismatch)
        pytest.fail(failure, pytrace=False)

    return check
