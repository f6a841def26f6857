"""Celery tasks of the sales app: running an uploaded import."""

from celery import shared_task

from core.tasks import ChannelTask

from .imports.jobs import KILL_TIME_LIMIT, RUN_TIME_LIMIT, import_job_run


@shared_task(base=ChannelTask, soft_time_limit=RUN_TIME_LIMIT.total_seconds(), time_limit=KILL_TIME_LIMIT.total_seconds())
def run_import_job(*, job_id):
    """Run an uploaded import; a second delivery finds the job no longer pending and does nothing.

    The soft time limit ends a runaway import as "failed" (the job runner records it, then re-raises);
    the hard limit is the last resort, after which the job page reports the job as stopped.
    """
    import_job_run(job_id=job_id)
