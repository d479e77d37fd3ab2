from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerSplitView

from loyalty.api.schema_view import SchemaView
from loyalty.callbacks import sms_inbound_view, sms_receipt_view
from loyalty.health import healthz, healthz_detail

urlpatterns = [
    path("admin/", admin.site.urls),
    path("counter/", include("loyalty.counter.urls")),
    path("api/v1/", include("loyalty.api.urls")),
    path("api/schema/", SchemaView.as_view(), name="schema"),
    # the split view serves its start-up script as a file: no inline script for the CSP
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("healthz", healthz, name="healthz"),
    path("healthz/detail", healthz_detail, name="healthz-detail"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("callbacks/sms/inbound", sms_inbound_view, name="callback-sms-inbound"),
    path("callbacks/sms/receipt", sms_receipt_view, name="callback-sms-receipt"),
]
