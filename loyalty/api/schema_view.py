"""The served OpenAPI document (apart from `schema.py`, which drf-spectacular's views import:
a view here would import them back)."""

from __future__ import annotations

from drf_spectacular.views import SpectacularAPIView


class SchemaView(SpectacularAPIView):
    """The OpenAPI document: one English schema whatever `Accept-Language` says (generated
    clients name their classes after it; `schema.EnglishSchemaGenerator` writes it). The
    docs page around it may be translated."""

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Content-Language"] = "en"
        return response
