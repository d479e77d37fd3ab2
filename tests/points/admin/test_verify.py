"""The ledger check's panel on the admin's home page: the last run of verify_ledger and
every account it found differing, for those who may read ledger checks."""

from __future__ import annotations

from datetime import timedelta

import pgtrigger
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.utils import timezone

from points.models import LedgerVerification
from points.services.ledger import points_earn
from points.services.verify import ledger_verify


def test_the_home_page_shows_the_last_check_and_who_differs(admin_client, make_member, now,
                                                            high_ids):
    LedgerVerification.objects.all().delete()  # whatever an earlier test left
    assert "ledger-check" in admin_client.get("/admin/").content.decode()  # not run yet
    high_ids("members_member", 12_344)  # an id shown plain, never as 12,345
    members = [make_member() for _ in range(2)]
    for member in members:
        points_earn(member_id=member.pk, points=50, now=now)
    ledger_verify(full=True, now=now)  # both runs on the test's clock: the second is the last
    page = admin_client.get("/admin/").content.decode()
    assert "ledger-check-difference" not in page
    with pgtrigger.ignore("points.PointsEntry:append_only"), connection.cursor() as cursor:
        cursor.execute("UPDATE points_pointsentry SET pending_delta = 60 WHERE member_id = %s",
                       [members[1].pk])
    ledger_verify(full=True, now=now + timedelta(days=1))
    page = admin_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"Member #{members[1].pk}" in page
    assert f"Member #{members[0].pk}" not in page
    assert "an entry does not chain" in page


def test_the_panel_is_only_for_those_who_may_read_ledger_checks(client, db):
    ledger_verify(now=timezone.now())
    staff = User.objects.create_user("plain", password="x", is_staff=True)
    client.force_login(staff)
    assert "ledger-check" not in client.get("/admin/").content.decode()
    staff.user_permissions.add(Permission.objects.get(codename="view_ledgerverification"))
    staff = User.objects.get(pk=staff.pk)
    client.force_login(staff)
    assert "ledger-check" in client.get("/admin/").content.decode()
