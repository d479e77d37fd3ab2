"""The README's test command: `python3 dev.py test` must hand pytest the test settings even
after starting the embedded database has loaded the Celery app (which sets
DJANGO_SETTINGS_MODULE to the production settings in the process that imports it)."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
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


# --- `dev.py run`: a dead worker or beat is restarted, the web server's death ends the run ---
SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


@pytest.fixture
def run_module():
    spec = importlib.util.spec_from_file_location("dev_run_under_test", ROOT / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def processes(run_module):
    processes = run_module.Processes()
    yield processes
    processes.stop()


def _supervise_until(processes, condition, seconds: float):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ended = processes.supervise()
        if ended is not None:
            return ended
        if condition():
            return None
        time.sleep(0.05)
    raise AssertionError("the condition never held")


def test_the_back_off_doubles_up_to_its_cap(run_module):
    delays = [run_module.backoff(n) for n in range(8)]
    assert delays == [1, 2, 4, 8, 16, 30, 30, 30]


def test_a_killed_worker_is_restarted_with_a_growing_back_off(processes, capsys):
    processes.start("web", SLEEPER)
    processes.start("worker", SLEEPER)
    web = processes.running["web"]
    pids, waits = [processes.running["worker"].pid], []
    for _ in range(2):
        os.kill(pids[-1], signal.SIGKILL)
        died = time.monotonic()
        assert _supervise_until(processes, lambda: processes.running["worker"].pid != pids[-1]
                                and processes.running["worker"].poll() is None, 10) is None
        waits.append(time.monotonic() - died)
        pids.append(processes.running["worker"].pid)
    assert 1 <= waits[0] < 1.8 and 2 <= waits[1] < 2.8, waits  # 1 s, then 2 s
    assert web.poll() is None and processes.running["web"] is web  # the web server ran on
    log = capsys.readouterr().out
    assert log.count("worker exited with code -9; restarting it in") == 2
    assert "restarting it in 1 s" in log and "restarting it in 2 s" in log
    assert f"worker restarted (pid {pids[-1]})" in log


def test_a_steady_run_starts_the_back_off_afresh(processes, capsys):
    processes.start("beat", SLEEPER)
    processes.failures["beat"] = 4  # it had died quickly four times in a row
    processes.started_at["beat"] -= processes.STEADY_SECONDS  # then ran for a minute
    os.kill(processes.running["beat"].pid, signal.SIGKILL)
    processes.running["beat"].wait()
    assert processes.supervise() is None
    assert "beat exited with code -9; restarting it in 1 s" in capsys.readouterr().out


def test_the_web_server_dying_ends_the_run(processes):
    processes.start("web", [sys.executable, "-c", "pass"])
    processes.start("worker", SLEEPER)
    assert _supervise_until(processes, lambda: False, 10) == "web"
    assert processes.running["worker"].poll() is None  # stopped by the run's `stop`
