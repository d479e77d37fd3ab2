"""Number formats the console uses on top of Django's (FORMAT_MODULE_PATH)."""
