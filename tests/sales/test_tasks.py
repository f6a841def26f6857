"""The import task: runs an uploaded import once, and ends the job whatever stops it."""

from unittest import mock

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from sales import tasks
from sales.imports import ImportOptions, jobs
from sales.models import ImportChannel, ImportJob, ImportStatus, Sale
from tests.partners.factories import PartnerFactory

SALES = b"external_id,partner_external_id,invoice_date,amount\nS-1,P-1,2025-01-15,100.00\n"


def _pending_import():
    PartnerFactory(external_id="P-1")
    return jobs.import_job_create(entity="sales", channel=ImportChannel.UPLOAD, options=ImportOptions(), file_name="s.csv", content=SALES)


@pytest.mark.django_db
def test_run_import_job_imports_the_uploaded_file():
    job = _pending_import()

    tasks.run_import_job.delay(job_id=job.pk)

    job.refresh_from_db()
    assert (job.status, job.message, job.rows_created) == (ImportStatus.SUCCEEDED, "1 row imported.", 1)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("error", "message"),
    [
        (SoftTimeLimitExceeded(), "The import took longer than the time limit and was stopped; nothing was written."),
        (KeyboardInterrupt(), "The import was interrupted before it finished; nothing was written. Run it again."),
        (SystemExit(1), "The import was interrupted before it finished; nothing was written. Run it again."),
        (RuntimeError("boom"), "The import failed unexpectedly; nothing was written. The error has been logged."),
    ],
    ids=["soft-time-limit", "keyboard-interrupt", "system-exit", "bug"],
)
def test_whatever_stops_an_import_marks_the_job_failed_and_propagates(error, message):
    job = _pending_import()

    def stopped(**kwargs):
        kwargs["on_progress"]("Checking rows", 40)
        raise error

    with mock.patch.object(jobs, "import_file", side_effect=stopped), pytest.raises(type(error)):
        tasks.run_import_job.delay(job_id=job.pk)

    job.refresh_from_db()
    assert (job.status, job.message) == (ImportStatus.FAILED, message)
    assert job.finished_at is not None
    assert "Traceback" not in job.message
    assert jobs.progress_of(job) == ("", 100)
    assert not Sale.objects.exists()


@pytest.mark.django_db
def test_a_failure_while_recording_the_result_still_ends_the_job():
    job = _pending_import()

    with mock.patch.object(jobs, "error_messages", side_effect=RuntimeError("boom")), pytest.raises(RuntimeError):
        tasks.run_import_job.delay(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert job.message == "The import was written, but recording its result failed; the error has been logged."


def test_the_import_task_has_a_time_limit_below_the_point_where_a_job_counts_as_stale():
    assert tasks.run_import_job.soft_time_limit == jobs.RUN_TIME_LIMIT.total_seconds()
    assert tasks.run_import_job.soft_time_limit < tasks.run_import_job.time_limit < jobs.STALE_AFTER.total_seconds()


@pytest.mark.django_db
def test_a_second_delivery_of_the_task_does_nothing():
    job = _pending_import()
    tasks.run_import_job.delay(job_id=job.pk)

    tasks.run_import_job.delay(job_id=job.pk)

    assert ImportJob.objects.get().rows_created == 1
    assert Sale.objects.count() == 1
