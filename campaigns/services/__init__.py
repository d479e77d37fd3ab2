"""Writes of the campaigns layer, one module per feature."""
