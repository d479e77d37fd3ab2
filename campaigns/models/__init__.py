"""The campaigns layer's models, one module per feature."""

from .feed import FeedCursor  # noqa: F401
