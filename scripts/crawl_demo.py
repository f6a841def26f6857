"""Crawl the demo world the way `make run` serves it, and fail on any server error.

Settings as `make run` (DEBUG=true, config.settings.base, embedded SQLite, Celery eager) on a fresh
temporary SQLite file: migrate, compile_locales, seed_demo. Then, with django.test.Client, it signs
in through the login form as a channel manager, a partner admin, a plain partner user and the
superuser (the demo logins of partners/seed.py) and GETs, per role, up to --max-pages pages:

- the home page, then every GET-able URL pattern of the resolver, its <int:pk>-style arguments
  filled with real ids of the model the route names (for partner users, objects of their own
  partner where the model has one; nested ids are taken from the inner object's foreign keys);
- every same-origin <a href> and redirect target of the pages already seen, at most PER_SHAPE
  of each shape (the path with its numbers masked, plus the query keys) and PER_PATH of each
  masked path, so 200 partner pages and the admin's filter combinations do not crowd out the rest.

Logout and admin delete pages are skipped. 403 and 404 are fine (partner users hitting manager
URLs); a 5xx or an exception raised by a view is a failure: they are listed and the exit code is 1.

    .venv/bin/python scripts/crawl_demo.py [--max-pages 1500] [--show 404,405] [--keep-db] [--verbose]

`make crawl` runs it (and CI, after `make test`). About three minutes: a minute for the demo
world, the rest for about 3,000 pages.
"""

import argparse
import logging
import os
import re
import sys
import tempfile
import time
import traceback
from collections import Counter, deque
from html.parser import HTMLParser
from io import StringIO
from pathlib import Path
from urllib.parse import parse_qsl, urljoin, urlsplit

ROOT = Path(__file__).resolve().parent.parent
PER_SHAPE = 3  # links of one shape (path with numbers masked, query keys) followed per role
PER_PATH = 6  # links of one path (numbers masked), whatever their query, followed per role
OBJECTS_PER_ROUTE = 2  # the first and the last matching object by id
SKIP = [
    re.compile(r"^/accounts/logout/"),
    re.compile(r"^/admin/logout/"),
    re.compile(r"^/admin/.*/delete/$"),  # the admin's delete confirmation pages
    re.compile(r"^/admin/r/"),  # "view on site": a redirect to the object's own page
    re.compile(r"^/static/"),
    re.compile(r"^/media/"),
]
# A route's path segment (or keyword) that does not spell its model's name.
SEGMENT_MODELS = {
    "imports": "sales.ImportJob",
    "applications": "partners.PartnerApplication",
    "team": "partners.Membership",
    "members": "partners.Membership",
    "earnings": "incentives.EarningLine",
    "sales-months": "sales.SalesMonth",
    "scores": "kpis.ScoreSnapshot",
    "score-alerts": "kpis.Alert",
    "periods": "incentives.ProgramPeriod",
}
KEYWORD_MODELS = {"period": "incentives.ProgramPeriod", "membership": "partners.Membership"}
NAMESPACE_ROOT_MODELS = {"incentives": "incentives.Program"}  # incentives/<int:pk>/ is a program


def configure(db_path, verbose):
    os.environ.update(
        DEBUG="true",
        DJANGO_SETTINGS_MODULE="config.settings.base",
        DATABASE_URL=f"sqlite:///{db_path}",
        REDIS_URL="",  # Celery eager, local-memory cache: no broker, as `make run`
        API_THROTTLE_USER="1000000/minute",
    )
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    if not verbose:  # 403/404 warnings and Celery's task lines would drown the summary; 5xx are listed below
        logging.disable(logging.CRITICAL)
    from django.test.utils import setup_test_environment

    setup_test_environment()  # "testserver" is an allowed host; e-mail goes to memory, never out


def build_world():
    from django.core.management import call_command

    out = StringIO()
    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0, stdout=out)
    call_command("compile_locales", verbosity=0, stdout=out)
    call_command("seed_demo", stdout=out)
    return time.perf_counter() - started


# --- the URL patterns ------------------------------------------------------------------------------


