"""Which TF2 variable is which TF1 variable: inferred from names, shapes and creation order.

TF1 names a variable by its scopes (`classifier/hidden/weights:0`); Keras 3 by its path
(`sequential/hidden/kernel`); a `tf.Module` by the attributes that reach it (`mlp/hidden/w`).
The rules, in order (each pair found is final):

1. `VARIABLE_MAP` from the migration file.
2. Names: `:0` dropped, the leaf's synonyms folded (`weights`, `w` ~ `kernel`; `biases`, `b` ~
   `bias`; `scale` ~ `gamma`; `offset` ~ `beta`), and the scopes compared from the leaf upwards:
   the pair whose scopes share the longest tail wins when it wins both ways.
3. Creation order: what is left is paired in creation order within each leaf kind, when both
   sides have as many of that kind; then within each kind and shape, likewise (two stacked
   LSTMs' kernels beside a Dense kernel).
4. Shapes: what is left is paired where a shape, dtype and trainability is held by exactly
   one variable on each side (TF1's unnamed `Variable_1` and a Keras `embeddings`).

Then every pair must agree in shape. Anything unpaired, paired twice or of another shape is one
`MappingError` listing all of them, each with the nearest candidates and the `VARIABLE_MAP` line
that settles it. Pure Python: no TensorFlow.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tfmigration.catalog.errors import ConfigError

SYNONYMS = {
    "weights": "kernel",
    "weight": "kernel",
    "w": "kernel",
    "kernel": "kernel",
    "biases": "bias",
    "bias": "bias",
    "b": "bias",
    "scale": "gamma",
    "gamma": "gamma",
    "offset": "beta",
    "beta": "beta",
    "moving_mean": "moving_mean",
    "mean": "moving_mean",
    "moving_variance": "moving_variance",
    "variance": "moving_variance",
    "embeddings": "embeddings",
    "embedding": "embeddings",
}


@dataclass(frozen=True)
class VariableInfo:
    """What mapping needs to know of one variable on either side."""

    name: str  # as shown to the user: TF1's without ':0', Keras's path, a Module's attributes
    shape: tuple[int, ...]
    dtype: str
    trainable: bool
    order: int  # creation order on its own side
    # How the port shows this TF1-layout value, where it is a view of other variables (a Keras
    # LSTM's kernel and recurrent_kernel as TF1's one kernel); "" for a variable as it is.
    layout: str = ""

    @property
    def scopes(self) -> tuple[str, ...]:
        return tuple(part.lower() for part in self.name.split("/")[:-1])

    @property
    def kind(self) -> str:
        leaf = self.name.split("/")[-1].lower()
        return SYNONYMS.get(leaf, leaf)


@dataclass(frozen=True)
class Pair:
    tf1: VariableInfo
    tf2: VariableInfo
    how: str  # "VARIABLE_MAP", "name" or "order"


class MappingError(ConfigError):
    """The variables cannot be paired one to one with equal shapes; exit 2."""


def infer_mapping(
    tf1: Sequence[VariableInfo],
    tf2: Sequence[VariableInfo],
    overrides: Mapping[str, str] | None = None,
    *,
    source: str = "the migration file",
) -> list[Pair]:
    """Pair every TF1 variable with one TF2 variable; the pairs in TF1's creation order."""
    overrides = dict(overrides or {})
    by_name1 = {info.name: info for info in tf1}
    by_name2 = {info.name: info for info in tf2}
    problems: list[str] = []
    pairs: dict[str, Pair] = {}
    for name1, name2 in overrides.items():
        name2 = _renumbered(name2, by_name2)
        if name1 not in by_name1:
            problems.append(
                f"VARIABLE_MAP names TF1 variable {name1!r}, which TF1 does not have"
                f"{_nearest(name1, by_name1)}"
            )
        elif name2 not in by_name2:
            problems.append(
                f"VARIABLE_MAP maps {name1!r} to {name2!r}, which the port does not have"
                f"{_nearest(name2, by_name2)}"
            )
        else:
            pairs[name1] = Pair(by_name1[name1], by_name2[name2], "VARIABLE_MAP")
    taken = {pair.tf2.name for pair in pairs.values()}
    left1 = [info for info in tf1 if info.name not in pairs]
    left2 = [info for info in tf2 if info.name not in taken]

    for info, match in _name_matches(left1, left2).items():
        pairs[info.name] = Pair(info, match, "name")
    taken = {pair.tf2.name for pair in pairs.values()}
    left1 = [info for info in tf1 if info.name not in pairs]
    left2 = [info for info in tf2 if info.name not in taken]

    for group in (lambda info: info.kind, lambda info: (info.kind, info.shape)):
        for key in dict.fromkeys(group(info) for info in left1):
            ones = [info for info in left1 if group(info) == key]
            twos = sorted((info for info in left2 if group(info) == key), key=lambda i: i.order)
            if len(ones) == len(twos):
                for one, two in zip(ones, twos, strict=True):
                    pairs[one.name] = Pair(one, two, "order")
        taken = {pair.tf2.name for pair in pairs.values()}
        left1 = [info for info in tf1 if info.name not in pairs]
        left2 = [info for info in tf2 if info.name not in taken]

    for one, two in _unique_shape_matches(left1, left2):
        pairs[one.name] = Pair(one, two, "shape")
    taken = {pair.tf2.name for pair in pairs.values()}
    left1 = [info for info in tf1 if info.name not in pairs]
    left2 = [info for info in tf2 if info.name not in taken]

    for info in left1:
        problems.append(
            f"TF1 variable {info.name!r} {list(info.shape)} has no counterpart in the port"
            f"{_candidates(info, left2 or list(tf2))}"
        )
    for info in left2:
        problems.append(
            f"the port's variable {info.name!r} {list(info.shape)} has no counterpart in TF1"
            f"{_nearest(info.name, {i.name: i for i in left1})}"
        )
    for pair in (pairs[info.name] for info in tf1 if info.name in pairs):
        if pair.tf1.shape == pair.tf2.shape and pair.tf1.dtype != pair.tf2.dtype:
            problems.append(
                f"{pair.tf1.name!r} is paired ({pair.how}) with {pair.tf2.name!r}, but it is "
                f"{pair.tf1.dtype} in TF1, {pair.tf2.dtype} in the port"
            )
        if pair.tf1.shape != pair.tf2.shape:
            transposed = pair.tf1.shape[::-1] == pair.tf2.shape and len(pair.tf1.shape) > 1
            problems.append(
                f"{pair.tf1.name!r} {list(pair.tf1.shape)} is paired ({pair.how}) with "
                f"{pair.tf2.name!r} {list(pair.tf2.shape)}: "
                + (
                    "the shape is transposed (TF1 and the port store it the other way round)"
                    if transposed
                    else "the shapes differ"
                )
            )
    if problems:
        raise MappingError(
            f"{source}: the TF1 and TF2 variables cannot be paired one to one "
            f"({len(problems)} problem{'s' if len(problems) > 1 else ''}):\n"
            + "\n".join(f"  - {problem}" for problem in problems)
        )
    return [pairs[info.name] for info in tf1]


