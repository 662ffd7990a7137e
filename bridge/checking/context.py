"""One check's settings and what its references hand to the comparison: the one value the
check pipeline (`bridge/check.py`, the ladder) passes on instead of a dozen arguments."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bridge.checking.reference import Batches, Reference
from eagermode.migration import TF2Port
from graphmode.migration import TF1Program
from tfmigration.measure.comparison import DEFAULT_TOLERANCE_ULPS
from tfmigration.migration.contract import MigrationFile
from tfmigration.migration.mapping import Pair

PORT_STYLES = ("eager", "function")


@dataclass(frozen=True)
class CheckSettings:
    """One check's settings, resolved (options, else the file's constants, else the defaults)."""

    steps: int
    batch_size: int | None
    seed: int
    strict: bool = False
    tolerance_ulps: int = DEFAULT_TOLERANCE_ULPS
    styles: tuple[str, ...] = PORT_STYLES
    replicas: int = 1
    localise: bool = True  # False: the ladder without the layer localisation


@dataclass
class CheckContext:
    """What both references (TF1 live, or its recording) hand to the one comparison."""

    migration: MigrationFile
    settings: CheckSettings
    batches: Batches
    reference: Reference
    eager: TF2Port
    pairs: list[Pair]
    announce: Callable[[str], None]
    program: TF1Program | None = None  # None: the reference is a recording
    notes: list[str] = field(default_factory=list)
