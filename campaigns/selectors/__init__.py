"""Reads of the campaigns layer, one module per feature."""
