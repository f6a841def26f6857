"""The record of every import (ImportJob): created by a door, run in the foreground or by a worker.

Progress lives in the cache, not in the job row: the import runs inside one database transaction,
so a row update would stay invisible to the page that polls until the very end. Because of that
same transaction, an import that dies (an error, a time limit, a killed worker) has written
nothing, which is what its record then says.
"""

import logging
import uuid
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.core.cache import cache
from django.core.files.base import ContentFile, File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..models import ImportJob, ImportStatus
from . import FileRejected, ImportOptions, error_messages, import_file

logger = logging.getLogger(__name__)
PROGRESS_TTL = 24 * 3600
# A worker stops an import after RUN_TIME_LIMIT (the task's soft limit) and kills it a little later;
# a job still pending or running after STALE_AFTER has lost its worker or command for good.
RUN_TIME_LIMIT = timedelta(hours=2)
KILL_TIME_LIMIT = RUN_TIME_LIMIT + timedelta(minutes=5)
STALE_AFTER = KILL_TIME_LIMIT + timedelta(minutes=10)


def _progress_key(job_id):
    return f"partnerloop:import:{job_id}:progress"


def progress_of(job):
    """(phase, percent) of a job: live from the cache while it runs, else from the record."""
    if job.is_finished:
        return "", 100
    return cache.get(_progress_key(job.pk), (job.phase, job.progress))


def import_job_create(*, entity, channel, options: ImportOptions, created_by=None, file_name="", content=None) -> ImportJob:
    """Record a new import; `content` (a Django File such as an upload, or bytes) is stored for a worker to read.

    A File is copied to storage chunk by chunk (an upload is never read into memory as a whole), under
    a random name: the original name is kept in `file_name` only, so a stored file cannot be guessed.
    """
    job = ImportJob(entity=entity, channel=channel, options=options.as_dict(), created_by=created_by, file_name=file_name[:255])
    if content is not None:
        job.file.save(f"{uuid.uuid4().hex}.csv", content if isinstance(content, File) else ContentFile(content), save=False)
    job.save()
    return job


def import_job_run(*, job_id, stream=None, size=None, on_progress=None) -> ImportJob:
    """Run a recorded import once (compare-and-set: a retried task does not import twice).

    Whatever stops the run (an error, a soft time limit, an interrupt) marks the job failed with a
    readable message before it propagates, so a job is never left running.
    """
    started = ImportJob.objects.filter(pk=job_id, status=ImportStatus.PENDING).update(
        status=ImportStatus.RUNNING, started_at=timezone.now()
    )
    job = ImportJob.objects.get(pk=job_id)
    if not started:
        return job

    def report(phase, percent):
        cache.set(_progress_key(job_id), (phase, percent), PROGRESS_TTL)
        if on_progress:
            on_progress(phase, percent)

    try:
        options = ImportOptions(**job.options)
        if stream is None:
            with job.file.open("rb") as handle:
                result = import_file(entity=job.entity, stream=handle, size=job.file.size, options=options, on_progress=report)
        else:
            result = import_file(entity=job.entity, stream=stream, size=size, options=options, on_progress=report)
    except FileRejected as error:
        _finish(job, status=ImportStatus.REJECTED, message=str(error))
        return job
    except BaseException as error:
        _fail(job, error)
        raise
    try:
        record_result(job, result)
    except BaseException as error:
        _fail(job, error, written=result.written)
        raise
    return job


def _failure_message(error, written):
    if written:
        return _("The import was written, but recording its result failed; the error has been logged.")
    if isinstance(error, SoftTimeLimitExceeded):
        return _("The import took longer than the time limit and was stopped; nothing was written.")
    if not isinstance(error, Exception):  # KeyboardInterrupt, SystemExit: the worker or the command was stopped
        return _("The import was interrupted before it finished; nothing was written. Run it again.")
    return _("The import failed unexpectedly; nothing was written. The error has been logged.")


def _fail(job, error, written=False):
    if isinstance(error, Exception) and not isinstance(error, SoftTimeLimitExceeded):
        logger.exception("Import %s failed", job.pk)
    else:
        logger.warning("Import %s stopped: %r", job.pk, error)
    try:
        _finish(job, status=ImportStatus.FAILED, message=_failure_message(error, written))
    except Exception:  # the original error is the one to propagate
        logger.exception("Import %s: could not record its failure", job.pk)


def fail_if_stale(job, *, now=None):
    """Mark a job failed that has waited or run far longer than any run can (its worker or command died).

    Without this, a job whose worker crashed would show "running" forever. Compare-and-set: a job
    that finishes in the meantime keeps its own result.
    """
    now = now or timezone.now()
    since = job.started_at if job.status == ImportStatus.RUNNING else job.created_at
    if job.is_finished or since is None or now - since < STALE_AFTER:
        return job
    if job.status == ImportStatus.RUNNING:
        message = _("The import stopped without finishing (its worker or command was stopped or crashed); nothing was written.")
    else:
        message = _("No worker started this import; it was given up. Upload the file again.")
    changed = ImportJob.objects.filter(pk=job.pk, status=job.status).update(status=ImportStatus.FAILED, finished_at=now, message=message)
    if changed:
        cache.delete(_progress_key(job.pk))
    job.refresh_from_db()
    return job