def _name_matches(
    left1: Sequence[VariableInfo], left2: Sequence[VariableInfo]
) -> dict[VariableInfo, VariableInfo]:
    """Pairs whose scope tails agree best, both ways; ties left for creation order."""

    def best(info: VariableInfo, others: Sequence[VariableInfo]) -> VariableInfo | None:
        scored = [(_shared_tail(info.scopes, other.scopes), other) for other in others]
        scored = [(score, other) for score, other in scored if score > 0]
        if not scored:
            return None
        top = max(score for score, _ in scored)
        winners = [other for score, other in scored if score == top]
        return winners[0] if len(winners) == 1 else None

    matches = {}
    for info in left1:
        same_kind = [other for other in left2 if other.kind == info.kind]
        match = best(info, same_kind)
        if match is None:
            continue
        back = best(match, [one for one in left1 if one.kind == match.kind])
        if back is info:
            matches[info] = match
    return matches


def _shared_tail(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    count = 0
    for x, y in zip(reversed(a), reversed(b), strict=False):
        if x != y:
            break
        count += 1
    return count


def _unnumbered(name: str) -> str:
    return "/".join(re.sub(r"_\d+$", "", part) for part in name.split("/"))


def _renumbered(name: str, names: Mapping[str, VariableInfo]) -> str:
    """A port name as this process numbered it: Keras numbers every automatically named model
    and layer it builds (`sequential`, `sequential_1`, ...), so a VARIABLE_MAP written from one
    run's names (`sequential/out/kernel`) still finds `sequential_3/out/kernel`, where that is
    the one port variable it can mean."""
    if name in names:
        return name
    found = [other for other in names if _unnumbered(other) == _unnumbered(name)]
    return found[0] if len(found) == 1 else name


def _unique_shape_matches(
    left1: Sequence[VariableInfo], left2: Sequence[VariableInfo]
) -> list[tuple[VariableInfo, VariableInfo]]:
    """Pairs of the one TF1 and the one port variable left with a given shape, dtype and
    trainability; nothing where either side has two, or where both leaves are names we know
    to mean other things (a `bias` is never a `gamma`)."""

    def key(info: VariableInfo) -> tuple:
        return (info.shape, info.dtype, info.trainable)

    known = set(SYNONYMS.values())

    ones: dict[tuple, list[VariableInfo]] = {}
    twos: dict[tuple, list[VariableInfo]] = {}
    for info in left1:
        ones.setdefault(key(info), []).append(info)
    for info in left2:
        twos.setdefault(key(info), []).append(info)
    return [
        (found[0], twos[shape][0])
        for shape, found in ones.items()
        if len(found) == 1
        and len(twos.get(shape, [])) == 1
        and not (found[0].kind in known and twos[shape][0].kind in known)
    ]


def _nearest(name: str, names: Mapping[str, VariableInfo]) -> str:
    close = difflib.get_close_matches(name, list(names), n=3, cutoff=0.3)
    return f"; nearest: {', '.join(repr(c) for c in close)}" if close else ""


def _candidates(info: VariableInfo, others: Sequence[VariableInfo]) -> str:
    """The port's variables most like `info` (same kind or shape first), and the line to add."""
    ranked = sorted(
        others,
        key=lambda other: (
            other.kind != info.kind,
            other.shape != info.shape,
            -difflib.SequenceMatcher(None, info.name, other.name).ratio(),
        ),
    )[:3]
    if not ranked:
        return ""
    shown = ", ".join(f"{other.name!r} {list(other.shape)}" for other in ranked)
    return f"; nearest: {shown}; add VARIABLE_MAP = {{{info.name!r}: {ranked[0].name!r}}}"
