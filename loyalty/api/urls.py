from django.urls import path, re_path

from . import (benefits, checkout, coupons, errors, events, members, orders, paid, points,
               rewards, tiers)

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
    # rewards, coupons and the checkout preview
    path("members/<int:member_id>/rewards", rewards.RewardListView.as_view(), name="rewards"),
    path("members/<int:member_id>/rewards/redeem", rewards.RedeemView.as_view(),
         name="reward-redeem"),
    path("members/<int:member_id>/rewards/redemptions", rewards.RedemptionListView.as_view(),
         name="reward-redemptions"),
    path("members/<int:member_id>/rewards/redemptions/<int:redemption_id>/cancel",
         rewards.CancelView.as_view(), name="reward-redemption-cancel"),
    path("members/<int:member_id>/coupons", coupons.MemberCouponsView.as_view(),
         name="member-coupons"),
    path("members/<int:member_id>/coupons/history", coupons.CouponHistoryView.as_view(),
         name="coupon-history"),
    path("members/<int:member_id>/coupons/issue", coupons.IssueView.as_view(),
         name="coupon-issue"),
    path("coupons/redeem", coupons.RedeemView.as_view(), name="coupon-redeem"),
    path("coupons/void", coupons.VoidView.as_view(), name="coupon-void"),
    path("checkout/preview", checkout.PreviewView.as_view(), name="checkout-preview"),
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
