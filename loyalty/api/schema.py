"""The OpenAPI contract, generated from the views so it cannot drift from them.

Every operation carries its own summary and description (the view's docstring), a chosen
camelCase `operationId`, its required scopes (`x-required-scopes`), every status it can
answer with the `error.code` values behind each (`x-error-codes`), and its headers:
`X-Request-ID` on every answer, `Idempotency-Key` / `Idempotent-Replayed` where the view takes
the key, `Retry-After` where a retry can succeed. Request bodies refuse unknown fields
(`additionalProperties: false`), and each input field shows the pattern it is checked
against (`fields.py`). The schema is served in English whatever the request's language.
"""

from __future__ import annotations

import inspect
from collections import defaultdict
from http import HTTPStatus
from pathlib import Path

from django.utils import translation
from django.utils.functional import Promise
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from core.errors import ErrorCode

from ..errors import ApiErrorCode
from .base import MAX_ID
from .fields import SLUG, Date, DateTime, Input, Integer, Money, Text
from .idempotency import KEY_PATTERN
from .middleware import HEADER as REQUEST_ID_HEADER

# --- the error shape ------------------------------------------------------------------------------


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. "
                                           "`insufficient_points`: dispatch on this.")
    message = serializers.CharField(help_text="For people, in the request's language "
                                              "(Accept-Language: zh-hans or en); it may change.")
    details = serializers.DictField(help_text="Field errors (`invalid_input`: field → "
                                              "messages) or the parameters of the failure.")


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


# Failures any operation may answer, by what the operation takes. The business failures
# come from each view's `errors`.
GENERIC_ERRORS: dict[str, tuple[int, str]] = {
    "invalid_input": (400, "The body or query does not match this operation's schema (a "
                           "missing, unknown or ill-formed field); `details` names each field."),
    "malformed_request": (400, "The body is not a JSON document."),
    "bad_request": (400, "The HTTP request itself is refused before any view reads it (a "
                         "Host this server does not serve, too many query parameters)."),
    "invalid_cursor": (400, "The cursor was not made by this API: follow the `next` or "
                            "`previous` link of a page."),
    "not_authenticated": (401, "No API key was sent."),
    "authentication_failed": (401, "The API key is unknown or revoked."),
    "permission_denied": (403, "The API key lacks a scope this operation requires."),
    "not_found": (404, "An id in the path is not a positive 64-bit integer or names nothing."),
    "method_not_allowed": (405, "This path does not answer this method; `Allow` lists those "
                                "it does."),
    "not_acceptable": (406, "The `Accept` header excludes application/json."),
    "request_too_large": (413, "The body is larger than 2.5 MB."),
    "unsupported_media_type": (415, "The body is not sent as application/json."),
    "throttled": (429, "The API key's requests per minute are used up; see `Retry-After`."),
    "service_unavailable": (503, "The database is briefly unavailable or busy; nothing was "
                                 "written. Retry after `Retry-After` seconds."),
}
IDEMPOTENCY_ERRORS = (ApiErrorCode.IDEMPOTENCY_KEY_INVALID, ApiErrorCode.IDEMPOTENCY_KEY_REUSED,
                      ApiErrorCode.IDEMPOTENCY_IN_PROGRESS,
                      ApiErrorCode.IDEMPOTENCY_RESPONSE_EXPIRED)

HEADERS = {
    REQUEST_ID_HEADER: {
        "description": "The request's id: the client's `X-Request-ID` when it sent a UUID, "
                       "else a new one. Quote it when reporting a problem; the server's logs "
                       "carry it.",
        "required": True, "schema": {"type": "string", "format": "uuid"}},
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored answer to an earlier request with the "
                       "same `Idempotency-Key`; absent otherwise.",
        "required": False, "schema": {"type": "string", "enum": ["true"]}},
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "required": True, "schema": {"type": "integer", "minimum": 0}},
    "WWW-Authenticate": {
        "description": "`Bearer`: how to authenticate.", "required": True,
        "schema": {"type": "string"}},
    "Allow": {"description": "The methods this path answers.", "required": True,
              "schema": {"type": "string"}},
}


