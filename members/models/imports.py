"""Bulk tagging from an upload, as a background job: the job row (what was asked, how far it
got, what it found) and its staging rows (the member numbers as uploaded, COPYed in by the
request and applied by the job in chunks, then deleted)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class TagImportJob(models.Model):
    """One upload of member numbers to tag. The request stages the numbers and queues the
    job; the worker applies them a chunk at a time, each chunk committing its tags with the
    job's cursor and counts, so the operator's page shows progress and a redelivered job
    carries on from its cursor instead of starting over."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    tag = models.ForeignKey("members.Tag", models.PROTECT, related_name="import_jobs",
                            verbose_name=_("tag"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True,
                                     blank=True, related_name="+",
                                     verbose_name=_("requested by"))
    status = models.CharField(_("status"), max_length=8, choices=Status.choices,
                              default=Status.QUEUED)
    rows_total = models.PositiveIntegerField(_("numbers uploaded"), default=0)
    rows_skipped = models.PositiveIntegerField(
        _("entries skipped"), default=0,
        help_text=_("Entries of the upload that are not member numbers (a header, a name)."))
    rows_done = models.PositiveIntegerField(_("numbers applied"), default=0)
    cursor = models.BigIntegerField(_("last staging row applied"), default=0, editable=False)
    tagged = models.PositiveIntegerField(_("members newly tagged"), default=0)
    found = models.PositiveIntegerField(_("members found"), null=True, blank=True)
    unknown = models.PositiveIntegerField(_("numbers that are not members"), null=True,
                                          blank=True)
    unknown_sample = models.JSONField(_("some numbers that are not members"), default=list,
                                      blank=True)
    error = models.CharField(_("error"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"))
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("tag import")
        verbose_name_plural = _("tag imports")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(rows_done__lte=models.F("rows_total")),
                                   name="tag_import_done_within_total"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.tag_id}"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(self.rows_done * 100 / self.rows_total) if self.rows_total else 0


class TagImportRow(models.Model):
    """A member number as uploaded (duplicates and unknown numbers included). Written by COPY
    only, read by the job by id range, deleted when the job is done."""

    job = models.ForeignKey(TagImportJob, models.CASCADE, related_name="+", db_index=False)
    member_no = models.CharField(max_length=20)

    class Meta:
        verbose_name = _("staged member number")
        verbose_name_plural = _("staged member numbers")
