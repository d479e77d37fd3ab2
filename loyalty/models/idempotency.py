"""The idempotency records of API writes (responses kept 30 days, keys for good)."""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .api_keys import ApiKey


class IdempotencyRecord(models.Model):
    """One `Idempotency-Key` of one API key: recorded before the work, then its outcome."""

    class State(models.TextChoices):
        STARTED = "started", _("Started")
        DONE = "done", _("Done")

    api_key = models.ForeignKey(ApiKey, models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    state = models.CharField(max_length=8, choices=State.choices, default=State.STARTED)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True)
    # when the stored response (personal data) was removed; key, hash and status stay
    response_expired_at = models.DateTimeField(null=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [models.UniqueConstraint(fields=["api_key", "key"],
                                               name="idempotency_key_per_api_key")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx"),
                   # the responses still kept, for the daily job that removes old ones
                   models.Index(fields=["completed_at"], name="idempotency_kept_idx",
                                condition=Q(response_expired_at__isnull=True,
                                            state="done"))]
