"""Where each run of a batch job has got to (members being the lowest layer with batch jobs,
every layer above records its runs here)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class BatchRun(models.Model):
    """One run of a batch job: the moment it acts for and the last id it finished.

    A run is named by its job and a run key — the Celery task id, which a broker keeps when
    it delivers a task again after a lost worker. Each chunk locks this row, reads `after_id`,
    does its work and moves `after_id` in the same transaction, so a run delivered again (or
    twice at once) carries on after the last committed chunk with the same `now`, and every
    chunk is applied exactly once."""

    job = models.CharField(_("job"), max_length=80)
    run_key = models.CharField(_("run key"), max_length=200)
    now = models.DateTimeField(_("acts for"))
    after_id = models.BigIntegerField(_("done up to id"), default=0)
    done = models.BigIntegerField(_("rows done"), default=0)
    chunks = models.IntegerField(_("chunks done"), default=0)
    state = models.JSONField(_("state"), default=dict, blank=True)
    started_at = models.DateTimeField(_("started"))
    updated_at = models.DateTimeField(_("updated"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("batch run")
        verbose_name_plural = _("batch runs")
        constraints = [models.UniqueConstraint(fields=["job", "run_key"],
                                               name="batch_run_per_job_key")]
        indexes = [models.Index(fields=["started_at"], name="batch_run_started_idx")]

    def __str__(self) -> str:
        return f"{self.job} {self.run_key}"
