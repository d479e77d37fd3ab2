"""dev.py installs each set of requirements once: `run` only the runtime set, `test` also the
dev extra, each with its own stamp, so switching commands installs nothing again."""

from __future__ import annotations

import subprocess

import pytest

import dev


@pytest.fixture
def venv(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(dev, "VENV", tmp_path)
    monkeypatch.setattr(dev.subprocess, "run",
                        lambda args, **kw: calls.append(args[args.index("install") + 1:]))
    return calls


def test_the_runtime_set_leaves_out_the_test_tools():
    runtime, extra = dev.requirements(), dev.requirements("dev")
    assert any(r.startswith("Django==") for r in runtime)
    assert not any(r.startswith(("pytest", "playwright", "hypothesis")) for r in runtime)
    assert any(r.startswith("playwright==") for r in extra)


def test_each_set_is_installed_once_until_it_changes(venv):
    dev.install("runtime", ["a==1", "b==2"])
    dev.install("runtime", ["b==2", "a==1"])
    dev.install("dev", ["pytest==9"])
    dev.install("runtime", ["a==1", "b==2"])  # after `test`, `run` installs nothing
    assert len(venv) == 2 and venv[0][-2:] == ["a==1", "b==2"] and venv[1][-1] == "pytest==9"
    dev.install("runtime", ["a==1", "b==3"])
    assert len(venv) == 3


def test_a_failed_install_leaves_no_stamp(tmp_path, monkeypatch):
    monkeypatch.setattr(dev, "VENV", tmp_path)

    def fail(args, **kw):
        raise subprocess.CalledProcessError(1, args)

    monkeypatch.setattr(dev.subprocess, "run", fail)
    with pytest.raises(subprocess.CalledProcessError):
        dev.install("runtime", ["a==1"])
    assert not (tmp_path / ".installed-runtime").exists()
