from django.urls import path, re_path

from . import benefits, errors, events, members, orders, paid, points, tiers

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
    # benefits and paid membership
    path("members/<int:member_id>/benefits", benefits.MemberBenefitsView.as_view(),
         name="member-benefits"),
    path("members/<int:member_id>/benefit-grants", benefits.GrantListView.as_view(),
         name="benefit-grants"),
    path("members/<int:member_id>/benefit-grants/<int:grant_id>/claim",
         benefits.GrantClaimView.as_view(), name="benefit-grant-claim"),
    path("members/<int:member_id>/benefit-grants/<int:grant_id>/use",
         benefits.GrantUseView.as_view(), name="benefit-grant-use"),
    path("members/<int:member_id>/paid-memberships", paid.PaidPurchaseView.as_view(),
         name="paid-purchase"),
    re_path(r"", errors.not_found),  # anything else under the API: a JSON 404
]
