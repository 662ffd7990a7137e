"""Measuring runs against each other: ULP distances, comparison records, report tables."""
