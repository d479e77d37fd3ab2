"""Who may use the counter, for which store, and which members and orders they see.

A clerk, an operator or a programme admin bound to at least one store (members.StoreStaff)
may sign in; with several stores they pick the one they stand in, kept in the session. The
counter is scoped to the stores the account is bound to — also for an operator, who may act
for every store in the admin: at the till one stands in one's stores. Members are those of
the admin's store scope (home store there, or an order there); a full mobile or a member
number finds anyone, and that member may then be served.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from django.urls import reverse

from core.actor import Actor, acting_as
from loyalty import roles
from members.models import Store, StoreStaff
from members.selectors.access import member_in_stores

COUNTER_ROLES = (roles.CLERKS, roles.OPERATORS, roles.PROGRAMME_ADMINS)
STORE_KEY = "counter_store_id"
OPENED_KEY = "counter_opened"  # members opened by an exact identifier in this session
MEMBER_KEY = "counter_member_id"  # the open member, kept across a change of clerk
MEMBER_COOKIE = "counter_member"


@dataclass(frozen=True)
class Counter:
    user: object
    store: Store
    store_ids: list[int]


def counter_roles(user) -> bool:
    return user.is_active and user.groups.filter(name__in=COUNTER_ROLES).exists()


def bound_stores(user) -> list[Store]:
    ids = StoreStaff.objects.filter(user_id=user.pk).values("store_id")
    return list(Store.objects.filter(pk__in=ids).order_by("code"))


def may_serve(request, counter: Counter, member_id: int) -> bool:
    return (member_id in request.session.get(OPENED_KEY, [])
            or member_in_stores(member_id, counter.store_ids))


def note_opened(request, member_id: int) -> None:
    opened = request.session.get(OPENED_KEY, [])
    if member_id not in opened:
        request.session[OPENED_KEY] = [*opened[-49:], member_id]


def counter_view(view):
    """Signed in, a counter role, a bound store chosen; the view runs as the clerk at that
    store, so every write it makes is attributed to both."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("counter:login"))
        stores = bound_stores(user) if counter_roles(user) else []
        if not stores:
            return render(request, "counter/denied.html", status=403)
        by_id = {store.pk: store for store in stores}
        store = by_id.get(request.session.get(STORE_KEY))
        if store is None:
            if len(stores) > 1:
                return redirect(f"{reverse('counter:store')}?next={request.get_full_path()}")
            store = stores[0]
            request.session[STORE_KEY] = store.pk
        counter = Counter(user=user, store=store, store_ids=list(by_id))
        request.counter = counter
        with acting_as(Actor(user_id=user.pk, store_id=store.pk)):
            return view(request, *args, counter=counter, **kwargs)

    return wrapped
