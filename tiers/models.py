"""Models of this layer arrive with their issue."""
