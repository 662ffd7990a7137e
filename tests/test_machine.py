"""The CPU description a recording keeps, and when two of them may round differently."""

from __future__ import annotations

from tfmigration.machine import VECTOR_EXTENSIONS, cpu, cpu_difference

AVX2 = {"architecture": "x86_64", "model": "Intel Xeon", "vector_extensions": ["avx", "avx2"]}


def test_this_machine_is_described_by_the_flags_that_pick_kernels() -> None:
    here = cpu()
    assert here["architecture"] and here["model"]
    extensions = here["vector_extensions"]
    assert extensions is None or set(extensions) <= set(VECTOR_EXTENSIONS)
    assert cpu_difference(here, here) is None


def test_the_same_extensions_on_another_model_run_the_same_kernels() -> None:
    assert cpu_difference(AVX2, {**AVX2, "model": "Intel Core i7"}) is None


def test_differences_name_the_extensions_on_each_side() -> None:
    avx512 = {**AVX2, "model": "AMD EPYC", "vector_extensions": ["avx", "avx2", "avx512f"]}
    said = cpu_difference(AVX2, avx512)
    assert (
        said == "recorded on another CPU (Intel Xeon; this is AMD EPYC): only this one has avx512f"
    )
    said = cpu_difference(avx512, AVX2)
    assert said and "only the recording's has avx512f" in said
    arm = {"architecture": "aarch64", "model": "Neoverse", "vector_extensions": ["asimd"]}
    assert cpu_difference(AVX2, arm) == "recorded on x86_64, checked on aarch64"


def test_unknown_flags_fall_back_to_the_model_and_no_description_is_said() -> None:
    unknown = {**AVX2, "vector_extensions": None}
    assert cpu_difference(unknown, unknown) is None
    assert (
        cpu_difference(unknown, {**unknown, "model": "M2"})
        == "recorded on Intel Xeon, checked on M2"
    )
    assert cpu_difference(None, AVX2) == "the recording does not say which CPU made it"
