"""What the programme knows about each member beyond the profile: statistics, RFM and
lifecycle, tag history, rule tags and segments (人群包)."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.fields import MultiLineTextField, OneLineField

MONEY = {"max_digits": 14, "decimal_places": 2}


class Lifecycle(models.TextChoices):
    """Measured against the programme's repurchase cycle C (MemberSettings): a first
    purchase within C is new; a last purchase within C active, within 2C at risk, within
    4C dormant, older churned."""

    NEW = "new", pgettext_lazy("lifecycle", "New")
    ACTIVE = "active", pgettext_lazy("lifecycle", "Active")
    AT_RISK = "at_risk", pgettext_lazy("lifecycle", "At risk")
    DORMANT = "dormant", pgettext_lazy("lifecycle", "Dormant")
    CHURNED = "churned", pgettext_lazy("lifecycle", "Churned")


class Quadrant(models.TextChoices):
    """Frequency × monetary against the middle score: high F and high M are the core."""

    CORE = "core", _("High frequency, high spend")
    FREQUENT = "frequent", _("High frequency, low spend")
    BIG_TICKET = "big_ticket", _("Low frequency, high spend")
    LIGHT = "light", _("Low frequency, low spend")


class MemberStats(models.Model):
    """One row per member who has bought. The purchase columns follow every sale and
    return (the intake) and are rebuilt from the orders each night; the two agree."""

    member = models.OneToOneField("members.Member", models.CASCADE, primary_key=True,
                                  related_name="stats", verbose_name=_("member"))
    first_purchase_at = models.DateTimeField(_("first purchase"))
    last_purchase_at = models.DateTimeField(_("last purchase"))
    order_count = models.PositiveIntegerField(_("orders"))
    return_count = models.PositiveIntegerField(_("returns"))
    sales_amount = models.DecimalField(_("paid on sales"), **MONEY)
    returns_amount = models.DecimalField(_("refunded"), **MONEY)
    net_spend = models.DecimalField(_("net spend"), **MONEY)
    average_spend = models.DecimalField(_("average net spend per order"), **MONEY)
    repurchase_cycle_days = models.DecimalField(
        _("personal repurchase cycle (days)"), max_digits=8, decimal_places=1, null=True,
        help_text=_("Days between the first and the last purchase over the orders between "
                    "them; empty after one order."))
    recency_score = models.PositiveSmallIntegerField(_("R score"), null=True)
    frequency_score = models.PositiveSmallIntegerField(_("F score"), null=True)
    monetary_score = models.PositiveSmallIntegerField(_("M score"), null=True)
    rfm_segment = models.CharField(_("RFM segment"), max_length=32, blank=True)
    quadrant = models.CharField(_("M×F quadrant"), max_length=16, choices=Quadrant.choices,
                                blank=True)
    lifecycle = models.CharField(_("lifecycle stage"), max_length=8,
                                 choices=Lifecycle.choices, blank=True)

    class Meta:
        verbose_name = _("member statistics")
        verbose_name_plural = _("member statistics")
        constraints = [
            models.CheckConstraint(condition=Q(order_count__gte=1), name="stats_has_an_order"),
            models.CheckConstraint(condition=Q(first_purchase_at__lte=models.F("last_purchase_at")),
                                   name="stats_first_before_last"),
        ]


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


class RfmSegment(models.Model):
    """A named RFM segment as data: the score ranges it covers; the first match by
    priority names a member (Champions: R 4–5, F 4–5, M 4–5)."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = OneLineField(_("name"), max_length=64)
    priority = models.PositiveSmallIntegerField(_("priority"), default=100,
                                                help_text=_("Lower numbers are tried first."))
    r_min = models.PositiveSmallIntegerField(_("R from"), default=1)
    r_max = models.PositiveSmallIntegerField(_("R to"), default=5)
    f_min = models.PositiveSmallIntegerField(_("F from"), default=1)
    f_max = models.PositiveSmallIntegerField(_("F to"), default=5)
    m_min = models.PositiveSmallIntegerField(_("M from"), default=1)
    m_max = models.PositiveSmallIntegerField(_("M to"), default=5)

    class Meta:
        verbose_name = _("RFM segment")
        verbose_name_plural = _("RFM segments")
        ordering = ["priority", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(r_min__lte=models.F("r_max")) & Q(f_min__lte=models.F("f_max"))
                & Q(m_min__lte=models.F("m_max")) & Q(r_min__gte=1) & Q(f_min__gte=1)
                & Q(m_min__gte=1),
                name="rfm_segment_ranges_ordered"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """The name in the operator's language: a starting segment keeps its translated
        label ("promising" → 潜力客户 / Promising) until an operator renames it."""
        from .defaults import RFM_SEGMENT_LABELS, SEEDED_NAMES

        label = RFM_SEGMENT_LABELS.get(self.code)
        if label is not None and self.name in ("", SEEDED_NAMES.get(self.code)):
            return str(label)
        return self.name or self.code


class RfmRun(models.Model):
    """The score boundaries of one nightly RFM run, shown to the operator: a member whose
    value passes the k-th boundary scores k + 1 (recency counts days since the last
    purchase, fewer days scoring higher)."""

    computed_at = models.DateTimeField(_("computed at"))
    levels = models.PositiveSmallIntegerField(_("score levels"))
    members = models.PositiveIntegerField(_("members scored"))
    recency_days = ArrayField(models.IntegerField(), verbose_name=_("recency boundaries (days)"))
    frequency = ArrayField(models.IntegerField(), verbose_name=_("frequency boundaries (orders)"))
    monetary = ArrayField(models.DecimalField(**MONEY), verbose_name=_("monetary boundaries (yuan)"))

    class Meta:
        verbose_name = _("RFM run")
        verbose_name_plural = _("RFM runs")
        ordering = ["-computed_at"]

    def __str__(self) -> str:
        return f"RFM {timezone.localtime(self.computed_at):%Y-%m-%d %H:%M}"


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
