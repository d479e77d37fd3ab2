#!/usr/bin/env python3
"""The two commands of this project, for a machine that has only Python 3.11+:

    python3 dev.py run     install, migrate, load demo data, start web + Celery worker + beat
    python3 dev.py test    run the whole test suite on PostgreSQL

(Developers: `python3 dev.py messages` extracts new strings into the catalogues.)

Both create ./.venv and install the pinned dependencies on first use (and again whenever
they change in pyproject.toml): `run` only what the application needs, `test` also the test
tools and Playwright (the `dev` extra). With DATABASE_URL unset they start an embedded
PostgreSQL under ./var/ and stop it when they finish; with DATABASE_URL set they use that
server.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
import tomllib
import urllib.request
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


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def elapsed() -> float:
    """Seconds since the command started (before the re-run inside .venv, too)."""
    return time.time() - float(os.environ.get("LOYALTY_DEV_STARTED", time.time()))


# --- bootstrap: a virtualenv with the pinned dependencies ------------------------------------
def requirements(group: str | None = None) -> list[str]:
    """The pinned runtime dependencies, or those of one optional group ("dev")."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project["optional-dependencies"][group] if group else project["dependencies"]


def install(name: str, wanted: list[str]) -> None:
    """Install one set of requirements unless its stamp says exactly these are installed.
    Each set has its own stamp, so `run` after `test` (or the reverse) installs nothing."""
    stamp = VENV / f".installed-{name}"
    digest = hashlib.sha256("\n".join(sorted(wanted)).encode()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    say(f"installing the {name} dependencies (first use, or pyproject.toml changed them)")
    subprocess.run([str(VENV_PYTHON), "-m", "pip", "install", "--quiet",
                    "--disable-pip-version-check", *wanted], check=True)
    stamp.write_text(digest)


def bootstrap(command: str) -> None:
    """Make sure .venv exists and holds what `command` needs, then re-run this script in it."""
    if not VENV_PYTHON.exists():
        say("creating the virtualenv in .venv")
        venv.EnvBuilder(with_pip=True).create(VENV)
    install("runtime", requirements())
    if command == "test":
        install("dev", requirements("dev"))
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
class Output(threading.Thread):
    """Passes a server's output through, line by line. While `held` it keeps the lines, so
    the demo's progress reads in one piece; for the web server it notes when the first page
    (not a health check or a static file: those are not logged) was served and when it
    last wrote."""

    held = threading.Event()
    lock = threading.Lock()

    def __init__(self, proc: subprocess.Popen):
        super().__init__(daemon=True)
        self.proc = proc
        self.kept: list[str] = []
        self.page_served = False
        self.last_output = time.monotonic()

    def run(self) -> None:
        for line in self.proc.stdout:
            with self.lock:
                if self.held.is_set():
                    self.kept.append(line)
                    continue
                self.flush()
                sys.stdout.write(line)
                sys.stdout.flush()
            self.last_output = time.monotonic()
            if PAGE_REQUEST.search(line):
                self.page_served = True

    def flush(self) -> None:
        if self.kept:
            sys.stdout.writelines(self.kept)
            sys.stdout.flush()
            self.kept.clear()


def backoff(failures: int, first: float = 1.0, cap: float = 30.0) -> float:
    """Seconds to wait before the next restart after `failures` quick deaths in a row:
    1, 2, 4, 8 … up to `cap`."""
    return min(first * 2 ** failures, cap)


class Processes:
    """The web server, the Celery worker and Celery beat, each in its own process group so
    that stopping them takes their children too; their output goes through `Output`.

    A worker or beat that dies is started again after a back-off (`supervise`), doubling
    while it keeps dying within a minute of its start; the web server's death ends the run,
    as the URLs printed would no longer answer."""

    RESTARTED = ("worker", "beat")
    FIRST_DELAY, MAX_DELAY = 1.0, 30.0
    STEADY_SECONDS = 60.0  # a process that ran this long starts its back-off afresh

    def __init__(self) -> None:
        self.running: dict[str, subprocess.Popen] = {}
        self.output: dict[str, Output] = {}
        self.commands: dict[str, list[str]] = {}
        self.started_at: dict[str, float] = {}
        self.failures: dict[str, int] = {}
        self.restart_at: dict[str, float] = {}

    def start(self, name: str, args: list[str]) -> None:
        self.commands[name] = args
        self.started_at[name] = time.monotonic()
        proc = subprocess.Popen(args, cwd=ROOT, start_new_session=True, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, encoding="utf-8",
                                errors="replace", env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.running[name] = proc
        self.output[name] = Output(proc)
        self.output[name].start()

    def release_output(self) -> None:
        with Output.lock:
            Output.held.clear()
            for output in self.output.values():
                output.flush()

    def supervise(self) -> str | None:
        """Restart a dead worker or beat once its back-off has passed, saying so; return the
        name of a process whose death ends the run (the web server), else None."""
        now = time.monotonic()
        for name, proc in list(self.running.items()):
            if name in self.restart_at:
                if now >= self.restart_at[name]:
                    del self.restart_at[name]
                    self.start(name, self.commands[name])
                    say(f"{name} restarted (pid {self.running[name].pid})")
                continue
            code = proc.poll()
            if code is None:
                continue
            if name not in self.RESTARTED:
                return name
            _kill_group(proc)  # a worker's pool children must not outlive it
            if now - self.started_at[name] >= self.STEADY_SECONDS:
                self.failures[name] = 0
            delay = backoff(self.failures.get(name, 0), self.FIRST_DELAY, self.MAX_DELAY)
            self.failures[name] = self.failures.get(name, 0) + 1
            self.restart_at[name] = now + delay
            say(f"{name} exited with code {code}; restarting it in {delay:g} s "
                "(the web server and the rest keep running)")
        return None

    def stop(self) -> None:
        # SIGTERM to the main process: Celery's warm shutdown then stops its own pool.
        self.release_output()
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
            _kill_group(proc)  # whatever the group left behind


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


BANNER_RULE = "─" * 20
MIGRATED = "Migrations applied."  # what `demo_data --migrate` says once the schema is current
PAGE_REQUEST = re.compile(r'"(GET|POST|HEAD) /\S* HTTP/')


def start_servers(processes: Processes, host: str, port: str) -> None:
    python = sys.executable
    processes.start("web", [python, "manage.py", "runserver", "--noreload", f"{host}:{port}"])
    # Celery at WARNING: a task's start and finish every minute would bury the banner.
    processes.start("worker", [python, "-m", "celery", "-A", "config", "--quiet", "worker",
                               "--loglevel", "WARNING", "--concurrency", "2"])
    processes.start("beat", [python, "-m", "celery", "-A", "config", "--quiet", "beat",
                             "--loglevel", "WARNING"])


def migrate_and_load_demo(base: str, on_migrated) -> str:
    """One process migrates and loads the demo (one Django start-up, not two); the servers
    start as soon as the schema is current, while the demo loads. Its progress lines show
    as they come; returns its closing banner (logins, URLs, API key), which is printed once
    the server answers."""
    say(f"applying migrations ({elapsed():.0f} s)")
    proc = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "demo_data", "--migrate",
                             "--base-url", base], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True, encoding="utf-8", errors="replace",
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    banner: list[str] = []
    for line in proc.stdout:
        if line.strip() == MIGRATED:
            on_migrated()
            say(f"web server, Celery worker and beat starting; demo data ({elapsed():.0f} s)")
        elif banner or line.startswith(BANNER_RULE):
            banner.append(line)
        else:
            print(f"    {line}", end="", flush=True)
    if proc.wait():
        raise subprocess.CalledProcessError(proc.returncode, proc.args)
    return "".join(banner).rstrip("\n")


def answers(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
    try:
        with opener.open(url, timeout=2) as response:
            return response.status == 200
    except (OSError, ValueError):
        return False


def run() -> int:
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8000")
    base = f"http://{host}:{port}"
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
        Output.held.set()
        try:
            banner = migrate_and_load_demo(
                base, on_migrated=lambda: start_servers(processes, host, port))
        except subprocess.CalledProcessError:
            if stopping:  # Ctrl-C reached the command too
                return 0
            raise
        if not processes.running and not stopping:  # nothing said the schema was current
            start_servers(processes, host, port)
        processes.release_output()
        ready = False
        banner_again = False
        stop_note = " (the embedded database included)" if started else ""
        web = processes.output.get("web")
        while not stopping:
            if (name := processes.supervise()) is not None:
                say(f"{name} exited; stopping")
                return 1
            if not ready and answers(f"{base}/healthz"):
                ready = True
                print(f"\n{banner}\n  Ready after {elapsed():.0f} s. Ctrl-C stops everything"
                      f"{stop_note}.\n", flush=True)
            elif (ready and not banner_again and web is not None and web.page_served
                  and time.monotonic() - web.last_output > 1.5):
                # the first page's log lines have scrolled the banner away: once more
                banner_again = True
                print(f"\n{banner}\n", flush=True)
            time.sleep(0.25)
        return 0
    finally:
        say("stopping web, worker and beat")
        processes.stop()
        stop_database(started)


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in {"run", "test", "messages"}:
        print(__doc__)
        return 2
    os.environ.setdefault("LOYALTY_DEV_STARTED", str(time.time()))
    bootstrap(sys.argv[1])
    sys.path.insert(0, str(ROOT))
    command, rest = sys.argv[1], sys.argv[2:]
    if command == "messages":
        return update_messages()
    return run() if command == "run" else test(rest)


if __name__ == "__main__":
    sys.exit(main())
