"""Partner programmes (cross-industry points: an airline, a bank card, a coffee chain) and
the exchanges members make with them."""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.fields import OneLineField
from members.models import Member


class PartnerProgramme(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = OneLineField(_("name"), max_length=100)
    rate_in = models.DecimalField(
        _("points in per partner point"), max_digits=10, decimal_places=4,
        validators=[MinValueValidator(0)],
        help_text=_("Our points credited for one partner point exchanged in (rounded down); "
                    "0 refuses exchanges in."))
    rate_out = models.DecimalField(
        _("partner points out per point"), max_digits=10, decimal_places=4,
        validators=[MinValueValidator(0)],
        help_text=_("Partner points a member receives for one of our points (rounded down); "
                    "0 refuses exchanges out."))
    member_daily_limit_in = models.PositiveBigIntegerField(
        _("daily limit in per member"), null=True, blank=True,
        help_text=_("Our points one member may receive from this partner per day (Beijing "
                    "time); empty means no limit."))
    member_daily_limit_out = models.PositiveBigIntegerField(
        _("daily limit out per member"), null=True, blank=True)
    daily_limit_in = models.PositiveBigIntegerField(
        _("daily limit in"), null=True, blank=True,
        help_text=_("Our points all members together may receive per day."))
    daily_limit_out = models.PositiveBigIntegerField(_("daily limit out"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("partner programme")
        verbose_name_plural = _("partner programmes")
        constraints = [models.CheckConstraint(condition=Q(rate_in__gte=0) & Q(rate_out__gte=0),
                                              name="partner_rates_not_negative")]

    def __str__(self) -> str:
        return self.name


class ExchangeDirection(models.TextChoices):
    IN = "in", _("In (partner → us)")
    OUT = "out", _("Out (us → partner)")


class PartnerExchange(models.Model):
    """One exchange, recorded once per partner transaction id and direction."""

    partner = models.ForeignKey(PartnerProgramme, models.PROTECT, related_name="exchanges",
                                verbose_name=_("partner"))
    member = models.ForeignKey(Member, models.PROTECT, related_name="+", db_index=False,
                               verbose_name=_("member"))
    direction = models.CharField(_("direction"), max_length=3, choices=ExchangeDirection.choices)
    external_id = OneLineField(_("partner transaction id"), max_length=100)
    partner_points = models.BigIntegerField(_("partner points"))
    points = models.BigIntegerField(_("points"))
    local_date = models.DateField(_("day (Beijing time)"))
    entry = models.OneToOneField("points.PointsEntry", models.PROTECT, related_name="+",
                                 verbose_name=_("ledger entry"))
    created_at = models.DateTimeField(_("time"))

    class Meta:
        verbose_name = _("partner exchange")
        verbose_name_plural = _("partner exchanges")
        constraints = [
            models.UniqueConstraint(fields=["partner", "direction", "external_id"],
                                    name="partner_exchange_once"),
            models.CheckConstraint(condition=Q(points__gt=0) & Q(partner_points__gt=0),
                                   name="partner_exchange_positive"),
        ]
        indexes = [models.Index(fields=["member", "partner", "direction", "local_date"],
                                name="partner_exchange_day_idx")]

    def __str__(self) -> str:
        return str(_("Exchange #%(exchange)s (%(direction)s): %(points)s points") % {
            "exchange": self.pk, "direction": self.get_direction_display(),
            "points": self.points})


class PartnerDailyTotal(models.Model):
    """Our points exchanged with a partner on one Beijing day, all members together; the
    row is locked while an exchange checks the partner's daily limit."""

    partner = models.ForeignKey(PartnerProgramme, models.PROTECT, related_name="+")
    direction = models.CharField(max_length=3, choices=ExchangeDirection.choices)
    local_date = models.DateField()
    points = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["partner", "direction", "local_date"],
                                               name="partner_daily_total_once")]
