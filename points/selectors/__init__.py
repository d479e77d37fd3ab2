"""Reads, one module per feature."""