class Route:
    def __init__(self, name, text, keywords, namespace):
        self.name, self.text, self.keywords, self.namespace = name, text, keywords, namespace

    def segments_before(self, keyword):
        """The path segments in front of `keyword` in the route text."""
        match = re.search(rf"<(?:\w+:)?{keyword}>|\(\?P<{keyword}>", self.text)
        before = re.sub(r"<[^>]+>|\(\?P<\w+>[^)]*\)", "_", self.text[: match.start()])
        return [segment for segment in before.replace("^", "").replace("$", "").split("/") if segment]


def _gettable(callback):
    actions = getattr(callback, "actions", None)  # a DRF viewset route
    if actions is not None:
        return "get" in actions
    view_class = getattr(callback, "view_class", None)
    return view_class is None or hasattr(view_class, "get")  # function views: ask them


def routes():
    """Every named, GET-able URL pattern, with its keyword arguments (format suffixes left out)."""
    from django.urls import URLResolver, get_resolver
    from django.urls.resolvers import RoutePattern

    def keywords_of(pattern):
        return list(pattern.converters) if isinstance(pattern, RoutePattern) else list(pattern.regex.groupindex)

    def walk(patterns, prefix, namespace, keywords):
        for entry in patterns:
            text, names = prefix + str(entry.pattern), keywords + keywords_of(entry.pattern)
            if isinstance(entry, URLResolver):
                inner = namespace
                if entry.namespace:
                    inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
                yield from walk(entry.url_patterns, text, inner, names)
            elif entry.name and "format" not in names and _gettable(entry.callback):
                yield Route(f"{namespace}:{entry.name}" if namespace else entry.name, text, names, namespace)

    return list(walk(get_resolver().url_patterns, "/", None, []))


def _singular(word):
    word = word.replace("-", "")
    if word.endswith("ies"):
        return word[:-3] + "y"
    return word[:-1] if word.endswith("s") else word


def model_for(route, keyword):
    """The model a route's keyword names, or None."""
    from django.apps import apps

    segments = route.segments_before(keyword)
    if keyword in ("pk", "id", "object_id"):
        if len(segments) >= 2:  # the admin: <app_label>/<model_name>/<object_id>/
            try:
                return apps.get_model(segments[-2], segments[-1])
            except (LookupError, ValueError):
                pass
        if not segments:
            return None
        if segments == [route.namespace] and route.namespace in NAMESPACE_ROOT_MODELS:
            return apps.get_model(NAMESPACE_ROOT_MODELS[route.namespace])
        if segments[-1] in SEGMENT_MODELS:
            return apps.get_model(SEGMENT_MODELS[segments[-1]])
        name = _singular(segments[-1])
    else:
        name = re.sub(r"_(pk|id)$", "", keyword)
        if name in KEYWORD_MODELS:
            return apps.get_model(KEYWORD_MODELS[name])
    candidates = [model for model in apps.get_models() if model._meta.model_name == name.replace("_", "")]
    if len(candidates) > 1 and route.namespace:
        candidates = [model for model in candidates if model._meta.app_label == route.namespace] or candidates
    return candidates[0] if len(candidates) == 1 else None


def _objects(model, partner):
    """Up to OBJECTS_PER_ROUTE objects of `model`: of `partner` when it has one and the model belongs to one."""
    from partners.models import Partner

    rows = model._base_manager.order_by("pk")
    if partner is not None:
        if model is Partner:
            rows = rows.filter(pk=partner.pk)
        elif any(field.name == "partner" and field.related_model is Partner for field in model._meta.get_fields()):
            rows = rows.filter(partner=partner)
    first, last = rows.first(), rows.last()
    return [row for row in (first, last) if row is not None][: OBJECTS_PER_ROUTE if first != last else 1]


