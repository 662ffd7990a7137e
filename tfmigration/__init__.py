"""The style-free core of tf-migration-bridge: the model catalog, the shared training loop,
the NumPy oracle, the measures (ULPs, comparisons, reports), and the pieces the three CLIs share.

Nothing here imports an execution style (`graphmode`, `eagermode`, `bridge`) by name in code; the
style registry (`tfmigration.training.styles`) loads them on demand.
"""
