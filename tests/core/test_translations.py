"""Both locales ship complete: every message in the source has a zh-hans translation, and
the English catalogue is complete too. A string added without its translation fails here."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

from tests.conftest import need

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ("zh_Hans", "en")
PLACEHOLDER = re.compile(r"\{[a-z_]+\}|%\([a-z_]+\)[sd]|\{\{ ?[a-z_]+ ?\}\}")


def catalogue(locale: str) -> polib.POFile:
    return polib.pofile(str(ROOT / "locale" / locale / "LC_MESSAGES" / "django.po"))


@pytest.mark.parametrize("locale", LOCALES)
def test_catalogue_is_fully_translated(locale):
    po = catalogue(locale)
    assert len(po) > 50
    assert po.untranslated_entries() == []
    assert po.fuzzy_entries() == []
    for entry in po:
        texts = entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]
        for text in texts:
            assert set(PLACEHOLDER.findall(entry.msgid)) == set(PLACEHOLDER.findall(text)), entry.msgid


def test_zh_hans_translations_are_chinese():
    po = catalogue("zh_Hans")
    chinese = sum(1 for e in po if re.search(r"[\u4e00-\u9fff]", e.msgstr or e.msgstr_plural.get(0, "")))
    assert chinese >= 0.9 * len(po)


def test_every_source_string_is_in_the_catalogues(tmp_path):
    """Extract the messages afresh from a copy of the source and compare."""
    need(shutil.which("xgettext") is not None, "gettext's xgettext is not installed")
    copy = tmp_path / "src"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(
        ".venv", "var", ".git", "__pycache__", "*.mo", ".pytest_cache", ".hypothesis"))
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--ignore=tests",
         "--ignore=bench", "--ignore=.venv", "--ignore=var"],
        cwd=copy, capture_output=True, text=True, timeout=300,
        env={**os.environ, "DEBUG": "1"},
    )
    assert result.returncode == 0, result.stderr
    fresh = polib.pofile(str(copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    for locale in LOCALES:
        shipped = {(e.msgctxt, e.msgid) for e in catalogue(locale) if not e.obsolete}
        missing = [e.msgid for e in fresh if (e.msgctxt, e.msgid) not in shipped]
        assert missing == [], f"{locale} lacks: {missing[:10]}"


def test_admin_speaks_chinese_by_default_and_english_on_request(admin_client):
    response = admin_client.get("/admin/")
    assert "会员" in response.content.decode()
    response = admin_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Members" in response.content.decode()
