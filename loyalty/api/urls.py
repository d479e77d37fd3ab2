from django.urls import path, re_path

from . import errors, events, holds, members, orders, partners, points, reports, tiers

app_name = "api"

urlpatterns = [
    path("members", members.MemberRegisterView.as_view(), name="member-register"),
    path("members/lookup", members.MemberLookupView.as_view(), name="member-lookup"),
    path("members/<int:member_id>", members.MemberDetailView.as_view(), name="member-detail"),
    path("members/<int:member_id>/points", points.BalanceView.as_view(), name="points-balance"),
    path("members/<int:member_id>/points/entries", points.EntryListView.as_view(),
         name="points-entries"),
    path("members/<int:member_id>/points/spend", points.SpendView.as_view(), name="points-spend"),
    path("members/<int:member_id>/points/adjust", points.AdjustView.as_view(),
         name="points-adjust"),
    path("members/<int:member_id>/tier", tiers.TierProgressView.as_view(), name="member-tier"),
    path("orders/sales", orders.SaleView.as_view(), name="sale"),
    path("orders/returns", orders.ReturnView.as_view(), name="return"),
    path("events", events.EventView.as_view(), name="events"),
    path("checkout/holds", holds.HoldCreateView.as_view(), name="hold-create"),
    path("checkout/holds/<int:hold_id>", holds.HoldDetailView.as_view(), name="hold-detail"),
    path("checkout/holds/<int:hold_id>/capture", holds.HoldCaptureView.as_view(),
         name="hold-capture"),
    path("checkout/holds/<int:hold_id>/release", holds.HoldReleaseView.as_view(),
         name="hold-release"),
    path("partners/<slug:partner_code>/exchanges/in", partners.ExchangeInView.as_view(),
         name="partner-exchange-in"),
    path("partners/<slug:partner_code>/exchanges/out", partners.ExchangeOutView.as_view(),
         name="partner-exchange-out"),
    path("reports/points-liability", reports.LiabilityView.as_view(), name="points-liability"),
    re_path(r"", errors.not_found),  # anything else under the API: a JSON 404
]
