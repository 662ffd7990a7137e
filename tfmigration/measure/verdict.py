"""Verdicts: identical, equivalent (and why), or different (and why), by one rule: `decide`.

`tfbridge compare` (`style_verdict`) and `tfbridge check` (`migration_report.judge`) both call
`decide`; they differ only in the evidence they supply. In order:

1. `different` when evidence beyond the distances says so: for compare, an element beyond the
   oracle's bound ("beyond oracle bound"), even when every style agrees with the others; for
   check, a real finding of the ladder ("a real finding": at equal parameters and batch a
   setting differs, or a rung is beyond --tolerance-ulps, or beyond ARITHMETIC_RELATIVE where
   the libraries' arithmetic is claimed).
2. `identical`: 0 ULPs from the reference in every distance (losses, variables, slots).
3. `equivalent` "within tolerance": every distance within --tolerance-ulps.
4. `equivalent` "within noise floor": every distance within the tolerance or, where not, within
   the reference's own noise floor for that quantity (noise_floor.py: compare's floor nudges the
   reference's start, check's every step).
5. `equivalent` "earned by the ladder" (check only: compare has no ladder rungs): the ladder
   reran at the step where a port first left the floor, with every rung of EARNING_RUNGS, and
   found nothing real.
6. Otherwise `different` ("beyond tolerance and noise floor"), beside rule 1's reasons when
   both hold.

Style-free: it takes distances, never runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tfmigration.measure.noise_floor import StartNudgedFloor
from tfmigration.measure.oracle_check import OracleCheck

IDENTICAL, EQUIVALENT, DIFFERENT = "identical", "equivalent", "different"
WITHIN_TOLERANCE = "within tolerance"
WITHIN_NOISE_FLOOR = "within noise floor"
EARNED_BY_LADDER = "earned by the ladder"
BEYOND_BOTH = "beyond tolerance and noise floor"
BEYOND_ORACLE = "beyond oracle bound"
REAL_FINDING = "a real finding"
_RANK = {IDENTICAL: 0, EQUIVALENT: 1, DIFFERENT: 2}

# The largest relative difference (of a step's change, a gradient, a loss) that the libraries'
# own arithmetic explains, where the optimizer and every setting agree: rounding 1 - beta or an
# epsilon inside a root moves an update by 1e-7..1e-5 of itself; an update not applied, applied
# twice or with another rate moves it by 1e-1..1.
ARITHMETIC_RELATIVE = 1e-3
# The rungs a rerun must have run at the step where a port leaves the noise floor before
# "equivalent" can rest on it: at TF1's state, the loss, and every variable and slot after the
# port's own step.
EARNING_RUNGS = ("forward pass", "whole step")


@dataclass(frozen=True)
class Verdict:
    verdict: str
    # Why, for `equivalent` and `different`; None for `identical`.
    basis: str | None = None

    def __str__(self) -> str:
        return self.verdict if self.basis is None else f"{self.verdict} ({self.basis})"

    @property
    def reasons(self) -> tuple[str, ...]:
        """Each reason of `basis` on its own ("beyond oracle bound", ...)."""
        return tuple(self.basis.split("; ")) if self.basis else ()


def beyond_floor(
    distances: Sequence[int], tolerance_ulps: int, floors: Sequence[int] | None = None
) -> bool:
    """Whether any distance is beyond both --tolerance-ulps and the floor's ULPs for it
    (`floors`; None: none measured)."""
    floors = (0,) * len(distances) if floors is None else floors
    return any(d > max(tolerance_ulps, f) for d, f in zip(distances, floors, strict=True))


def decide(
    distances: Sequence[int],
    *,
    tolerance_ulps: int,
    floors: Sequence[int] | None = None,
    against: Sequence[str] = (),
    earned: bool = False,
) -> Verdict:
    """The verdict by the module's rule, from the ULP `distances` to the reference (losses,
    variables, slots, ...), the noise floor's ULPs for each (`floors`; None: none measured),
    the reasons beyond distances for `different` (`against`, rule 1) and whether the ladder
    earned equivalence beyond the floor (`earned`, rule 5)."""
    beyond = beyond_floor(distances, tolerance_ulps, floors)
    if against:
        return Verdict(DIFFERENT, "; ".join([*against, *([BEYOND_BOTH] if beyond else [])]))
    if not any(distances):
        return Verdict(IDENTICAL)
    if all(d <= tolerance_ulps for d in distances):
        return Verdict(EQUIVALENT, WITHIN_TOLERANCE)
    if not beyond:
        return Verdict(EQUIVALENT, WITHIN_NOISE_FLOOR)
    if earned:
        return Verdict(EQUIVALENT, EARNED_BY_LADDER)
    return Verdict(DIFFERENT, BEYOND_BOTH)


def style_verdict(
    *,
    loss_ulps: int,
    param_ulps: int,
    slot_ulps: int,
    tolerance_ulps: int,
    noise_floor: StartNudgedFloor | None = None,
    oracle: OracleCheck | None = None,
) -> Verdict:
    """One style's verdict (compare) from its ULP distances to the reference and its oracle
    check: `decide` with no ladder."""
    return decide(
        (loss_ulps, param_ulps, slot_ulps),
        tolerance_ulps=tolerance_ulps,
        floors=None if noise_floor is None else noise_floor.ulps,
        against=[BEYOND_ORACLE] if oracle is not None and not oracle.within else [],
    )


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
