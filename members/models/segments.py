"""Segments: saved definitions, their snapshots, and the narrow per-member copy they read
(SegmentFacts)."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.fields import MultiLineTextField, OneLineField


class SegmentFacts(models.Model):
    """The few member columns segments filter on, and the member's tag ids, in one narrow
    row per member: a segment count reads this table and its GIN index, never the wide
    member row. Nothing writes it but the triggers of migration 0005 — on members_member
    (a new member, a change of status, gender, region, channel, birthday or home store)
    and on members_membertag (every tag added or removed, whoever writes it) — so a bulk
    tag change rewrites 100k narrow rows, not 100k member rows with thirteen indexes."""

    member = models.OneToOneField("members.Member", models.CASCADE, primary_key=True,
                                  related_name="segment_facts", verbose_name=_("member"))
    status = models.CharField(_("status"), max_length=8)
    gender = models.CharField(_("gender"), max_length=8)
    region = models.CharField(_("region"), max_length=64, blank=True)
    source_channel = models.CharField(_("source channel"), max_length=16)
    birthday = models.DateField(_("birthday"), null=True)
    home_store_id = models.BigIntegerField(_("home store"), null=True)
    tag_ids = ArrayField(models.BigIntegerField(), default=list, verbose_name=_("tag ids"))

    class Meta:
        verbose_name = _("segment facts")
        verbose_name_plural = _("segment facts")
        indexes = [GinIndex(fields=["tag_ids"], name="segment_facts_tag_ids_gin")]


class Segment(models.Model):
    """A segment (人群包): an and / or / not expression over tags and attributes, counted
    live and frozen into snapshots for campaigns."""

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = OneLineField(_("name"), max_length=100)
    expression = MultiLineTextField(
        _("definition"),
        help_text=_("For example: tag:高消费 and (gender:female or region:上海) and not "
                    "tag:churned. A tag by its name or its code; terms: tag:, gender:, "
                    "region:, store:, channel:, status:, age:20-35; combine with and, or, not "
                    "and brackets. Tags are kept by id: renaming a tag changes no segment."))
    description = MultiLineTextField(_("description"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SegmentSnapshot(models.Model):
    """The exact members of a segment at one moment; later changes do not move it."""

    segment = models.ForeignKey(Segment, models.PROTECT, related_name="snapshots",
                                verbose_name=_("segment"))
    expression = models.TextField(_("definition"))
    taken_at = models.DateTimeField(_("taken at"))
    member_count = models.PositiveIntegerField(_("members"))

    class Meta:
        verbose_name = _("segment snapshot")
        verbose_name_plural = _("segment snapshots")
        ordering = ["-taken_at"]

    def __str__(self) -> str:
        return f"{self.segment} @ {timezone.localtime(self.taken_at):%Y-%m-%d %H:%M}"


class SnapshotMember(models.Model):
    pk = models.CompositePrimaryKey("snapshot", "member_id")
    snapshot = models.ForeignKey(SegmentSnapshot, models.CASCADE, related_name="+")
    # a plain id: the snapshot keeps the member even if the member is later erased
    member_id = models.BigIntegerField()

    class Meta:
        verbose_name = _("snapshot member")
        verbose_name_plural = _("snapshot members")
