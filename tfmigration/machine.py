"""Which CPU a run happened on, as far as it moves float32 results.

TensorFlow's CPU kernels pick their vector code when they run, not when the wheel was built:
matrix products go through oneDNN's sgemm even with TF_ENABLE_ONEDNN_OPTS=0, because Eigen's
tensor contractions are built on it ("The MKL-DNN kernels are generated at runtime and use
avx/avx2/fma/avx512 based on cpu status registers", TensorFlow's build file for the Eigen
contraction kernel). An AVX-512
machine and an AVX2 machine therefore sum a dot product in different orders and may round its
last bit differently, with the same TensorFlow, the same inputs and `--strict`. A recording made
on one and checked on the other can be 1 ULP apart for that reason alone, so recordings keep
this description and a check names the difference.
"""

from __future__ import annotations

import platform
from pathlib import Path

# The instruction-set flags (as /proc/cpuinfo spells them) that decide which kernels run.
VECTOR_EXTENSIONS = (
    "sse4_1",
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
    "asimd",
    "sve",
    "sve2",
)


def _cpuinfo() -> tuple[str | None, set[str]]:
    """The model name and flags of the first processor in /proc/cpuinfo (Linux only)."""
    model, flags = None, set()
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return model, flags
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and model is None:
            model = value.strip()
        elif key in ("flags", "Features") and not flags:
            flags = set(value.split())
    return model, flags


def cpu() -> dict[str, object]:
    """`{"architecture", "model", "vector_extensions"}` of this machine: the architecture from
    `platform.machine()`, the model name and the kernel-relevant flags from /proc/cpuinfo where
    there is one (elsewhere the model is `platform.processor()` and the flags are unknown: None)."""
    model, flags = _cpuinfo()
    return {
        "architecture": platform.machine(),
        "model": model or platform.processor() or platform.machine(),
        "vector_extensions": sorted(flags.intersection(VECTOR_EXTENSIONS)) if flags else None,
    }


def cpu_difference(recorded: dict | None, here: dict) -> str | None:
    """Why float32 kernels may round differently on `here` than on `recorded` (None when the
    architecture and the vector extensions agree). The model name alone decides nothing: two
    models with the same extensions run the same kernels."""
    if not recorded:
        return "the recording does not say which CPU made it"
    if recorded.get("architecture") != here["architecture"]:
        return f"recorded on {recorded.get('architecture')}, checked on {here['architecture']}"
    theirs, ours = recorded.get("vector_extensions"), here["vector_extensions"]
    if theirs is None or ours is None:
        if recorded.get("model") == here["model"]:
            return None
        return f"recorded on {recorded.get('model')}, checked on {here['model']}"
    if theirs == ours:
        return None
    only_there = sorted(set(theirs) - set(ours))
    only_here = sorted(set(ours) - set(theirs))
    parts = []
    if only_there:
        parts.append("only the recording's has " + " ".join(only_there))
    if only_here:
        parts.append("only this one has " + " ".join(only_here))
    return (
        f"recorded on another CPU ({recorded.get('model')}; this is {here['model']}): "
        + ", ".join(parts)
    )
