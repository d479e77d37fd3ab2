"""Writes, one module per feature: functions named <entity>_<action>, keyword-only, each taking `now`."""
