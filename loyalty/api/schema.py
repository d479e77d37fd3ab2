"""OpenAPI: every operation documents the one error shape and its statuses, and the
Idempotency-Key header where the view takes one."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. insufficient_points.")
    message = serializers.CharField(help_text="Human-readable, translated (Accept-Language).")
    details = serializers.DictField(help_text="Field errors or parameters of the failure.")


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


class LoyaltyAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        statuses = ["400", "401", "403", "429"]
        if "{" in self.path:
            statuses.append("404")
        if self.method in ("POST", "PATCH", "PUT"):
            statuses += ["404", "409", "422"]
        for status in statuses:
            if status not in responses:
                responses[status] = self._get_response_for_code(ErrorSerializer, status,
                                                                 direction=direction)
        return responses

    def get_override_parameters(self):
        params = super().get_override_parameters()
        mode = getattr(self.view, "idempotency", None)
        if mode and self.method == "POST":
            params.append(OpenApiParameter(
                "Idempotency-Key", str, OpenApiParameter.HEADER, required=mode == "required",
                description="A unique key per operation; a retry with the same key and body "
                            "answers the first outcome."))
        return params
