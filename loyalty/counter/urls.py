from django.urls import path

from . import views

app_name = "counter"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.CounterLoginView.as_view(), name="login"),
    path("switch/", views.switch_clerk, name="switch"),
    path("store/", views.store_pick, name="store"),
    path("find/", views.find, name="find"),
    path("register/", views.register, name="register"),
    path("m/<int:member_id>/", views.member, name="member"),
    path("m/<int:member_id>/purchase/", views.purchase, name="purchase"),
    path("m/<int:member_id>/purchase/preview/", views.purchase_preview, name="preview"),
    path("m/<int:member_id>/reward/", views.reward, name="reward"),
    path("m/<int:member_id>/benefit/", views.benefit, name="benefit"),
    path("m/<int:member_id>/gift/", views.gift, name="gift"),
    path("m/<int:member_id>/consent/", views.consent, name="consent"),
    path("return/", views.order_return, name="return"),
    path("day/", views.day, name="day"),
    path("calls/", views.calls, name="calls"),
    path("calls/<int:message_id>/", views.call_outcome, name="call-outcome"),
]
