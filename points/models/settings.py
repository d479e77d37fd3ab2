"""The points programme's settings: one row, edited on its admin page."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import ProgrammeSettings


class PointsSettings(ProgrammeSettings):
    pending_days = models.PositiveIntegerField(
        _("return window (days)"), default=7,
        help_text=_("Purchase points stay pending this long before they can be spent; "
                    "0 makes them available at once."))
    expiry_months = models.PositiveIntegerField(
        _("points expire after (months)"), null=True, blank=True, default=24,
        help_text=_("Each lot expires this many months after it was earned; empty means "
                    "points never expire."))
    points_per_yuan_value = models.PositiveIntegerField(
        _("points worth one yuan"), default=100,
        help_text=_("The cash value of points (100 means 100 points = ¥1)."))
    points_max_order_share = models.PositiveSmallIntegerField(
        _("points may pay at most (% of an order)"), default=50,
        validators=[MaxValueValidator(100)],
        help_text=_("At checkout, points used as cash pay at most this share of the order; "
                    "0 turns points as cash off."))

    class ExpiryPolicy(models.TextChoices):
        NONE = "none", _("Points never expire")
        ROLLING = "rolling", _("Rolling: a number of months after earning")
        FIXED_DATE = "fixed_date", _("Fixed date: e.g. 31 December of the following year")

    expiry_policy = models.CharField(
        _("expiry policy"), max_length=10, choices=ExpiryPolicy.choices,
        default=ExpiryPolicy.ROLLING,
        help_text=_("Applies to points earned from now on; lots already earned keep their "
                    "date. Rolling uses the months above."))
    expiry_fixed_month = models.PositiveSmallIntegerField(
        _("fixed expiry month"), default=12,
        validators=[MinValueValidator(1), MaxValueValidator(12)])
    expiry_fixed_day = models.PositiveSmallIntegerField(
        _("fixed expiry day"), default=31,
        validators=[MinValueValidator(1), MaxValueValidator(31)],
        help_text=_("Points expire at the end of this day (Beijing time); a day the month "
                    "lacks means its last day."))
    expiry_fixed_years_after = models.PositiveSmallIntegerField(
        _("years after earning"), default=1, validators=[MaxValueValidator(10)],
        help_text=_("0: the next such date; 1: the one a year later (31 December of the "
                    "following year), …"))
    expiry_warning_days = models.PositiveSmallIntegerField(
        _("warn of expiry (days ahead)"), default=30, validators=[MaxValueValidator(366)],
        help_text=_("Points expiring within this many days are shown as expiring soon."))

    transfer_daily_limit = models.PositiveIntegerField(
        _("transfers: points a member may send a day"), null=True, blank=True, default=10000,
        help_text=_("Per member and Beijing day; empty means no limit, 0 turns transfers "
                    "off."))
    transfer_daily_receive_limit = models.PositiveIntegerField(
        _("transfers: points a member may receive a day"), null=True, blank=True,
        default=None, help_text=_("Per member and Beijing day; empty means no limit."))
    spend_cancel_days = models.PositiveSmallIntegerField(
        _("spends can be cancelled for (days)"), default=30,
        validators=[MaxValueValidator(366)],
        help_text=_("A spend not paying an order can be cancelled this long after it was "
                    "made; its points go back to their lots with their own expiry dates. "
                    "0 turns cancelling off."))
    class StoredValueOrder(models.TextChoices):
        BONUS_FIRST = "bonus_first", _("Bonus first, then principal")
        PRINCIPAL_FIRST = "principal_first", _("Principal first, then bonus")

    stored_value_spend_order = models.CharField(
        _("stored value spends"), max_length=16, choices=StoredValueOrder.choices,
        default=StoredValueOrder.BONUS_FIRST,
        help_text=_("Which part of a member's stored value a payment takes first; the bonus "
                    "lots soonest to expire go first."))

    class Meta:
        verbose_name = _("points settings")
        verbose_name_plural = _("points settings")
