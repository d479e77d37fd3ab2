"""The API refuses control and format characters in the text it is sent (core.text through
loyalty.api.fields.Text), with the JSON error shape and the field named."""

from __future__ import annotations

import pytest

from members.models import Member

from .conftest import API, row_counts


@pytest.mark.parametrize("name", ["王\u202e芳", "王\r\n芳", "\u200f王芳", "王\t芳"])
def test_a_name_with_control_characters_is_refused(api, name):
    before = row_counts()
    response = api.post(f"{API}/members", {"mobile": "13800138000", "name": name},
                        format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert "name" in error["details"]
    assert row_counts() == before and not Member.objects.exists()


def test_the_schema_publishes_the_refused_characters(api):
    from loyalty.api.fields import NON_BLANK_TEXT

    from .conftest import published_schema

    body = published_schema()["components"]["schemas"]
    patterns = {prop.get("pattern") for schema in body.values()
                for prop in schema.get("properties", {}).values() if isinstance(prop, dict)}
    assert NON_BLANK_TEXT in patterns and "\\u202e" in NON_BLANK_TEXT


def test_a_plain_name_is_still_accepted(api):
    response = api.post(f"{API}/members", {"mobile": "13800138000", "name": "王芳 👨\u200d👩\u200d👧"},
                        format="json")
    assert response.status_code == 201, response.content
