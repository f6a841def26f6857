"""An embedded Celery worker on the test Redis, for the tests marked `worker`."""

from contextlib import contextmanager

import redis
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.conf import settings
from django.db import connections

from config import celery_app


@contextmanager
def embedded_worker(queue):
    """Run a solo-pool worker in a thread, consuming only `queue`, with tasks sent through Redis.

    Give each test a unique queue so that a worker of another test run on the same Redis database
    cannot take its messages.
    """
    saved = {key: celery_app.conf[key] for key in ("task_always_eager", "broker_url", "result_backend", "task_default_queue")}
    celery_app.conf.update(
        task_always_eager=False,
        broker_url=settings.CELERY_BROKER_URL,
        result_backend=settings.CELERY_RESULT_BACKEND,
        task_default_queue=queue,
    )

    def close_worker_connections(**kwargs):
        connections.close_all()  # the worker thread's own connections, so nothing holds the test database

    task_postrun.connect(close_worker_connections, weak=False)
    try:
        with start_worker(celery_app, pool="solo", perform_ping_check=False, queues=[queue], shutdown_timeout=30) as worker:
            yield worker
    finally:
        task_postrun.disconnect(close_worker_connections)
        celery_app.conf.update(saved)
        # kombu keeps a binding set per queue name; drop this test's so the database does not fill up.
        redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}", queue)
