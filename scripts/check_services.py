"""Fail fast, in one line, when the test suite's PostgreSQL or Redis cannot be reached."""

import os
import sys
from urllib.parse import urlparse

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/partnerloop"
DEFAULT_REDIS = "redis://127.0.0.1:6379/15"


def check_postgres(url):
    import psycopg2

    parts = urlparse(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql", "postgis"):
        return f"DATABASE_URL must point at PostgreSQL for the tests, not {parts.scheme}://"
    try:
        psycopg2.connect(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=parts.username or "postgres",
            password=parts.password or None,
            dbname="postgres",
            connect_timeout=3,
        ).close()
    except psycopg2.OperationalError as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else "connection refused"
        return f"PostgreSQL is not reachable at {parts.hostname}:{parts.port or 5432} ({first_line}); start it or set DATABASE_URL."
    return None


def check_redis(url):
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.exceptions.RedisError as error:
        return f"Redis is not reachable at {url} ({error}); start it or set REDIS_URL."
    return None


def main():
    problems = [
        problem
        for problem in (
            check_postgres(os.environ.get("DATABASE_URL", DEFAULT_DB)),
            check_redis(os.environ.get("REDIS_URL", DEFAULT_REDIS)),
        )
        if problem
    ]
    for problem in problems:
        print(f"make test: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
