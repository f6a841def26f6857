"""Test settings: the production parts (PostgreSQL, Redis), fast hashing, captured e-mail."""

import os

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdefghij")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/partnerloop")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")

from .base import *  # noqa: E402,F403
from .base import DATABASES  # noqa: E402

if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise RuntimeError("The test suite runs on PostgreSQL only; set DATABASE_URL to a postgres:// URL.")

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Unit tests run tasks in-process; tests that need the broker start a real worker on Redis.
CELERY_TASK_ALWAYS_EAGER = True
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "10000/minute", "user": "10000/minute"}}  # noqa: F405
LANGUAGE_CODE = "en"
SITE_URL = "http://testserver"
