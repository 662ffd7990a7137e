"""The style-free core of tf-migration-bridge: the model catalog, the shared training loop,
the NumPy oracle, the measures (ULPs, comparisons, reports), and the pieces the three CLIs share.

Nothing here imports an execution style (`graphmode`, `eagermode`, `bridge`), not even by a
name in a string: the shared commands are handed the styles they run (a
`tfmigration.execution.Style`), and the registry of all three is `bridge/styles.py`.
"""
