"""The console's home page: the dashboard (django-unfold calls `dashboard_callback` for the
index). A date range and a store pick the figures (loyalty.selectors.dashboard); the charts
are inline SVG drawn from coordinates computed here (no script, no outside origin)."""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.clock import local_date
from core.formats import number, percent
from members.models import Lifecycle, Member, Store, StoreStaff
from points.admin.liability import nice_scale

from ..models import Measure
from ..selectors.dashboard import Dashboard, dashboard_figures

VIEW_DASHBOARD = "loyalty.view_dashboardfact"
DEFAULT_DAYS = 30
MAX_DAYS = 366
CHART_HEIGHT, AXIS_LEFT, AXIS_TOP, AXIS_BOTTOM, TICKS = 140, 72, 8, 28, 4
CHANNEL_COLOURS = ("#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#c62828", "#546e7a")


class DashboardForm(forms.Form):
    start = forms.DateField(label=_("from"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("to"), required=False,
                          widget=forms.DateInput(attrs={"type": "date"}))
    store = forms.ModelChoiceField(label=_("store"), queryset=Store.objects.order_by("code"),
                                   required=False, empty_label=_("All stores"))

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if start > end:
                raise forms.ValidationError(_("The range ends before it begins."))
            if (end - start).days >= MAX_DAYS:
                raise forms.ValidationError(_("Choose at most %(days)s days.")
                                            % {"days": MAX_DAYS})
        return data


def _buckets(start: date, end: date) -> tuple[list[date], callable]:
    """Days for a short range, weeks (from Monday) up to half a year, else months."""
    days = (end - start).days + 1
    if days <= 45:
        def key(day):
            return day
    elif days <= 200:
        def key(day):
            return day - timedelta(days=day.weekday())
    else:
        def key(day):
            return day.replace(day=1)
    keys = sorted({key(start + timedelta(days=i)) for i in range(days)})
    return keys, key


def bar_chart(series: list[tuple[str, dict[date, object], str]], start: date, end: date,
              *, unit: str) -> dict:
    """Grouped bars per day (or week, or month) for each series, on a round axis with its
    ticks labelled with thousands separators and the first, middle and last periods named
    under the axis: coordinates the template's SVG draws."""
    keys, key = _buckets(start, end)
    totals = [{k: 0 for k in keys} for _s in series]
    for i, (_label, by_day, _colour) in enumerate(series):
        for day, value in by_day.items():
            if start <= day <= end:
                totals[i][key(day)] += max(int(value), 0)
    top = max([v for t in totals for v in t.values()] + [0])
    step = nice_scale(top, TICKS)
    axis_max = step * TICKS
    bar = max(2, min(14, 560 // max(1, len(keys) * len(series))))
    group = bar * len(series) + max(2, bar // 2)
    groups, points = [], 0
    for n, k in enumerate(keys):
        x = AXIS_LEFT + 6 + n * group
        bars = []
        for i, (label, _by_day, colour) in enumerate(series):
            value = totals[i][k]
            height = round(value * CHART_HEIGHT / axis_max)
            bars.append({"x": x + i * bar, "y": AXIS_TOP + CHART_HEIGHT - height,
                         "height": height, "value_text": number(value), "label": label,
                         "colour": colour})
            points += 1
        named = n in (0, len(keys) // 2, len(keys) - 1)
        groups.append({"label": k.isoformat(), "named": named,
                       "centre": x + bar * len(series) // 2, "bars": bars})
    ticks = [{"y": AXIS_TOP + CHART_HEIGHT - round(j * step * CHART_HEIGHT / axis_max),
              "label": number(j * step)} for j in range(TICKS + 1)]
    return {"groups": groups, "ticks": ticks, "left": AXIS_LEFT, "top": AXIS_TOP,
            "bottom": AXIS_TOP + CHART_HEIGHT, "bar": bar, "points": points, "unit": unit,
            "width": AXIS_LEFT + 12 + len(keys) * group,
            "height": AXIS_TOP + CHART_HEIGHT + AXIS_BOTTOM,
            "legend": [{"label": label, "colour": colour} for label, _d, colour in series]}


def _new_members_by_channel(board: Dashboard) -> list[tuple[str, dict[date, object], str]]:
    labels = dict(Member.Channel.choices)
    by_channel: dict[str, dict[date, int]] = {}
    # the facts keep each day's total per channel; the series need them apart
    where = "AND store_id = %s" if board.store_id is not None else ""
    with connection.cursor() as cursor:
        cursor.execute(f"""SELECT day, key, sum(value) FROM loyalty_dashboardfact
                           WHERE measure = %s AND day BETWEEN %s AND %s {where}
                           GROUP BY 1, 2""",
                       [str(Measure.NEW_MEMBERS), board.start, board.end,
                        *([board.store_id] if board.store_id is not None else [])])
        for day, channel, value in cursor.fetchall():
            by_channel.setdefault(channel, {})[day] = value
    for channel, value in board.flows.get(Measure.NEW_MEMBERS, {}).items():
        stored = sum(by_channel.get(channel, {}).values())
        if value - stored:
            by_channel.setdefault(channel, {})[board.today] = value - stored  # today, live
    return [(labels.get(channel, channel or "-"), days, CHANNEL_COLOURS[i % 7])
            for i, (channel, days) in enumerate(sorted(by_channel.items()))]


def dashboard_context(request, now=None) -> dict:
    today = local_date(now or timezone.now())
    form = DashboardForm(request.GET or None)
    start, end, store = today - timedelta(days=DEFAULT_DAYS - 1), today, None
    if form.is_bound and form.is_valid():
        start = form.cleaned_data["start"] or start
        end = form.cleaned_data["end"] or end
        store = form.cleaned_data["store"]
        if start > end or (end - start).days >= MAX_DAYS:
            start = end - timedelta(days=DEFAULT_DAYS - 1)
    board = dashboard_figures(start=start, end=end, store_id=store.pk if store else None,
                              now=now)
    growth = bar_chart(_new_members_by_channel(board), board.start, board.end,
                       unit=_("members"))
    points = bar_chart([
        (_("Issued"), board.daily.get(Measure.POINTS_ISSUED, {}), "#2e7d32"),
        (_("Redeemed"), board.daily.get(Measure.POINTS_REDEEMED, {}), "#1565c0"),
        (_("Expired"), board.daily.get(Measure.POINTS_EXPIRED, {}), "#c62828"),
    ], board.start, board.end, unit=_("points"))
    sales = bar_chart([(_("net sales (¥)"), board.daily.get(Measure.NET_SALES, {}), "#ef6c00")],
                      board.start, board.end, unit="¥")
    tiers = [(board.tier_names.get(code, code), number(n))
             for code, n in sorted(board.stocks.get(Measure.TIER_MEMBERS, {}).items(),
                                   key=lambda item: list(board.tier_names).index(item[0])
                                   if item[0] in board.tier_names else 99)]
    stages = board.stocks.get(Measure.LIFECYCLE_MEMBERS, {})
    funnel = [(label, number(stages.get(code, 0))) for code, label in Lifecycle.choices]
    kpis = [
        (_("New members"), number(board.new_members)),
        (_("Active members"), number(board.active_members)),
        (_("Net sales (¥)"), number(board.flow(Measure.NET_SALES), 2)),
        (_("Average order (¥)"), number(board.average_order, 2)),
        (_("Repurchase rate"), percent(board.repurchase_rate)),
        (_("Points issued"), number(board.flow(Measure.POINTS_ISSUED))),
        (_("Points redeemed"), number(board.flow(Measure.POINTS_REDEEMED))),
        (_("Points expired"), number(board.flow(Measure.POINTS_EXPIRED))),
        (_("Outstanding liability (¥)"), number(board.liability_yuan, 2)),
        (_("Paid membership penetration"), percent(board.paid_penetration)),
        (_("Paid membership renewal rate"), percent(board.paid_renewal_rate)),
        (_("Coupons issued"), number(board.flow(Measure.COUPONS_ISSUED))),
        (_("Coupons used"), number(board.flow(Measure.COUPONS_USED))),
        (_("Coupon use rate"), percent(board.coupon_use_rate)),
        (_("Upgrades this month"), number(board.month_flows.get(Measure.UPGRADES, 0))),
        (_("Downgrades this month"), number(board.month_flows.get(Measure.DOWNGRADES, 0))),
    ]
    return {"dashboard": board, "dashboard_form": form, "kpis": kpis, "tiers": tiers,
            "funnel": funnel, "charts": [
                (_("New members per day by channel"), growth),
                (_("Net sales"), sales),
                (_("Points issued, redeemed and expired"), points)]}


def dashboard_callback(request, context: dict) -> dict:
    """The home page's figures, for roles that read the programme's figures; others (staff
    accounts and keys only) get the page without them."""
    if request.user.has_perm(VIEW_DASHBOARD) and not _store_bound_only(request.user):
        context.update(dashboard_context(request))
    return context


def _store_bound_only(user) -> bool:
    """A staff account that acts for some stores only sees no programme-wide figures."""
    if user.has_perm("members.act_for_all_stores"):
        return False
    return StoreStaff.objects.filter(user=user).exists()
