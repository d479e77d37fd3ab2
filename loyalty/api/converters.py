from django.urls import register_converter


class CodeConverter:
    """A tag or segment code in a path: letters (any script), digits, '-' and '_' — never a
    NUL or a slash."""

    regex = r"[-\w]{1,64}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(CodeConverter, "code")
