"""Tags: groups, tags, who bears them, their history and the rules that give them."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.fields import MultiLineTextField, OneLineField

from .members import Member


class TagGroup(models.Model):
    name = OneLineField(_("name"), max_length=64, unique=True)
    description = MultiLineTextField(_("description"), blank=True)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)

    class Meta:
        verbose_name = _("tag group")
        verbose_name_plural = _("tag groups")
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    class Kind(models.TextChoices):
        MANUAL = "manual", _("Manual")
        RULE = "rule", _("Rule")
        SYSTEM = "system", _("System")

    group = models.ForeignKey(TagGroup, models.PROTECT, null=True, blank=True,
                              related_name="tags", verbose_name=_("group"))
    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = OneLineField(_("name"), max_length=64)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.MANUAL)
    description = MultiLineTextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["group__sort_order", "name"]

    def __str__(self) -> str:
        return self.name


class MemberTag(models.Model):
    member = models.ForeignKey(Member, models.CASCADE, related_name="member_tags",
                               verbose_name=_("member"), db_index=False)  # (member, tag) is unique
    tag = models.ForeignKey(Tag, models.CASCADE, related_name="member_tags",
                            verbose_name=_("tag"))
    added_at = models.DateTimeField(_("added at"))

    class Meta:
        verbose_name = _("member tag")
        verbose_name_plural = _("member tags")
        constraints = [
            models.UniqueConstraint(fields=["member", "tag"], name="member_tag_unique"),
        ]
        indexes = [models.Index(fields=["tag", "member"], name="member_tag_by_tag_idx")]

    def __str__(self) -> str:
        return self.tag.name


class TagChange(models.Model):
    """Tag history, append-only: every add and remove with its time and cause. Written by
    the database trigger on members_membertag, so no write path can skip it; campaigns
    read it (by id, as a cursor) to trigger on a change."""

    class Action(models.TextChoices):
        ADDED = "added", _("Added")
        REMOVED = "removed", _("Removed")

    class Cause(models.TextChoices):
        MANUAL = "manual", _("Operator")
        IMPORT = "import", _("Import")
        API = "api", _("API")
        RULE = "rule", _("Rule")
        SYSTEM = "system", _("System")
        CAMPAIGN = "campaign", _("Campaign")

    # plain ids (no foreign keys): history outlives the member and the tag
    member_id = models.BigIntegerField(_("member"))
    tag_id = models.BigIntegerField(_("tag"))
    action = models.CharField(_("action"), max_length=8, choices=Action.choices)
    cause = models.CharField(_("cause"), max_length=8, choices=Cause.choices)
    changed_at = models.DateTimeField(_("changed at"))

    class Meta:
        verbose_name = _("tag change")
        verbose_name_plural = _("tag history")
        indexes = [
            models.Index(fields=["member_id", "changed_at"], name="tag_change_member_idx"),
            models.Index(fields=["tag_id", "changed_at"], name="tag_change_tag_idx"),
        ]

    def __str__(self) -> str:
        return str(_("%(action)s: tag #%(tag)s, member #%(member)s (%(cause)s)") % {
            "action": self.get_action_display(), "tag": self.tag_id, "member": self.member_id,
            "cause": self.get_cause_display()})


class TagRule(models.Model):
    """Puts its tag on exactly the members who meet every condition, and takes it off those
    who stop meeting them; refreshed each night and on the events that can change it."""

    tag = models.OneToOneField("members.Tag", models.CASCADE, related_name="rule",
                               verbose_name=_("tag"), limit_choices_to={"kind": "rule"})
    is_active = models.BooleanField(_("active"), default=True)
    refreshed_at = models.DateTimeField(_("last refreshed"), null=True, blank=True)

    class Meta:
        verbose_name = _("tag rule")
        verbose_name_plural = _("tag rules")

    def __str__(self) -> str:
        return str(self.tag)


class TagCondition(models.Model):
    """One condition of a tag rule, in the operator's terms (see members/tag_rules.py for
    what each kind reads)."""

    class Kind(models.TextChoices):
        AGE = "age", _("Age between (from birthday)")
        GENDER = "gender", _("Gender is one of")
        REGION = "region", _("Region is one of")
        HOME_STORE = "home_store", _("Home store is one of (codes)")
        CHANNEL = "channel", _("Source channel is one of")
        STATISTIC = "statistic", _("Statistic between")
        RFM_SEGMENT = "rfm_segment", _("RFM segment is one of (codes)")
        LIFECYCLE = "lifecycle", _("Lifecycle stage is one of")
        TAG = "tag", _("Holds one of the tags (codes, e.g. tier-gold)")
        CATEGORY = "category", _("Bought a category within N days")
        SKU = "sku", _("Bought a SKU within N days")
        ACTIVITY = "activity", _("Did an activity at least N times")

    class Statistic(models.TextChoices):
        ORDER_COUNT = "order_count", _("orders")
        NET_SPEND = "net_spend", _("net spend")
        AVERAGE_SPEND = "average_spend", _("average net spend per order")
        RETURN_COUNT = "return_count", _("returns")
        DAYS_SINCE_LAST = "days_since_last", _("days since the last purchase")
        DAYS_SINCE_FIRST = "days_since_first", _("days since the first purchase")
        CYCLE = "repurchase_cycle_days", _("personal repurchase cycle (days)")

    class Period(models.TextChoices):
        DAYS = "days", _("in the last N days")
        MONTH = "month", _("this calendar month")

    rule = models.ForeignKey(TagRule, models.CASCADE, related_name="conditions",
                             verbose_name=_("rule"))
    kind = models.CharField(_("condition"), max_length=16, choices=Kind.choices)
    statistic = models.CharField(_("statistic"), max_length=24, choices=Statistic.choices,
                                 blank=True)
    values = OneLineField(
        _("values"), max_length=500, blank=True,
        help_text=_("Comma-separated: genders, regions, store codes, channels, segment, stage "
                    "or tag codes, categories, SKUs, or the activity kind."))
    minimum = models.DecimalField(_("at least"), max_digits=14, decimal_places=2, null=True,
                                  blank=True)
    maximum = models.DecimalField(_("at most"), max_digits=14, decimal_places=2, null=True,
                                  blank=True)
    days = models.PositiveIntegerField(_("N days"), null=True, blank=True)
    period = models.CharField(_("period"), max_length=8, choices=Period.choices, blank=True)
    negate = models.BooleanField(_("does not hold"), default=False)

    class Meta:
        verbose_name = _("condition")
        verbose_name_plural = _("conditions")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.get_kind_display()
