# PartnerLoop application image: one image for web (gunicorn), Celery worker and Celery beat.
# No HEALTHCHECK here on purpose: the check differs per role, so docker-compose.yml sets it per service.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings.base

# Unprivileged runtime user (fixed ids so bind mounts/volumes get predictable ownership).
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app

WORKDIR /app

# Dependencies first so code changes do not invalidate this layer.
COPY requirements.txt ./
RUN pip install -r requirements.txt

# The app user owns the tree: `compile_locales` (run again by the web service at start-up) writes .mo
# files next to the .po files, and collectstatic writes /app/staticfiles.
COPY --chown=app:app . .
RUN mkdir -p /app/media /app/staticfiles && chown app:app /app /app/media /app/staticfiles

USER app

# Settings refuse to load without SECRET_KEY when DEBUG is off, so give the build steps a throwaway one.
# A build ARG is only visible to RUN steps of this build and is not set in the running container;
# the real key comes from the runtime environment (docker-compose.yml requires it).
ARG SECRET_KEY=build-only-insecure-dummy-key-never-used-at-runtime
# collectstatic with DEBUG off uses whitenoise's CompressedManifestStaticFilesStorage (hashed names +
# .gz). Compiling the message catalogues here too means worker and beat containers, which never run the
# web start-up command, also have the .mo files.
RUN SECRET_KEY="${SECRET_KEY}" DEBUG=false python manage.py collectstatic --noinput \
    && SECRET_KEY="${SECRET_KEY}" DEBUG=false python manage.py compile_locales

EXPOSE 8000

CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
