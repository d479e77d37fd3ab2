from django.urls import path, re_path

from . import converters  # noqa: F401  (registers <code:…> for tag and segment codes)
from . import errors, events, members, orders, points, segments, tags, tiers

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
    # tags and segments
    path("members/<int:member_id>/tags", tags.MemberTagAddView.as_view(), name="member-tag-add"),
    path("members/<int:member_id>/tags/<code:tag>", tags.MemberTagRemoveView.as_view(),
         name="member-tag-remove"),
    path("segments/<code:segment>/members/<int:member_id>",
         segments.SegmentMembershipView.as_view(), name="segment-membership"),
    path("segments/<code:segment>/snapshots/<int:snapshot_id>/members/<int:member_id>",
         segments.SnapshotMembershipView.as_view(), name="snapshot-membership"),
    re_path(r"", errors.not_found),  # anything else under the API: a JSON 404
]
