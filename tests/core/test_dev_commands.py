"""The README's test command: `python3 dev.py test` must hand pytest the test settings even
after starting the embedded database has loaded the Celery app (which sets
DJANGO_SETTINGS_MODULE to the production settings in the process that imports it)."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def dev(monkeypatch):
    spec = importlib.util.spec_from_file_location("dev_under_test", ROOT / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    calls = []

    def fake_run(args, **kwargs):
        calls.append((args, kwargs))
        return subprocess.CompletedProcess(args, 0)

    monkeypatch.setattr(module.subprocess, "run", fake_run)
    monkeypatch.setattr(module, "compile_messages", lambda: None)
    monkeypatch.setattr(module, "stop_database", lambda started: None)
    module.calls = calls
    return module


def test_pytest_does_not_inherit_the_settings_the_celery_app_set(dev, monkeypatch):
    monkeypatch.setattr(dev, "CALLER_SETTINGS", None)

    def start_embedded():
        # what `from config import embedded_db` does to this process
        monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "config.settings")
        return True

    monkeypatch.setattr(dev, "database", start_embedded)
    assert dev.test(["-k", "x"]) == 0
    (args, kwargs), = dev.calls
    assert args[-3:] == ["pytest", "-k", "x"]
    assert "DJANGO_SETTINGS_MODULE" not in kwargs["env"]


def test_settings_chosen_by_the_caller_are_kept(dev, monkeypatch):
    monkeypatch.setattr(dev, "CALLER_SETTINGS", "config.settings_other")
    monkeypatch.setattr(dev, "database", lambda: False)
    dev.test([])
    (_, kwargs), = dev.calls
    assert kwargs["env"]["DJANGO_SETTINGS_MODULE"] == "config.settings_other"
