"""The admin's side of `core.actor`: a signed-in staff user is the actor of every write their
request makes. (API requests name their key in loyalty.api.base instead.)"""

from __future__ import annotations

from django.shortcuts import render
from django.urls import reverse

from core.actor import Actor, acting_as
from core.admin import viewing
from members.selectors.access import staff_store_ids

from .roles import admin_refused


class StaffActorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        stores = staff_store_ids(user)
        # a clerk bound to one store acts for it; bound to several, the row's own store
        # (the order's, the pickup store) is the one that applies
        store_id = stores[0] if stores is not None and len(stores) == 1 else None
        with acting_as(Actor(user_id=user.pk, store_id=store_id)), viewing(user):
            return self.get_response(request)


class CounterRolesMiddleware:
    """The admin refuses an account that only works at the counter (a clerk): 403 and a link
    to /counter/ on every admin URL — its sign-in page aside, so another person can still
    sign in there."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.prefix = reverse("admin:index")
        self.login = reverse("admin:login")

    def __call__(self, request):
        if (request.path.startswith(self.prefix) and request.path != self.login
                and admin_refused(request.user)):
            return render(request, "counter/admin_refused.html", status=403)
        return self.get_response(request)
