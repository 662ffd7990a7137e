"""Verdicts: identical, equivalent (and why), or different (and why).

- `identical`: 0 ULPs from the reference everywhere, and within the oracle's bound.
- `equivalent`: every distance within `--tolerance-ulps` ("within tolerance") or, where not,
  within the reference's own noise floor ("within noise floor": the reference moves as far when
  its start is nudged by one ULP), and within the oracle's bound.
- `different`: some distance beyond both ("beyond tolerance and noise floor"), or any element
  beyond the oracle's bound ("beyond oracle bound"), even when every style agrees with the others.

Style-free, so `check` can give its verdicts by the same rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tfmigration.measure.noise_floor import StartNudgedFloor
from tfmigration.measure.oracle_check import OracleCheck

IDENTICAL, EQUIVALENT, DIFFERENT = "identical", "equivalent", "different"
WITHIN_TOLERANCE = "within tolerance"
WITHIN_NOISE_FLOOR = "within noise floor"
BEYOND_BOTH = "beyond tolerance and noise floor"
BEYOND_ORACLE = "beyond oracle bound"
_RANK = {IDENTICAL: 0, EQUIVALENT: 1, DIFFERENT: 2}


@dataclass(frozen=True)
class Verdict:
    verdict: str
    # Why, for `equivalent` and `different`; None for `identical`.
    basis: str | None = None

    def __str__(self) -> str:
        return self.verdict if self.basis is None else f"{self.verdict} ({self.basis})"


def style_verdict(
    *,
    loss_ulps: int,
    param_ulps: int,
    slot_ulps: int,
    tolerance_ulps: int,
    noise_floor: StartNudgedFloor | None = None,
    oracle: OracleCheck | None = None,
) -> Verdict:
    """One style's verdict from its ULP distances to the reference and its oracle check."""
    bases = []
    if oracle is not None and not oracle.within:
        bases.append(BEYOND_ORACLE)
    floors = (
        (0, 0, 0)
        if noise_floor is None
        else (noise_floor.max_loss_ulps, noise_floor.param_ulps, noise_floor.slot_ulps)
    )
    distances = (loss_ulps, param_ulps, slot_ulps)
    if any(d > tolerance_ulps and d > f for d, f in zip(distances, floors, strict=True)):
        bases.append(BEYOND_BOTH)
    if bases:
        return Verdict(DIFFERENT, "; ".join(bases))
    if not any(distances):
        return Verdict(IDENTICAL)
    if all(d <= tolerance_ulps for d in distances):
        return Verdict(EQUIVALENT, WITHIN_TOLERANCE)
    return Verdict(EQUIVALENT, WITHIN_NOISE_FLOOR)


def combine(verdicts: Iterable[Verdict]) -> Verdict:
    """A model's verdict: its worst style's, with every distinct reason at that level."""
    verdicts = list(verdicts)
    if not verdicts:
        return Verdict(IDENTICAL)
    worst = max(_RANK[v.verdict] for v in verdicts)
    at_worst = [v for v in verdicts if _RANK[v.verdict] == worst]
    bases: list[str] = []
    for verdict in at_worst:
        for basis in (verdict.basis or "").split("; "):
            if basis and basis not in bases:
                bases.append(basis)
    # Equivalence by the floor is the weaker claim; say it when any style needed it.
    if at_worst[0].verdict == EQUIVALENT:
        bases = [WITHIN_NOISE_FLOOR] if WITHIN_NOISE_FLOOR in bases else [WITHIN_TOLERANCE]
    return Verdict(at_worst[0].verdict, "; ".join(bases) or None)
