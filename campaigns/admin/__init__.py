from . import campaign, checkin, lottery, message, records, tasks  # noqa: F401  (register their admins)
