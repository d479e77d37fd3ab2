"""The embedded PostgreSQL is private to this checkout: its socket directory is readable by
the server's user alone and the superuser has a password kept in var/ (mode 0600)."""

from __future__ import annotations

import os
import stat
from urllib.parse import unquote, urlsplit

import pytest

from config import embedded_db


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    var = tmp_path / "var"
    monkeypatch.setattr(embedded_db, "VAR_DIR", var)
    monkeypatch.setattr(embedded_db, "PGDATA", var / "pgdata")
    monkeypatch.setattr(embedded_db, "PASSWORD_FILE", var / ".pg-password")
    monkeypatch.setattr(embedded_db, "_server_uid", lambda: (os.geteuid(), os.getegid()))
    yield var
    sock = embedded_db.socket_dir()
    if sock.is_dir() and not sock.is_symlink():
        sock.rmdir()
    elif sock.is_symlink():
        sock.unlink()


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_the_password_is_made_once_and_kept_private(checkout):
    first = embedded_db.password()
    assert len(first) >= 32 and embedded_db.password() == first
    assert mode(checkout / ".pg-password") == 0o600
    url = urlsplit(embedded_db.database_url())
    assert url.username == "postgres" and unquote(url.password) == first
    assert "@%2Ftmp%2Floyalty-pg-" in embedded_db.database_url()  # the socket, no TCP


def test_the_socket_directory_is_private_and_short(checkout):
    sock = embedded_db.socket_dir()
    sock.mkdir(mode=0o777)
    sock.chmod(0o777)  # as an older checkout left it
    assert embedded_db._private_socket_dir() == sock
    assert mode(sock) == 0o700
    assert len(str(sock)) < 40  # a socket path may not exceed ~100 bytes


def test_a_planted_link_is_refused(checkout, tmp_path):
    sock = embedded_db.socket_dir()
    target = tmp_path / "elsewhere"
    target.mkdir()
    sock.symlink_to(target)
    with pytest.raises(RuntimeError, match="not a directory this project made"):
        embedded_db._private_socket_dir()


def _hba(checkout, method: str) -> None:
    (checkout / "pgdata").mkdir(parents=True)
    (checkout / "pgdata" / "pg_hba.conf").write_text(
        "# CAUTION: Configuring the system for local \"trust\" authentication\n"
        "# allows any local user to connect as any PostgreSQL user, including\n"
        "# the database superuser.  If you do not trust all your local users,\n"
        "# use another authentication method.\n"
        f"local   all             all                                     {method}\n")


def test_a_server_that_asks_for_the_password_is_left_alone(checkout, monkeypatch):
    """initdb's comments mention trust: only rule lines count, or every start after the
    switch would try to connect without the password and fail."""
    import psycopg

    def refuse(*args, **kwargs):
        raise AssertionError("connected without the password")

    monkeypatch.setattr(psycopg, "connect", refuse)
    _hba(checkout, "scram-sha-256")
    embedded_db._require_password()  # nothing to switch


def test_a_trusting_server_is_switched_to_the_password(checkout, monkeypatch):
    import psycopg

    statements = []

    class Conn:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def execute(self, statement):
            statements.append(statement)

    monkeypatch.setattr(psycopg, "connect", lambda *a, **k: Conn())
    monkeypatch.setattr(embedded_db.subprocess, "run", lambda *a, **k: None)
    _hba(checkout, "trust")
    embedded_db._require_password()
    assert len(statements) == 1
    rules = (checkout / "pgdata" / "pg_hba.conf").read_text().splitlines()[-1]
    assert rules.endswith("scram-sha-256") and "trust" not in rules