def route_urls(all_routes, partner, staff):
    """(URLs to start from, routes that could not be filled) for a role.

    Users without staff status get the admin's index only: every other admin page sends them to
    the admin login as well.
    """
    from django.urls import NoReverseMatch, reverse
    from django_scopes import scopes_disabled

    urls, unfilled = [], []
    with scopes_disabled():
        for route in all_routes:
            if not staff and route.namespace == "admin" and route.name != "admin:index":
                continue
            if not route.keywords:
                try:
                    urls.append(reverse(route.name))
                except NoReverseMatch:
                    unfilled.append(route.name)
                continue
            inner = route.keywords[-1]
            models = {keyword: model_for(route, keyword) for keyword in route.keywords}
            if any(model is None for model in models.values()):
                unfilled.append(route.name)
                continue
            for obj in _objects(models[inner], partner):
                values = {inner: obj.pk}
                for keyword in route.keywords[:-1]:  # outer ids: the inner object's foreign key to them
                    link = next((f for f in obj._meta.concrete_fields if f.is_relation and f.related_model is models[keyword]), None)
                    outer = getattr(obj, link.attname) if link else next(iter(_objects(models[keyword], partner)), None)
                    values[keyword] = outer.pk if hasattr(outer, "pk") else outer
                try:
                    urls.append(reverse(route.name, kwargs=values))
                except NoReverseMatch:
                    unfilled.append(route.name)
    return urls, sorted(set(unfilled))


# --- the crawl -------------------------------------------------------------------------------------


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def same_origin(base, href):
    """The path and query of `href` (relative to `base`) if it stays on this site, else None."""
    if href.startswith(("#", "mailto:", "tel:", "javascript:", "data:")):
        return None
    parts = urlsplit(urljoin("http://testserver" + base, href))
    if parts.scheme not in ("http", "https") or parts.netloc != "testserver":
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def shape(url):
    parts = urlsplit(url)
    keys = sorted({key for key, _value in parse_qsl(parts.query, keep_blank_values=True)})
    return re.sub(r"/\d+(?=/|$|\.)", "/N", parts.path), tuple(keys)


class Page:
    def __init__(self, url, status, seconds, error=None):
        self.url, self.status, self.seconds, self.error = url, status, seconds, error


def crawl(role, username, password, start_urls, max_pages):
    from django.test import Client

    client = Client(raise_request_exception=True)
    login = client.post("/accounts/login/", {"username": username, "password": password})
    if login.status_code != 302 or "_auth_user_id" not in client.session:
        raise SystemExit(f"crawl_demo: {role} {username} could not sign in (status {login.status_code})")

    queue, queued, shapes, paths, pages = deque(), set(), Counter(), Counter(), []

    def add(url, limit=True):
        if url in queued or any(pattern.search(urlsplit(url).path) for pattern in SKIP):
            return
        key = shape(url)
        if limit and (shapes[key] >= PER_SHAPE or paths[key[0]] >= PER_PATH):
            return
        shapes[key] += 1
        paths[key[0]] += 1
        queued.add(url)
        queue.append(url)

    for url in ["/", *start_urls]:
        add(url, limit=False)
    while queue and len(pages) < max_pages:
        url = queue.popleft()
        started = time.perf_counter()
        try:
            response = client.get(url)
            body = b"".join(response.streaming_content) if response.streaming else response.content
        except Exception as error:  # a view that raised: the failure to report
            frames = traceback.extract_tb(error.__traceback__)
            where = next((f"{_ours(f.filename)}:{f.lineno}" for f in reversed(frames) if _ours(f.filename)), "")
            pages.append(Page(url, None, time.perf_counter() - started, f"{type(error).__name__}: {error} ({where})"))
            continue
        pages.append(Page(url, response.status_code, time.perf_counter() - started))
        if 300 <= response.status_code < 400 and response.get("Location"):
            target = same_origin(url, response["Location"])
            if target:
                add(target)
        elif response.status_code == 200 and "text/html" in response.get("Content-Type", ""):
            parser = Links()
            parser.feed(body.decode(response.charset or "utf-8", "replace"))
            for href in parser.hrefs:
                target = same_origin(url, href)
                if target:
                    add(target)
    return pages, len(queue)


