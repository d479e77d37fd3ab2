"""The served OpenAPI document (apart from `schema.py`, which drf-spectacular's views import:
a view here would import them back)."""

from __future__ import annotations

from django.utils import translation
from drf_spectacular.views import SpectacularAPIView


class SchemaView(SpectacularAPIView):
    """The OpenAPI document: one English schema whatever `Accept-Language` says (generated
    clients name their classes after it). The docs page around it may be translated."""

    def dispatch(self, request, *args, **kwargs):
        with translation.override("en"):
            response = super().dispatch(request, *args, **kwargs)
            if hasattr(response, "render"):
                response.render()
        response["Content-Language"] = "en"
        return response
