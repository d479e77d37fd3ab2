from . import campaign, lottery, message, records  # noqa: F401  (register their admins)