def _header(name: str, **changes) -> dict:
    return {**HEADERS[name], **changes}


def english(code: ErrorCode) -> str:
    with translation.override("en"):
        return str(code.message_template)


# --- input fields ---------------------------------------------------------------------------------

class TextExtension(OpenApiSerializerFieldExtension):
    target_class = Text

    def map_serializer_field(self, auto_schema, direction):
        schema = {"type": "string", "pattern": self.target.pattern}
        if not self.target.blank:
            schema["minLength"] = 1
        return schema


class MoneyExtension(OpenApiSerializerFieldExtension):
    target_class = Money

    def map_serializer_field(self, auto_schema, direction):
        return {"type": "string", "format": "decimal", "pattern": self.target.pattern}


class DateTimeExtension(OpenApiSerializerFieldExtension):
    target_class = DateTime

    def map_serializer_field(self, auto_schema, direction):
        schema = {"type": "string", "format": "date-time"}
        if direction == "request":
            schema["pattern"] = self.target.pattern
        return schema


class DateExtension(OpenApiSerializerFieldExtension):
    target_class = Date

    def map_serializer_field(self, auto_schema, direction):
        schema = {"type": "string", "format": "date"}
        if direction == "request":
            schema["pattern"] = self.target.pattern
        return schema


# --- operations -------------------------------------------------------------------------------------

