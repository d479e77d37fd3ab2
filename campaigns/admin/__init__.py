from . import campaign, message, records  # noqa: F401  (register their admins)
