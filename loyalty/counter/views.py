"""The counter's pages. Each parses the form, calls one service (or one selector), and
renders; a refusal (`LoyaltyError`) is shown in the page in the clerk's language."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import LoginView
from django.core import signing
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from campaigns.models import CallOutcome
from campaigns.selectors.call_tasks import call_tasks_open
from campaigns.services.call_tasks import call_task_record
from core.errors import LoyaltyError
from loyalty.services.checkout import checkout_preview
from loyalty.services.checkout_commit import CheckoutInput, checkout_commit
from loyalty.services.counter import campaign_gift_hand_over, return_preview
from loyalty.services.intake import record_return, register_member
from loyalty.services.member_code import looks_like_member_code, member_code_use
from members.models import ContactChannel, Member
from members.services.consent import member_consents_set
from members.services.members import MemberInput
from members.services.orders import ReturnInput, ReturnLineInput
from points.models.rewards import Fulfilment
from points.selectors.stored_value import stored_value_for
from points.services.coupons import Basket, BasketLine
from points.services.rewards import reward_redeem
from tiers.services.benefits import benefit_grant_claim

from ..errors import CounterError, CounterErrorCode
from . import selectors
from .access import (
    MEMBER_COOKIE,
    MEMBER_KEY,
    STORE_KEY,
    bound_stores,
    counter_roles,
    counter_view,
    may_serve,
    note_opened,
)
from .forms import LINE_ROWS, RegisterForm, purchase_lines, purchase_tenders, whole

SALT = "counter"


class CounterLoginView(LoginView):
    template_name = "counter/login.html"

    def get_default_redirect_url(self):
        return reverse("counter:home")

    def form_valid(self, form):
        kept = self.request.get_signed_cookie(MEMBER_COOKIE, default=None, salt=SALT,
                                              max_age=15 * 60)
        response = super().form_valid(form)
        if kept and str(kept).isdigit():
            self.request.session[MEMBER_KEY] = int(kept)
        response.delete_cookie(MEMBER_COOKIE)
        return response


@require_POST
def switch_clerk(request):
    """Another clerk takes the tablet: this one is signed out, the open member stays open
    for the next (a signed cookie of a few minutes, holding only the member's id)."""
    kept = request.session.get(MEMBER_KEY)
    logout(request)
    response = redirect("counter:login")
    if kept:
        response.set_signed_cookie(MEMBER_COOKIE, str(kept), salt=SALT, max_age=15 * 60,
                                   httponly=True, samesite="Strict",
                                   secure=request.is_secure())
    return response


def store_pick(request):
    if not request.user.is_authenticated:
        return redirect("counter:login")
    stores = bound_stores(request.user) if counter_roles(request.user) else []
    if not stores:
        return render(request, "counter/denied.html", status=403)
    if request.method == "POST":
        chosen = whole(request.POST.get("store", "0")) if request.POST.get(
            "store", "").isdigit() else 0
        if chosen in {store.pk for store in stores}:
            request.session[STORE_KEY] = chosen
            target = request.POST.get("next", "")
            return redirect(target if target.startswith("/counter/") else "counter:home")
    return render(request, "counter/store.html",
                  {"stores": stores, "next": request.GET.get("next", "")})


@counter_view
def home(request, *, counter):
    kept = request.session.get(MEMBER_KEY)
    if kept and request.GET.get("new") is None and may_serve(request, counter, kept):
        return redirect("counter:member", member_id=kept)
    request.session.pop(MEMBER_KEY, None)
    return render(request, "counter/home.html", {"counter": counter})


def _open(request, member_id: int):
    note_opened(request, member_id)
    url = reverse("counter:member", args=[member_id])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@counter_view
def find(request, *, counter):
    """The one box: a scanned dynamic member code (accepted once, within its minute), a full
    mobile or member number (any store), or the last four digits (the clerk's stores)."""
    term = request.GET.get("q", "")
    template = "counter/_results.html" if request.htmx else "counter/home.html"
    if looks_like_member_code(term):
        try:
            return _open(request, member_code_use(code=term))
        except LoyaltyError as error:
            return render(request, template, {"counter": counter, "error": error.message})
    found = selectors.member_find(term=term, store_ids=counter.store_ids)
    if found.exact and len(found.members) == 1:
        return _open(request, found.members[0].pk)
    return render(request, template, {"counter": counter, "found": found, "q": term})


def _served(request, counter, member_id: int) -> None:
    if not may_serve(request, counter, member_id):
        raise Http404


@counter_view
def member(request, member_id: int, *, counter):
    _served(request, counter, member_id)
    request.session[MEMBER_KEY] = member_id
    card = selectors.member_card(member_id=member_id, store_id=counter.store.pk,
                                 now=timezone.now())
    return render(request, "counter/member.html", {
        "counter": counter, "card": card, "key": uuid.uuid4().hex})


def _opened_at(token: str) -> datetime:
    """When the purchase or return form opened: the order's time, fixed with its key so that
    a resubmitted form is the same order."""
    try:
        return datetime.fromisoformat(signing.loads(token, salt=SALT, max_age=24 * 3600))
    except (signing.BadSignature, ValueError, TypeError) as error:
        raise CounterError(CounterErrorCode.FORM_STALE) from error


def _purchase_context(counter, member_id: int, data=None) -> dict:
    now = timezone.now()
    card = selectors.member_card(member_id=member_id, store_id=counter.store.pk, now=now)
    data = data or {}
    return {"counter": counter, "card": card, "rows": [
        {"n": n, "sku": data.get(f"sku-{n}", ""), "category": data.get(f"category-{n}", ""),
         "quantity": data.get(f"quantity-{n}", "1") or "1",
         "amount": data.get(f"amount-{n}", "")} for n in range(LINE_ROWS)],
        "key": data.get("key") or uuid.uuid4().hex,
        "opened": data.get("opened") or signing.dumps(now.isoformat(), salt=SALT),
        "coupon": data.get("coupon", ""), "points": data.get("points", ""),
        "stored_value": data.get("stored_value", ""),
        "stored_value_balance": stored_value_for(member_id).balance,
        "gift_card_code": data.get("gift_card_code", ""),
        "gift_card_amount": data.get("gift_card_amount", "")}


@counter_view
def purchase(request, member_id: int, *, counter):
    _served(request, counter, member_id)
    if request.method != "POST":
        return render(request, "counter/purchase.html", _purchase_context(counter, member_id))
    data = request.POST
    try:
        key = data.get("key", "").strip()[:64]
        outcome = checkout_commit(checkout=CheckoutInput(
            member_id=member_id, store_code=counter.store.code,
            order_no=f"C{key[:20].upper()}", ordered_at=_opened_at(data.get("opened", "")),
            lines=purchase_lines(data), coupon_code=data.get("coupon", "").strip(),
            points=whole(data.get("points", "")), tenders=purchase_tenders(data),
            cash_rest=True), key=f"counter:{key}")
    except LoyaltyError as error:
        context = _purchase_context(counter, member_id, data)
        context["error"] = error.message
        return render(request, "counter/purchase.html", context, status=200)
    order = outcome.sale.order
    earned = outcome.sale.points.entry if outcome.sale.points else None
    messages.success(request, _("Purchase recorded: order {order_no}, paid ¥{net}, "
                                "{points} points earned.").format(
        order_no=order.order_no, net=order.net_amount,
        points=(earned.available_delta + earned.pending_delta) if earned else 0))
    return redirect("counter:member", member_id=member_id)


@counter_view
def purchase_preview(request, member_id: int, *, counter):
    _served(request, counter, member_id)
    context = {"counter": counter}
    try:
        lines = purchase_lines(request.POST)
        basket = Basket(lines=tuple(BasketLine(sku=line.sku, quantity=line.quantity,
                                               amount=line.amount, category=line.category)
                                    for line in lines))
        context["preview"] = checkout_preview(
            member_id=member_id, basket=basket,
            coupon_code=request.POST.get("coupon", "").strip() or None)
    except LoyaltyError as error:
        context["error"] = error.message
    return render(request, "counter/_preview.html", context)


def _attempt(request, action) -> None:
    try:
        action()
    except LoyaltyError as error:
        messages.error(request, error.message)


@counter_view
@require_POST
def reward(request, member_id: int, *, counter):
    _served(request, counter, member_id)

    def redeem():
        done = reward_redeem(member_id=member_id, reward_id=whole(request.POST.get("reward")),
                             quantity=max(whole(request.POST.get("quantity"), 1), 1),
                             source_key=f"counter:{request.POST.get('key', '')[:64]}",
                             fulfilment=Fulfilment.PICKUP, store_code=counter.store.code)
        messages.success(request, _("Reward redeemed: {name}.").format(name=done.reward.name))

    _attempt(request, redeem)
    return redirect("counter:member", member_id=member_id)


@counter_view
@require_POST
def benefit(request, member_id: int, *, counter):
    _served(request, counter, member_id)

    def claim():
        grant = benefit_grant_claim(member_id=member_id,
                                    grant_id=whole(request.POST.get("grant")))
        messages.success(request, _("Benefit claimed: {name}.").format(name=grant.benefit.name))

    _attempt(request, claim)
    return redirect("counter:member", member_id=member_id)


@counter_view
def calls(request, *, counter):
    """The store's open call tasks: member, script, outcome form."""
    return render(request, "counter/calls.html", {
        "counter": counter, "tasks": call_tasks_open(store_id=counter.store.pk),
        "outcomes": CallOutcome.choices})


@counter_view
@require_POST
def call_outcome(request, message_id: int, *, counter):
    def record():
        call_task_record(message_id=message_id, store_id=counter.store.pk,
                         clerk_id=counter.user.pk, outcome=request.POST.get("outcome", ""))
        messages.success(request, _("Call outcome saved."))

    _attempt(request, record)
    return redirect("counter:calls")


@counter_view
@require_POST
def consent(request, member_id: int, *, counter):
    """The member's answers per channel, as the clerk ticked them (source `counter`)."""
    _served(request, counter, member_id)
    ticked = set(request.POST.getlist("channel"))

    def change():
        changed = member_consents_set(
            member_id=member_id, source="counter",
            changes={channel: channel in ticked for channel in ContactChannel.values})
        messages.success(request, _("Consent saved.") if changed else _("Nothing changed."))

    _attempt(request, change)
    return redirect("counter:member", member_id=member_id)


@counter_view
@require_POST
def gift(request, member_id: int, *, counter):
    _served(request, counter, member_id)

    def hand_over():
        done = campaign_gift_hand_over(gift_id=whole(request.POST.get("gift")),
                                       member_id=member_id, store_id=counter.store.pk,
                                       clerk_id=counter.user.pk)
        messages.success(request, _("Gift handed over: {name}.").format(name=done.name))

    _attempt(request, hand_over)
    return redirect("counter:member", member_id=member_id)


@counter_view
def register(request, *, counter):
    form = RegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            outcome = register_member(data=MemberInput(
                mobile=data["mobile"], name=data["name"], gender=data["gender"],
                birthday=data["birthday"], home_store_code=counter.store.code,
                source_channel=Member.Channel.STORE, enrolled_by_id=counter.user.pk,
                marketing_consent=data["marketing_consent"], consent_source="counter"))
        except LoyaltyError as error:
            form.add_error(None, error.message)
        else:
            note_opened(request, outcome.member.pk)
            messages.success(request, _("Member registered: {no}.").format(
                no=outcome.member.member_no))
            return redirect("counter:member", member_id=outcome.member.pk)
    return render(request, "counter/register.html", {"counter": counter, "form": form})


def _return_input(request, counter, sale, lines) -> ReturnInput:
    """The picked lines and quantities, under the number and time fixed when the form
    opened, so that a resubmitted return is the same return."""
    picked = tuple(
        ReturnLineInput(line_no=item["line"].line_no, quantity=quantity)
        for item in lines
        if (quantity := whole(request.POST.get(f"qty-{item['line'].line_no}", ""))))
    if not picked:
        raise CounterError(CounterErrorCode.NOTHING_TO_RETURN)
    key = request.POST.get("key", "")[:20].upper()
    return ReturnInput(store_code=counter.store.code, order_no=f"R{key}",
                       sale_order_no=sale.order_no,
                       ordered_at=_opened_at(request.POST.get("opened", "")), lines=picked,
                       sale_store_code=sale.store.code)


@counter_view
def order_return(request, *, counter):
    """Find a sale of the clerk's stores, pick lines and quantities, see what the return
    gives back and takes back (`step=preview`), then confirm."""
    data = request.POST
    order_no = (data.get("order_no") or request.GET.get("order_no") or "").strip()
    context = {"counter": counter, "order_no": order_no,
               "key": data.get("key") or uuid.uuid4().hex,
               "opened": data.get("opened") or signing.dumps(timezone.now().isoformat(),
                                                             salt=SALT),
               "picked": {k: v for k, v in data.items() if k.startswith("qty-")}}
    if not order_no:
        return render(request, "counter/return.html", context)
    sale = selectors.store_sale(order_no=order_no, store_ids=counter.store_ids)
    if sale is None:
        context["error"] = CounterError(CounterErrorCode.ORDER_NOT_FOUND).message
        return render(request, "counter/return.html", context, status=200)
    context.update(sale=sale, lines=selectors.returnable_lines(sale))
    for item in context["lines"]:
        item["picked"] = data.get(f"qty-{item['line'].line_no}", "")
    if request.method != "POST":
        return render(request, "counter/return.html", context)
    try:
        ret = _return_input(request, counter, sale, context["lines"])
        if data.get("step") == "preview":
            context["preview"] = return_preview(ret=ret)
            return render(request, "counter/return.html", context)
        outcome = record_return(ret=ret)
    except LoyaltyError as error:
        context["error"] = error.message
        return render(request, "counter/return.html", context)
    messages.success(request, _("Return recorded: {order_no}, refund ¥{amount}.").format(
        order_no=outcome.order.order_no, amount=abs(outcome.order.net_amount)))
    return redirect("counter:member", member_id=sale.member_id) if may_serve(
        request, counter, sale.member_id) else redirect("counter:home")


@counter_view
def day(request, *, counter):
    rows = selectors.end_of_day(store_id=counter.store.pk, now=timezone.now())
    return render(request, "counter/day.html", {"counter": counter, "rows": rows})
