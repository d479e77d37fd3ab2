#!/usr/bin/env python3
"""The two commands of this project, for a machine that has only Python 3.11+:

    python3 dev.py run     install, migrate, load demo data, start web + Celery worker + beat
    python3 dev.py test    run the whole test suite on PostgreSQL

(Developers: `python3 dev.py messages` extracts new strings into the catalogues.)

Both create ./.venv and install the pinned dependencies on first use (and again whenever
pyproject.toml changes). With DATABASE_URL unset they start an embedded PostgreSQL under
./var/ and stop it when they finish; with DATABASE_URL set they use that server.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
# The settings module the caller chose, if any. Importing `config` (to start the embedded
# database) loads the Celery app, which sets DJANGO_SETTINGS_MODULE for this process; the test
# run must not inherit that, or pytest would load the production settings instead of
# pyproject's config.settings_test.
CALLER_SETTINGS = os.environ.get("DJANGO_SETTINGS_MODULE")
VENV = ROOT / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
STAMP = VENV / ".installed-pyproject"


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


# --- bootstrap: a virtualenv with the pinned dependencies ------------------------------------
def requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project["dependencies"] + project["optional-dependencies"]["dev"]


def bootstrap() -> None:
    """Make sure .venv exists and is current, then re-run this script inside it."""
    if not VENV_PYTHON.exists():
        say("creating the virtualenv in .venv")
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not STAMP.exists() or STAMP.read_text() != digest:
        say("installing dependencies (first run or pyproject.toml changed)")
        subprocess.run([str(VENV_PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip"],
                       check=True)
        subprocess.run([str(VENV_PYTHON), "-m", "pip", "install", "--quiet", *requirements()],
                       check=True)
        STAMP.write_text(digest)
    if Path(sys.prefix).resolve() != VENV.resolve():
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), str(ROOT / "dev.py"), *sys.argv[1:]])


def update_messages() -> int:
    """Developers: extract new strings into both catalogues (needs gettext's xgettext).

    English source strings are their own English translation, so the English catalogue is
    filled in here; the zh-hans one needs a translator (the test suite lists what is missing).
    """
    import polib

    os.environ.setdefault("DEBUG", "1")
    database()
    manage("makemessages", "-l", "zh_Hans", "-l", "en", "--no-obsolete", "--ignore=.venv",
           "--ignore=var", "--ignore=tests", "--ignore=bench")
    english = ROOT / "locale" / "en" / "LC_MESSAGES" / "django.po"
    po = polib.pofile(str(english))
    for entry in po:
        if entry.msgid_plural:
            entry.msgstr_plural = {0: entry.msgid, 1: entry.msgid_plural}
        else:
            entry.msgstr = entry.msgid
        if "fuzzy" in entry.flags:
            entry.flags.remove("fuzzy")
    po.metadata["Language"] = "en"
    po.metadata["Plural-Forms"] = "nplurals=2; plural=(n != 1);"
    po.save()
    zh = polib.pofile(str(ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    missing = zh.untranslated_entries() + zh.fuzzy_entries()
    say(f"zh_Hans: {len(missing)} messages to translate")
    for entry in missing:
        print(f"  {entry.msgid!r}")
    compile_messages()
    return 0


def compile_messages() -> None:
    """Compile the shipped .po catalogues (polib: no gettext tools needed)."""
    import polib

    for po_path in (ROOT / "locale").glob("*/LC_MESSAGES/*.po"):
        mo_path = po_path.with_suffix(".mo")
        if not mo_path.exists() or mo_path.stat().st_mtime < po_path.stat().st_mtime:
            polib.pofile(str(po_path)).save_as_mofile(str(mo_path))


def database() -> bool:
    """Point DATABASE_URL at a server; return True when we use the embedded one."""
    if os.environ.get("DATABASE_URL"):
        return False
    # only these two commands ask for the embedded server; anything else with DEBUG off
    # and no DATABASE_URL refuses to start (config.settings)
    os.environ["LOYALTY_EMBEDDED_DB"] = "1"
    sys.path.insert(0, str(ROOT))
    from config import embedded_db

    say("starting the embedded PostgreSQL under ./var/pgdata")
    os.environ["DATABASE_URL"] = embedded_db.ensure_running(release_at_exit=False)
    return True


def stop_database(embedded: bool) -> None:
    if embedded:
        from config import embedded_db

        say("stopping the embedded PostgreSQL (unless another command still uses it)")
        embedded_db.release()


def manage(*args: str) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], check=True, cwd=ROOT)


# --- test ----------------------------------------------------------------------------------------
def test(args: list[str]) -> int:
    compile_messages()
    started = database()
    env = dict(os.environ)
    if CALLER_SETTINGS is None:
        env.pop("DJANGO_SETTINGS_MODULE", None)
    else:
        env["DJANGO_SETTINGS_MODULE"] = CALLER_SETTINGS
    try:
        code = subprocess.run([sys.executable, "-m", "pytest", *args], cwd=ROOT, env=env).returncode
    finally:
        stop_database(started)
    return code


# --- run ------------------------------------------------------------------------------------------
class Processes:
    """The web server, the Celery worker and Celery beat, each in its own process group so
    that stopping them takes their children too."""

    def __init__(self) -> None:
        self.running: dict[str, subprocess.Popen] = {}

    def start(self, name: str, args: list[str]) -> None:
        self.running[name] = subprocess.Popen(args, cwd=ROOT, start_new_session=True)

    def first_exited(self) -> str | None:
        return next((n for n, p in self.running.items() if p.poll() is not None), None)

    def stop(self) -> None:
        # SIGTERM to the main process: Celery's warm shutdown then stops its own pool.
        for proc in self.running.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in self.running.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            try:  # whatever the group left behind
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def run() -> int:
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    compile_messages()
    started = database()
    processes = Processes()
    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        say("applying migrations")
        manage("migrate", "--noinput", "-v", "0")
        say("loading demo data")
        manage("demo_data")
        python = sys.executable
        processes.start("web", [python, "manage.py", "runserver", "--noreload", f"{host}:{port}"])
        processes.start("worker", [python, "-m", "celery", "-A", "config", "worker",
                                   "--loglevel", "INFO", "--concurrency", "2"])
        processes.start("beat", [python, "-m", "celery", "-A", "config", "beat",
                                 "--loglevel", "INFO"])
        base = f"http://{host}:{port}"
        print(f"""
  Operator console   {base}/admin/
  REST API           {base}/api/v1/   (docs {base}/api/docs/)
  Health             {base}/healthz
  Press Ctrl-C to stop everything{' (the embedded database included)' if started else ''}.
""", flush=True)
        while not stopping:
            if (name := processes.first_exited()) is not None:
                say(f"{name} exited; stopping")
                return 1
            time.sleep(0.5)
        return 0
    finally:
        say("stopping web, worker and beat")
        processes.stop()
        stop_database(started)


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in {"run", "test", "messages"}:
        print(__doc__)
        return 2
    bootstrap()
    sys.path.insert(0, str(ROOT))
    command, rest = sys.argv[1], sys.argv[2:]
    if command == "messages":
        return update_messages()
    return run() if command == "run" else test(rest)


if __name__ == "__main__":
    sys.exit(main())
