"""One exception hierarchy for the application.

Every business failure is a `LoyaltyError` carrying a stable `code` from an app's error-code
enum. The enum member knows its HTTP status and its translated message, so the API, the
admin and the counter page all show the same words for the same failure.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext


class ErrorCode(str, Enum):
    """Base for per-app error-code enums.

    Members are declared as ``NAME = ("stable_code", http_status, _("Message {param}"))``.
    """

    def __new__(cls, code: str, status: int, message: Promise):
        member = str.__new__(cls, code)
        member._value_ = code
        member.status = status
        member.message_template = message
        return member

    def __str__(self) -> str:
        return self.value


class LoyaltyError(Exception):
    """A business failure with a stable code, a translated message and its parameters."""

    def __init__(self, code: ErrorCode, /, *, message: str | None = None, **params: Any):
        self.code = code
        self.params = params
        self._message = message
        super().__init__(f"{code.value}: {self.message}")

    @property
    def status(self) -> int:
        return self.code.status

    @property
    def message(self) -> str:
        if self._message is not None:
            return self._message
        template = gettext(str(self.code.message_template))
        try:
            return template.format(**self.params)
        except (KeyError, IndexError, ValueError):
            return template

    def as_dict(self) -> dict[str, Any]:
        """The one JSON error shape: {"error": {"code", "message", "details"}}."""
        return error_body(self.code.value, self.message, _jsonable(self.params))


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
