"""Tagging members by number from an upload, as a background job.

A worker that read a 20 MB upload of a million numbers whole went to 728 MB and was killed.
Now the request reads the upload a block at a time (Django has already spooled it to a
temporary file), keeps only the member numbers and COPYs them into staging rows as it goes:
at most 1,000,000 numbers and 25 MB, or nothing is staged. The job — a Celery task, queued
when the request commits — applies the staging rows 50,000 at a time with one set-based
statement each (members.services.tags.member_tags_add), and commits each chunk with the job's
cursor and counts: the operator's page shows the progress, and a job delivered again carries
on from its cursor, tagging nobody twice. Memory stays flat whatever the size of the upload.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.db import connection, transaction
from django.db.models.expressions import RawSQL

from core.clock import resolve_now
from core.errors import LoyaltyError

from ..errors import MemberError, MemberErrorCode
from ..models import Member, TagChange, TagImportJob
from .tags import member_tags_add, tag_writable

MAX_ROWS = 1_000_000
MAX_MEGABYTES = 25
MAX_BYTES = MAX_MEGABYTES * 1024 * 1024
APPLY_CHUNK = 50_000  # staging rows per transaction of the job
COPY_BATCH = 20_000  # numbers per write to the COPY stream
UNKNOWN_SAMPLE = 200

_SEPARATORS = re.compile(r"[\s,，;；]+")
_MEMBER_NO = re.compile(r"[0-9]{1,20}")
_LONGEST = 64  # a piece longer than this is no member number: keep no more of it


def _too_large() -> MemberError:
    return MemberError(MemberErrorCode.IMPORT_TOO_LARGE, rows=MAX_ROWS, megabytes=MAX_MEGABYTES)


def _pieces(sources: Iterable[Iterable[bytes]]) -> Iterator[str]:
    """The entries of each source (pasted text, an uploaded file), split on blanks, commas
    and semicolons, decoded a block at a time; at most MAX_BYTES read in all."""
    read = 0
    for blocks in sources:
        decoder = codecs.getincrementaldecoder("utf-8-sig")()
        carry = ""
        for block in blocks:
            read += len(block)
            if read > MAX_BYTES:
                raise _too_large()
            try:
                text = carry + decoder.decode(block)
            except UnicodeDecodeError:
                raise MemberError(MemberErrorCode.IMPORT_NOT_TEXT) from None
            pieces = _SEPARATORS.split(text)
            carry = pieces.pop()  # may continue in the next block
            if len(carry) > _LONGEST:
                carry = carry[:_LONGEST]
            yield from pieces
        try:
            carry += decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise MemberError(MemberErrorCode.IMPORT_NOT_TEXT) from None
        yield from _SEPARATORS.split(carry)


def tag_import_stage(*, tag_id: int, sources: Iterable[Iterable[bytes]],
                     requested_by_id: int | None = None,
                     now: datetime | None = None) -> TagImportJob:
    """Stage the member numbers of an upload for a manual tag and queue the job that applies
    them. Entries that are not numbers (a header line, a name) are counted and skipped;
    duplicates and unknown numbers are staged and sorted out by the job. Nothing is staged
    when the upload holds no number, is not UTF-8, or passes 1,000,000 numbers or 25 MB."""
    now = resolve_now(now)
    tag = tag_writable(tag_id, TagChange.Cause.IMPORT)
    with transaction.atomic():
        job = TagImportJob.objects.create(tag=tag, requested_by_id=requested_by_id,
                                          created_at=now)
        rows = skipped = 0
        with connection.cursor() as cursor:
            with cursor.cursor.copy("COPY members_tagimportrow (job_id, member_no) "
                                    "FROM STDIN") as copy:
                prefix = f"{job.pk}\t"
                batch: list[str] = []
                for piece in _pieces(sources):
                    if not piece:
                        continue
                    if not _MEMBER_NO.fullmatch(piece):
                        skipped += 1
                        continue
                    rows += 1
                    if rows > MAX_ROWS:
                        raise _too_large()
                    batch.append(prefix + piece + "\n")
                    if len(batch) >= COPY_BATCH:
                        copy.write("".join(batch))
                        batch.clear()
                if batch:
                    copy.write("".join(batch))
        if not rows:
            raise MemberError(MemberErrorCode.IMPORT_EMPTY)
        job.rows_total, job.rows_skipped = rows, skipped
        job.save(update_fields=["rows_total", "rows_skipped"])
        transaction.on_commit(lambda: _queue(job.pk))
    return job


def _queue(job_id: int) -> None:
    from ..tasks import run_tag_import  # the task module imports this one

    run_tag_import.delay(job_id)


def tag_import_run(*, job_id: int, now: datetime | None = None) -> TagImportJob:
    """Apply a staged import: a chunk of staging rows per transaction, each committing its
    tags with the job's cursor and counts (the row is locked meanwhile, so two deliveries
    of the job take turns and neither applies a chunk the other did); then count the
    members found and the numbers that are not members, keep up to 200 of those, and drop
    the staging rows."""
    now = resolve_now(now)
    if not TagImportJob.objects.filter(pk=job_id).exists():
        raise MemberError(MemberErrorCode.IMPORT_NOT_FOUND, job=job_id)
    TagImportJob.objects.filter(pk=job_id, status=TagImportJob.Status.QUEUED).update(
        status=TagImportJob.Status.RUNNING, started_at=now)
    try:
        while _apply_chunk(job_id, now):
            pass
    except LoyaltyError as exc:  # the tag stopped being a manual one meanwhile
        return _finish(job_id, now, error=exc.message)
    return _finish(job_id, now)


def _apply_chunk(job_id: int, now: datetime) -> bool:
    with transaction.atomic():
        job = TagImportJob.objects.select_for_update().get(pk=job_id)
        if job.finished:
            return False
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*), max(id) FROM (SELECT id FROM members_tagimportrow "
                "WHERE job_id = %s AND id > %s ORDER BY id LIMIT %s) chunk",
                [job.pk, job.cursor, APPLY_CHUNK])
            count, last = cursor.fetchone()
        if not count:
            if job.rows_done < job.rows_total:  # the unlogged staging rows died with a crash
                raise MemberError(MemberErrorCode.IMPORT_LOST)
            return False
        numbers = RawSQL("SELECT member_no FROM members_tagimportrow "
                         "WHERE job_id = %s AND id > %s AND id <= %s", (job.pk, job.cursor, last))
        added = member_tags_add(tag_id=job.tag_id, members=Member.objects.filter(
            member_no__in=numbers), cause=TagChange.Cause.IMPORT, now=now)
        job.cursor, job.rows_done, job.tagged = last, job.rows_done + count, job.tagged + added
        job.save(update_fields=["cursor", "rows_done", "tagged"])
        return True


def _finish(job_id: int, now: datetime, error: str = "") -> TagImportJob:
    with transaction.atomic():
        job = TagImportJob.objects.select_for_update().get(pk=job_id)
        if job.finished:
            return job
        with connection.cursor() as cursor:
            # one pass over the distinct numbers, hashed in memory rather than sorted on disk
            cursor.execute("SET LOCAL work_mem = '64MB'")
            cursor.execute(
                """
                WITH numbers AS MATERIALIZED (
                    SELECT s.member_no, m.id IS NOT NULL AS known
                    FROM (SELECT DISTINCT member_no FROM members_tagimportrow
                          WHERE job_id = %(job)s) s
                    LEFT JOIN members_member m ON m.member_no = s.member_no)
                SELECT (SELECT count(*) FROM numbers WHERE known),
                       (SELECT count(*) FROM numbers WHERE NOT known),
                       (SELECT coalesce(array_agg(member_no), '{}') FROM (
                            SELECT member_no FROM numbers WHERE NOT known
                            ORDER BY length(member_no), member_no LIMIT %(sample)s) sample)
                """, {"job": job.pk, "sample": UNKNOWN_SAMPLE})
            job.found, job.unknown, job.unknown_sample = cursor.fetchone()
            cursor.execute("DELETE FROM members_tagimportrow WHERE job_id = %s", [job.pk])
        job.status = TagImportJob.Status.FAILED if error else TagImportJob.Status.DONE
        job.error = str(error)[:200]
        job.finished_at = now
        job.save()
        return job
