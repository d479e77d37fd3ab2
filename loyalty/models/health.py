"""The heartbeats /healthz/detail reads: the last time the Celery worker ran the health task
and the last time beat sent it. Kept in the database, so they survive restarts and do not
depend on the broker (the filesystem transport of `dev.py run` included)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Heartbeat(models.Model):
    name = models.CharField(_("name"), max_length=20, primary_key=True)  # "worker", "beat"
    beat_at = models.DateTimeField(_("last beat at"))

    class Meta:
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")

    def __str__(self) -> str:
        return f"{self.name} {self.beat_at.isoformat()}"
