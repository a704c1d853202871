"""Hygeia: responsible generative AI for healthcare — gated, reviewed, audited synthetic data."""

__version__ = "0.1.0"
