"""Checking a migration from Python and from pytest.

    from bridge.testing import check_migration

    report = check_migration("migrations/digits.py", steps=30, strict=True)
    report.verdict                   # 'identical', 'equivalent' or 'different'
    report.first_divergent_step      # the first step whose loss differs, or None
    report.first_divergent_variable  # the first TF1 variable that differs after it, or None
    print(report.explain())          # the verdict, where they part, why, and a summary

In a test, `assert_migration(path, ...)` fails with that explanation unless the verdict is
`identical` or `equivalent` (or what `expect` names). Installing this package also installs a
pytest plugin whose `check_migration` fixture does the same in one line:

    def test_digits_port(check_migration):
        check_migration("migrations/digits.py", strict=True)
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tfmigration.distributed import MAX_REPLICAS
from tfmigration.measure.migration_report import CheckReport

__all__ = ["CheckReport", "MigrationMismatch", "assert_migration", "check_migration"]


class MigrationMismatch(AssertionError):
    """The port does not train as the TF1 code does; the message is the report's explanation."""

    def __init__(self, report: CheckReport) -> None:
        self.report = report
        super().__init__(report.explain())


def check_migration(path: str | Path, **options: Any) -> CheckReport:
    """Run the migration file at `path` in all three styles and report (see `bridge.check`).

    Options: `steps`, `strict`, `batch_size`, `seed`, `tolerance_ulps`, `against`,
    `tf1_checkpoint`, `replicas` (the port on that many logical CPUs: TensorFlow must not have
    set up its devices yet, so call it first in the process, or split the CPU in conftest.py
    with `tfmigration.devices.ensure_logical_cpus`).
    """
    from tfmigration.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    replicas = options.get("replicas", 1)
    if isinstance(replicas, int) and 1 < replicas <= MAX_REPLICAS:
        from tfmigration.devices import ensure_logical_cpus

        ensure_logical_cpus(replicas)  # check_migration refuses other counts
    from bridge.check import check_migration as run

    return run(path, **options)


def assert_migration(
    path: str | Path,
    *,
    expect: Iterable[str] = ("identical", "equivalent"),
    **options: Any,
) -> CheckReport:
    """`check_migration`, raising `MigrationMismatch` unless the verdict is one of `expect`."""
    report = check_migration(path, **options)
    if report.verdict not in tuple(expect):
        raise MigrationMismatch(report)
    return report
