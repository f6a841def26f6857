"""The record of every import (ImportJob): created by a door, run in the foreground or by a worker.

Progress lives in the cache, not in the job row: the import runs inside one database transaction,
so a row update would stay invisible to the page that polls until the very end.
"""

import logging
import os

from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import ImportJob, ImportStatus
from . import FileRejected, ImportOptions, error_messages, import_file

logger = logging.getLogger(__name__)
PROGRESS_TTL = 24 * 3600


def _progress_key(job_id):
    return f"partnerloop:import:{job_id}:progress"


def progress_of(job):
    """(phase, percent) of a job: live from the cache while it runs, else from the record."""
    if job.is_finished:
        return "", 100
    return cache.get(_progress_key(job.pk), (job.phase, job.progress))


def import_job_create(*, entity, channel, options: ImportOptions, created_by=None, file_name="", content=None) -> ImportJob:
    """Record a new import; `content` (bytes) is stored with the job for a worker to read."""
    job = ImportJob(entity=entity, channel=channel, options=options.as_dict(), created_by=created_by, file_name=file_name[:255])
    if content is not None:
        job.file.save(os.path.basename(file_name) or f"{entity}.csv", ContentFile(content), save=False)
    job.save()
    return job


def import_job_run(*, job_id, stream=None, size=None, on_progress=None) -> ImportJob:
    """Run a recorded import once (compare-and-set: a retried task does not import twice)."""
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

    options = ImportOptions(**job.options)
    try:
        if stream is None:
            with job.file.open("rb") as handle:
                result = import_file(entity=job.entity, stream=handle, size=job.file.size, options=options, on_progress=report)
        else:
            result = import_file(entity=job.entity, stream=stream, size=size, options=options, on_progress=report)
    except FileRejected as error:
        _finish(job, status=ImportStatus.REJECTED, message=str(error))
        return job
    except Exception:
        logger.exception("Import %s failed", job_id)
        _finish(
            job, status=ImportStatus.FAILED, message=_("The import failed unexpectedly; nothing was written. The error has been logged.")
        )
        raise
    record_result(job, result)
    return job


def record_result(job, result):
    if result.error_count and not result.written:
        status = ImportStatus.REJECTED
        message = _("%(rows)s row(s) were rejected, so nothing was written.") % {"rows": result.rejected}
    elif result.dry_run:
        status, message = ImportStatus.VALIDATED, _("Dry run: every row is valid; nothing was written.")
    else:
        status = ImportStatus.SUCCEEDED
        message = (
            _("Imported; %(rows)s rejected row(s) were skipped.") % {"rows": result.rejected} if result.error_count else _("Imported.")
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
