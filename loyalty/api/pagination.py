"""The one way every list of the API is paged: a cursor, newest (or catalog order) first.

`page_size` is 1–200 (50 when absent); anything else is refused, never silently replaced
by the default. A cursor is opaque: clients follow the `next` and `previous` links; one that
was not made here is refused with `invalid_cursor`.
"""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import Cursor, CursorPagination, NotFound

from ..errors import ApiError, ApiErrorCode
from .base import MAX_ID
from .fields import QueryInteger

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class PageSizeSerializer(serializers.Serializer):
    page_size = QueryInteger(min_value=1, max_value=MAX_PAGE_SIZE, required=False)


class Page(CursorPagination):
    """Ordered by the view's `ordering`, whose first field must be an integer column."""

    ordering = "-id"
    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    cursor_query_description = ("An opaque position in the list: take it from the `next` or "
                                "`previous` link of a page.")
    page_size_query_description = (f"Items per page, 1–{MAX_PAGE_SIZE} "
                                   f"(default {DEFAULT_PAGE_SIZE}).")

    def get_page_size(self, request):
        query = PageSizeSerializer(data={k: v for k, v in request.query_params.items()
                                         if k == self.page_size_query_param})
        if not query.is_valid():
            raise ValidationError(query.errors)
        return query.validated_data.get("page_size", self.page_size)

    def decode_cursor(self, request):
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise ApiError(ApiErrorCode.INVALID_CURSOR) from None
        if cursor is not None and cursor.position is not None:
            try:
                position = int(cursor.position)
            except ValueError:
                raise ApiError(ApiErrorCode.INVALID_CURSOR) from None
            if not -MAX_ID <= position <= MAX_ID:
                raise ApiError(ApiErrorCode.INVALID_CURSOR)
            cursor = Cursor(offset=cursor.offset, reverse=cursor.reverse, position=str(position))
        return cursor

    def get_paginated_response_schema(self, schema):
        body = super().get_paginated_response_schema(schema)
        body["required"] = ["next", "previous", "results"]
        for link in ("next", "previous"):
            body["properties"][link].pop("example", None)
            body["properties"][link]["description"] = f"The {link} page; null when there is none."
        return body

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=MAX_PAGE_SIZE,
                                           default=DEFAULT_PAGE_SIZE)
        return parameters


class CatalogPage(Page):
    """The rewards catalog, in the order the programme arranged it."""

    ordering = ("sort_order", "id")