def _ours(filename):
    """The project-relative path of a traceback's file when it is ours (not a library's), else None."""
    path = Path(filename)
    if not path.is_absolute() or ".venv" in path.parts or path.resolve() == Path(__file__).resolve():
        return None
    path = path.resolve()
    return path.relative_to(ROOT).as_posix() if ROOT in path.parents else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-pages", type=int, default=1500, help="pages per role (default 1500)")
    parser.add_argument("--show", default="", help="list the URLs that answered these statuses, e.g. 403,404")
    parser.add_argument("--keep-db", action="store_true", help="keep the SQLite file and print its path")
    parser.add_argument("--verbose", action="store_true", help="Django's and Celery's log lines too")
    args = parser.parse_args()

    started = time.perf_counter()
    handle, db_path = tempfile.mkstemp(prefix="partnerloop-crawl-", suffix=".sqlite3")
    os.close(handle)
    try:
        configure(db_path, args.verbose)
        seconds = build_world()
        print(f"crawl_demo: migrate + seed_demo on a fresh SQLite file in {seconds:.1f} s")

        from django.contrib.auth import get_user_model
        from django_scopes import scopes_disabled

        from partners.models import Membership
        from partners.seed import DEMO_MANAGER, DOMAIN, PASSWORD, SUPERUSER, WELL_KNOWN

        roles = [
            ("channel manager", f"{DEMO_MANAGER[0]}@{DOMAIN}"),
            ("partner admin", f"admin@{WELL_KNOWN[0].slug}.{DOMAIN}"),
            ("partner user", f"user@{WELL_KNOWN[1].slug}.{DOMAIN}"),
            ("superuser", f"{SUPERUSER[0]}@{DOMAIN}"),
        ]
        all_routes = routes()
        failures, rows, slow = [], [], []
        for role, username in roles:
            with scopes_disabled():
                user = get_user_model().objects.get(username=username)
                membership = Membership.objects.filter(user=user).select_related("partner").first()
            start_urls, unfilled = route_urls(all_routes, membership.partner if membership else None, user.is_staff)
            role_started = time.perf_counter()
            pages, left = crawl(role, username, PASSWORD, start_urls, args.max_pages)
            statuses = Counter(page.status for page in pages)
            rows.append((role, username, pages, statuses, left, len(start_urls), unfilled, time.perf_counter() - role_started))
            failures += [(role, page) for page in pages if page.error or page.status >= 500]
            slow += [(page.seconds, role, page.url) for page in pages]

        print(f"{len(all_routes)} GET-able named URL patterns")
        print(f"  {'role':<15}  {'login':<38}  pages  seeds  left  seconds  statuses")
        for role, username, pages, statuses, left, seeds, _unfilled, role_seconds in rows:
            ordered = sorted(statuses.items(), key=lambda item: item[0] or 0)
            counts = ", ".join(f"{status or 'exception'}: {n}" for status, n in ordered)
            print(f"  {role:<15}  {username:<38}  {len(pages):>5}  {seeds:>5}  {left:>4}  {role_seconds:>7.1f}  {counts}")
        unfilled = sorted({name for row in rows for name in row[6]})
        if unfilled:
            print(f"  patterns with arguments no object fills (not requested from the resolver): {', '.join(unfilled)}")
        print("  slowest: " + "; ".join(f"{url} ({role}) {seconds:.2f} s" for seconds, role, url in sorted(slow, reverse=True)[:5]))
        shown = {int(status) for status in args.show.split(",") if status.strip()}
        for role, _username, pages, *_rest in rows:
            for page in pages:
                if page.status in shown:
                    print(f"  {role}: {page.status} {page.url}")
        print(f"crawl_demo: {sum(len(row[2]) for row in rows)} pages in {time.perf_counter() - started:.1f} s")
        if failures:
            print(f"crawl_demo: FAILED, {len(failures)} server error(s):")
            for role, page in failures:
                print(f"  {role}: GET {page.url} -> {page.error or page.status}")
            return 1
        print("crawl_demo: no server errors")
        return 0
    finally:
        if args.keep_db:
            print(f"crawl_demo: the database is kept at {db_path}")
        else:
            os.unlink(db_path)


if __name__ == "__main__":
    sys.exit(main())