def fail_unqueued(*, job_id):
    """A job whose task could not be sent to a worker would wait forever: mark it failed instead."""
    ImportJob.objects.filter(pk=job_id, status=ImportStatus.PENDING).update(
        status=ImportStatus.FAILED,
        finished_at=timezone.now(),
        message=_("The import could not be handed to a worker (the task queue is unreachable); nothing was written. Try again later."),
    )


def would_reject(*, rows_total, rows_rejected, allow_partial):
    """Whether an import with these counts writes nothing: all or nothing with a bad row, or no good row at all."""
    return bool(rows_rejected) and (not allow_partial or rows_rejected >= rows_total)


def is_rejected(job):
    """Whether a door reports failure: nothing written because of the file or its rows, a failure, or a
    dry run whose real import would be rejected."""
    if job.status in (ImportStatus.REJECTED, ImportStatus.FAILED):
        return True
    return job.status == ImportStatus.VALIDATED and would_reject(
        rows_total=job.rows_total, rows_rejected=job.rows_rejected, allow_partial=bool(job.options.get("allow_partial"))
    )


def _outcome(*, rows_total, rows_rejected, dry_run, allow_partial):
    """(status, message) of an import that read its rows; the options come from the job record."""
    valid = rows_total - rows_rejected
    rejected = would_reject(rows_total=rows_total, rows_rejected=rows_rejected, allow_partial=allow_partial)
    if dry_run:
        if rejected and not allow_partial:
            message = ngettext(
                "Dry run: %(count)s row would be rejected, so nothing would be imported (all or nothing).",
                "Dry run: %(count)s rows would be rejected, so nothing would be imported (all or nothing).",
                rows_rejected,
            ) % {"count": rows_rejected}
            message += " " + ngettext("%(count)s row is valid.", "%(count)s rows are valid.", valid) % {"count": valid}
        elif rows_rejected:
            # Translators: "Dry run: 998 rows would be imported, 2 rejected; nothing was written."
            message = _("Dry run: %(imported)s, %(rejected)s; nothing was written.") % {
                "imported": ngettext("%(count)s row would be imported", "%(count)s rows would be imported", valid) % {"count": valid},
                "rejected": ngettext("%(count)s rejected", "%(count)s rejected", rows_rejected) % {"count": rows_rejected},
            }
        else:
            message = ngettext(
                "Dry run: %(count)s row would be imported; nothing was written.",
                "Dry run: %(count)s rows would be imported; nothing was written.",
                valid,
            ) % {"count": valid}
        return ImportStatus.VALIDATED, message
    if rejected and not allow_partial:
        message = ngettext(
            "%(count)s row was rejected, so nothing was written.", "%(count)s rows were rejected, so nothing was written.", rows_rejected
        ) % {"count": rows_rejected}
        return ImportStatus.REJECTED, message
    if rejected:
        message = ngettext(
            "%(count)s row was rejected, so nothing was written.",
            "All %(count)s rows were rejected, so nothing was written.",
            rows_rejected,
        ) % {"count": rows_rejected}
        return ImportStatus.REJECTED, message
    if rows_rejected:
        # Translators: "998 rows imported; 2 rejected rows were skipped."
        message = _("%(imported)s; %(skipped)s.") % {
            "imported": ngettext("%(count)s row imported", "%(count)s rows imported", valid) % {"count": valid},
            "skipped": ngettext("%(count)s rejected row was skipped", "%(count)s rejected rows were skipped", rows_rejected)
            % {"count": rows_rejected},
        }
        return ImportStatus.SUCCEEDED, message
    return ImportStatus.SUCCEEDED, ngettext("%(count)s row imported.", "%(count)s rows imported.", valid) % {"count": valid}


def record_result(job, result):
    """Record what an import did; dry run and partial import are read from the job's own options."""
    status, message = _outcome(
        rows_total=result.rows_total,
        rows_rejected=result.rejected,
        dry_run=bool(job.options.get("dry_run")),
        allow_partial=bool(job.options.get("allow_partial")),
    )
    table = error_messages()
    _finish(
        job,
        status=status,
        message=message,
        rows_total=result.rows_total,
        rows_created=result.created,
        rows_updated=result.updated,
        rows_unchanged=result.unchanged,
        rows_rejected=result.rejected,
        errors=[error.as_dict(table) for error in result.errors],
    )


def _finish(job, **fields):
    fields.setdefault("progress", 100)
    fields["finished_at"] = timezone.now()
    for name, value in fields.items():
        setattr(job, name, value)
    with transaction.atomic():
        job.save()
    cache.delete(_progress_key(job.pk))