class LoyaltyAutoSchema(AutoSchema):
    def get_description(self) -> str:
        method = getattr(self.view, self.method.lower(), None)
        own = (method.__doc__ if method is not None and method.__doc__ else None) \
            or self.view.__class__.__dict__.get("__doc__") or ""
        parts = [_clean(own)]
        scopes = self.required_scopes()
        parts.append("**Scopes:** " + (", ".join(f"`{s}`" for s in scopes) if scopes
                                       else "any valid key") + ".")
        mode = self.idempotency_mode()
        if mode:
            parts.append(
                f"**Idempotency-Key:** {mode}. A retry with the same key and body answers the "
                "first outcome (with `Idempotent-Replayed: true`); the same key with another "
                "body is refused (422 `idempotency_key_reused`); while the first request still "
                "runs, 409 `idempotency_in_progress` with `Retry-After`.")
        return "\n\n".join(parts)

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is not None:
            operation["x-required-scopes"] = list(self.required_scopes())
        return operation

    def required_scopes(self) -> tuple[str, ...]:
        return tuple(getattr(self.view, "required_scopes", ()))

    def idempotency_mode(self) -> str | None:
        if self.method != "POST":
            return None
        return getattr(self.view, "idempotency", None)

    def has_body(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() \
            is not None

    def has_query(self) -> bool:
        return any(p["in"] == "query" for p in self._get_parameters())

    # --- parameters ---

    def _resolve_path_parameters(self, variables):
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            schema = parameter["schema"]
            if schema.get("type") == "integer":
                schema.update(format="int64", minimum=1, maximum=MAX_ID)
            elif parameter["name"] == "partner_code":
                schema.update(pattern=SLUG, maxLength=40)
            else:  # tag and segment codes
                schema.update(pattern=SLUG, maxLength=64)
        return parameters

    def get_override_parameters(self):
        params = list(super().get_override_parameters())
        mode = self.idempotency_mode()
        if mode:
            params.append(OpenApiParameter(
                "Idempotency-Key", str, OpenApiParameter.HEADER, required=mode == "required",
                pattern=KEY_PATTERN,
                description="Your unique key for this operation (1–255 visible ASCII "
                            "characters, e.g. a UUID); a retry with the same key and body "
                            "answers the first outcome."))
        return params

    # --- bodies ---

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if schema is None:
            return None
        if isinstance(field, Integer) and field.nonzero:
            schema["not"] = {"enum": [0]}
        if isinstance(field, (serializers.ListSerializer, serializers.ListField)) \
                and direction == "request":
            if field.min_length or not field.allow_empty:
                schema["minItems"] = max(field.min_length or 0, 0 if field.allow_empty else 1)
            if field.max_length is not None:
                schema["maxItems"] = field.max_length
        return schema

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        own = serializer.__class__.__dict__.get("__doc__")
        if own:
            schema["description"] = _clean(own)
        else:
            schema.pop("description", None)
        if direction == "request" and isinstance(serializer, Input):
            schema["additionalProperties"] = False
        return schema

    # --- answers ---

    def error_catalogue(self) -> dict[int, list[tuple[str, str]]]:
        """status → [(code, meaning)] for every failure this operation can answer."""
        codes: dict[int, dict[str, str]] = defaultdict(dict)

        def add(code: str, status: int, meaning: str) -> None:
            codes[status].setdefault(code, meaning)

        body, query = self.has_body(), self.has_query()
        for code, (status, meaning) in GENERIC_ERRORS.items():
            if code == "invalid_input" and not (body or query):
                continue
            if code in ("malformed_request", "request_too_large", "unsupported_media_type") \
                    and not body:
                continue
            if code == "invalid_cursor" and not self._get_paginator():
                continue
            if code == "not_found" and "{" not in self.path:
                continue
            add(code, status, meaning)
        mode = self.idempotency_mode()
        if mode == "required":
            add(ApiErrorCode.IDEMPOTENCY_KEY_REQUIRED.value, 400,
                english(ApiErrorCode.IDEMPOTENCY_KEY_REQUIRED))
        if mode:
            for error in IDEMPOTENCY_ERRORS:
                add(error.value, error.status, english(error))
        for error in getattr(self.view, "errors", ()):
            add(error.value, error.status, english(error))
        return {status: sorted(found.items()) for status, found in codes.items()}

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        mode = self.idempotency_mode()
        for status, response in responses.items():
            headers = response.setdefault("headers", {})
            headers[REQUEST_ID_HEADER] = _header(REQUEST_ID_HEADER)
            if mode:
                headers["Idempotent-Replayed"] = _header("Idempotent-Replayed")
            if not response.get("description") or status == "204":
                response["description"] = HTTPStatus(int(status)).phrase
        for status, codes in sorted(self.error_catalogue().items()):
            response = self._get_response_for_code(ErrorSerializer, str(status),
                                                   direction=direction)
            response["description"] = "\n".join(
                ["One of these `error.code` values:", ""]
                + [f"- `{code}`: {meaning}" for code, meaning in codes])
            response["x-error-codes"] = [code for code, _meaning in codes]
            headers = response.setdefault("headers", {})
            headers[REQUEST_ID_HEADER] = _header(REQUEST_ID_HEADER)
            if status in (429, 503):
                headers["Retry-After"] = _header("Retry-After")
            elif status == 409 and mode:
                headers["Retry-After"] = _header(
                    "Retry-After", required=False,
                    description="With `idempotency_in_progress`: seconds to wait before "
                                "retrying.")
            elif status == 401:
                headers["WWW-Authenticate"] = _header("WWW-Authenticate")
            elif status == 405:
                headers["Allow"] = _header("Allow")
            responses[str(status)] = response
        return dict(sorted(responses.items()))


def _clean(doc: str) -> str:
    return inspect.cleandoc(doc).strip()


# --- the document ---------------------------------------------------------------------------

class EnglishSchemaGenerator(SchemaGenerator):
    """Generates the document in English whatever language is active (a request's, or the
    default zh-hans of `manage.py spectacular`): labels, help texts and choice names are
    translated strings, and clients name their classes after them."""

    def get_schema(self, request=None, public=False):
        with translation.override("en"):
            return _plain(super().get_schema(request=request, public=public))


def _plain(value):
    """Every lazy translation resolved now, while English is active."""
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Promise):
        return str(value)
    return value


# --- the served document ----------------------------------------------------------------

DOCS = Path(__file__).with_name("docs.md")


def describe(result, generator, request, public):
    """The document's description: how to call the API and what changed (docs.md)."""
    result["info"]["description"] = DOCS.read_text(encoding="utf-8")
    return result
