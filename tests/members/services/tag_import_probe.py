"""One tag import, end to end, in a process of its own, so that its peak memory is its own.

`run_import(...)` writes the import page's form with a file of member numbers as a
multipart/form-data body on disk and starts this module as a child process:

    python -m tests.members.services.tag_import_probe BODY BOUNDARY SESSION_ID CSRF_SECRET

The child opens the import page once (loading the URL conf, the admin and its templates, as
any worker that has served a page has), notes its peak resident memory (VmHWM), then posts
the body through Django's WSGI handler as gunicorn would hand it over — read from a stream,
the file spooled to disk by Django's upload handlers — and runs the job in the same process
(Celery eager) once the request commits. It prints one line of JSON: the answer, the job,
and the peak memory before and after.

Used by tests/members/services/test_tag_import.py (200,000 numbers) and bench/tag_import.py (a
million); DATABASE_URL names the database, whose members the caller has made."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def member_no(n: int) -> str:
    return f"7{n:017d}"  # 18 digits: with CR LF, 20 bytes a line — 20 MB for a million


def write_body(path: Path, boundary: str, csrf: str, tag_id: int, rows: int) -> int:
    """The form as a browser posts it: a header line, then `rows` numbers, CR LF ended."""

    def field(name: str, value: str) -> bytes:
        return (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n").encode()

    with path.open("wb") as body:
        body.write(field("csrfmiddlewaretoken", csrf) + field("tag", str(tag_id))
                   + field("member_numbers", ""))
        body.write(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                   f'filename="numbers.csv"\r\nContent-Type: text/csv\r\n\r\n'
                   f"member_no\r\n".encode())
        for start in range(0, rows, 50_000):
            body.write("".join(member_no(n) + "\r\n"
                               for n in range(start, min(start + 50_000, rows))).encode())
        body.write(f"\r\n--{boundary}--\r\n".encode())
    return path.stat().st_size


def run_import(*, work: Path, database_url: str, session_id: str, tag_id: int,
               rows: int) -> dict:
    """Post `rows` numbers for the tag as the signed-in session, in a child process; its
    JSON answer with the upload's size and the seconds the child took."""
    csrf, boundary = secrets.token_hex(16), f"----import{secrets.token_hex(8)}"
    body = work / "body"
    size = write_body(body, boundary, csrf, tag_id, rows)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test",
           "ALLOWED_HOSTS": "127.0.0.1", "LOG_LEVEL": "WARNING", "DATABASE_URL": database_url}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "tests.members.services.tag_import_probe", str(body), boundary,
         session_id, csrf], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    body.unlink()
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {**result, "bytes": size, "seconds": time.monotonic() - started}


def peak_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def _child(body: str, boundary: str, session_id: str, csrf: str) -> None:
    import django

    django.setup()
    from django.core.handlers.wsgi import WSGIHandler

    from config.celery import app
    from members.models import TagImportJob

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    handler = WSGIHandler()
    answer: dict = {}

    def start_response(status, headers, exc_info=None):
        answer.update(status=status, headers=dict(headers))

    def request(method: str, stream, length: int, content_type: str = "") -> None:
        environ = {
            "REQUEST_METHOD": method, "PATH_INFO": "/admin/members/member/import-tag/",
            "SCRIPT_NAME": "", "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "127.0.0.1",
            "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http", "wsgi.input": stream,
            "wsgi.errors": sys.stderr, "CONTENT_LENGTH": str(length),
            "CONTENT_TYPE": content_type,
            "HTTP_COOKIE": f"sessionid={session_id}; csrftoken={csrf}",
        }
        response = handler(environ, start_response)
        b"".join(response)
        response.close()

    import io

    request("GET", io.BytesIO(), 0)  # a worker that has served a page
    assert answer["status"].startswith("200"), answer
    before = peak_kb()
    with open(body, "rb") as stream:
        request("POST", stream, os.path.getsize(body),
                f"multipart/form-data; boundary={boundary}")
    after = peak_kb()
    job = TagImportJob.objects.order_by("-pk").first()
    print(json.dumps({
        "status": answer["status"], "location": answer["headers"].get("Location", ""),
        "peak_before_kb": before, "peak_after_kb": after,
        "job": None if job is None else {
            "id": job.pk, "status": job.status, "rows_total": job.rows_total,
            "rows_skipped": job.rows_skipped, "rows_done": job.rows_done,
            "tagged": job.tagged, "found": job.found, "unknown": job.unknown},
    }))


if __name__ == "__main__":
    _child(*sys.argv[1:5])
