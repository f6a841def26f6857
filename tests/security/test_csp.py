"""Every page sends our Content-Security-Policy, and no page holds markup that the policy would block.

The policy (config/settings/base.py) allows scripts, styles, fonts and connections from our own origin
only, and nothing inline. So two checks per page, for every role:

- the `Content-Security-Policy` header carries each directive below, and neither 'unsafe-inline' nor
  'unsafe-eval';
- the HTML has no inline `<script>` (one without `src`; JSON data blocks from `json_script` are fine),
  no `<style>` element, no `style="..."` attribute, no `on*=` event handler, no `hx-on` attribute
  (htmx evaluates it as code) and no `javascript:` URL. Parsed with html.parser, not matched by regex.

The pages come from the URL walker of test_route_coverage.py (every route of every manager namespace,
every portal route) with real objects: its `ids_a` for the partner pages, test_tenancy's `objects_a`
for the others (both shared through conftest.py). A page that answers something other than HTML (a redirect, a 405 to a GET of a
POST-only route, a CSV download) is checked for the header only.
"""

from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.urls import path, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from partners.models import Partner, Tier
from tests.security.test_route_coverage import ROUTES, _namespace, _url
from tests.security.test_tenancy import PORTAL_LIST_PAGES, PORTAL_OBJECT_ROUTES

pytestmark = pytest.mark.django_db

SELF = "'self'"
EXPECTED_DIRECTIVES = {
    "default-src": {SELF},
    "script-src": {SELF},
    "style-src": {SELF},
    "img-src": {SELF, "data:"},
    "font-src": {SELF},
    "connect-src": {SELF},
    "object-src": {"'none'"},
    "base-uri": {SELF},
    "form-action": {SELF},
    "frame-ancestors": {"'none'"},
}
FORBIDDEN_SOURCES = ("'unsafe-inline'", "'unsafe-eval'")


# --- the two checks ------------------------------------------------------------------------------


def policy_problems(response):
    """What is wrong with the response's Content-Security-Policy header (an empty list: nothing)."""
    header = response.headers.get("Content-Security-Policy")
    if not header:
        return ["no Content-Security-Policy header"]
    problems = [f"{source} in the policy" for source in FORBIDDEN_SOURCES if source in header]
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = set(sources)
    for name, sources in EXPECTED_DIRECTIVES.items():
        if directives.get(name) != sources:
            problems.append(f"{name} is {sorted(directives[name]) if name in directives else 'missing'}, expected {sorted(sources)}")
    return problems


class InlineMarkupFinder(HTMLParser):
    """Collects every piece of markup that `script-src 'self'` / `style-src 'self'` would block."""

    URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found = []

    def handle_starttag(self, tag, attrs):
        where = f"line {self.getpos()[0]}: <{tag}"
        values = dict(attrs)
        if tag == "script" and "src" not in values and (values.get("type") or "").strip().lower() != "application/json":
            self.found.append(f"{where}> inline script")
        if tag == "style":
            self.found.append(f"{where}> element")
        for name, value in attrs:  # html.parser gives the attribute names in lower case
            if name == "style":
                self.found.append(f'{where} style="{value}">')
            elif name.startswith("on"):
                self.found.append(f"{where} {name}=...> event handler")
            elif name.startswith(("hx-on", "data-hx-on")):
                self.found.append(f"{where} {name}=...> (htmx evaluates it as code)")
            elif name in self.URL_ATTRIBUTES and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f'{where} {name}="{value}">')

    handle_startendtag = handle_starttag


def inline_markup(html):
    finder = InlineMarkupFinder()
    finder.feed(html)
    finder.close()
    return finder.found


def assert_csp_clean(response, what):
    """The header on every response; the markup on every HTML one."""
    assert response.status_code < 500, f"{what} answered {response.status_code}"
    problems = policy_problems(response)
    assert not problems, f"{what}: {problems}"
    if response.headers.get("Content-Type", "").startswith("text/html"):
        found = inline_markup(response.content.decode())
        assert not found, f"{what} holds markup the Content-Security-Policy blocks:\n" + "\n".join(found)
        return True
    return False


# --- the checks themselves can fail --------------------------------------------------------------


@pytest.mark.parametrize(
    "html",
    [
        "<script>alert(1)</script>",
        '<script type="module">import "x"</script>',
        "<style>p { color: red }</style>",
        '<p style="color: red">x</p>',
        '<img src="x.png" onerror="alert(1)">',
        '<select ONCHANGE="this.form.submit()"></select>',
        '<form hx-on::before-swap="x()"></form>',
        '<a href=" JavaScript:alert(1)">x</a>',
        '<br style="clear: both"/>',
    ],
)
def test_the_markup_check_finds_inline_code(html):
    assert inline_markup(f"<html><body>{html}</body></html>")


def test_the_markup_check_lets_external_scripts_and_json_data_through():
    html = (
        '<link rel="stylesheet" href="/static/css/partnerloop.css">'
        '<script src="/static/js/partnerloop.js" defer></script>'
        '<script id="chart-data" type="application/json">{"a": "<b style=x>"}</script>'
        '<span class="badge" data-bg-colour="#112233" data-style="x">Gold</span><a href="/online/">online</a>'
    )
    assert inline_markup(html) == []


def test_the_policy_check_fails_without_a_header_and_with_unsafe_sources():
    class Fake:
        def __init__(self, header):
            self.headers = {"Content-Security-Policy": header} if header else {}

    assert policy_problems(Fake(None)) == ["no Content-Security-Policy header"]
    loose = "default-src 'self'; script-src 'self' 'unsafe-inline'"
    problems = policy_problems(Fake(loose))
    assert "'unsafe-inline' in the policy" in problems
    assert any(problem.startswith("style-src is missing") for problem in problems)


def test_the_policy_as_sent():
    response = Client().get(reverse("login"))
    assert policy_problems(response) == []
    assert set(response.headers["Content-Security-Policy"].replace(";", " ").split()) >= {"'none'", "data:"}


# --- anonymous pages -----------------------------------------------------------------------------


def _password_reset_link(user):
    return reverse("password_reset_confirm", args=[urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)])


ANONYMOUS_PAGES = [
    "home",
    "login",
    "apply",
    "apply_thanks",
    "password_reset",
    "password_reset_done",
    "password_reset_complete",
    "healthz",
    "api_docs",
]


@pytest.mark.parametrize("name", ANONYMOUS_PAGES)
def test_anonymous_pages(name):
    response = Client().get(reverse(name))
    assert_csp_clean(response, f"GET {reverse(name)} (anonymous)")


def test_the_password_reset_pages(manager_user):
    client = Client()
    link = _password_reset_link(manager_user)
    response = client.get(link, follow=True)  # the token moves into the session, then the set-password form
    assert response.redirect_chain, "the reset link did not redirect to the set-password form"
    assert b'name="new_password1"' in response.content
    assert assert_csp_clean(response, "the set-password form")
    invalid = client.get(reverse("password_reset_confirm", args=["MQ", "bad-token"]))
    assert assert_csp_clean(invalid, "the invalid reset link page")


def test_the_error_pages(client_a):
    missing = Client().get("/no-such-page/")
    assert missing.status_code == 404
    assert assert_csp_clean(missing, "the 404 page")
    forbidden = client_a.get(reverse("partners:list"))
    assert forbidden.status_code == 403
    assert assert_csp_clean(forbidden, "the 403 page")


def _boom(request):
    raise RuntimeError("a bug")


# Only for test_the_server_error_page (pytest.mark.urls): a route that fails, answered by templates/500.html.
urlpatterns = [path("boom/", _boom)]


@pytest.mark.urls(__name__)
def test_the_server_error_page():
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500
    assert b'class="error-page"' in response.content
    assert policy_problems(response) == []
    assert inline_markup(response.content.decode()) == []


def test_no_template_file_holds_inline_markup():
    """Also the templates no walked page renders (the 500 page, partials of rare states). E-mails are not web pages."""
    dirs = [Path(d) for engine in settings.TEMPLATES for d in engine["DIRS"]]
    dirs += [p for p in Path(settings.BASE_DIR).glob("*/templates") if p.is_dir()]
    templates = [t for d in dirs for t in d.rglob("*.html") if "emails" not in t.relative_to(d).parts]
    assert len(templates) > 50
    problems = [f"{t.relative_to(settings.BASE_DIR)} {found}" for t in templates for found in inline_markup(t.read_text())]
    assert not problems, "templates with markup the Content-Security-Policy blocks:\n" + "\n".join(problems)


# --- manager pages -------------------------------------------------------------------------------

MANAGER_NAMESPACES = ("partners", "surveys", "incentives", "kpis")
MANAGER_ROUTES = sorted((name, kwargs) for name, _route, kwargs, _callback in ROUTES if _namespace(name) in MANAGER_NAMESPACES)
MANAGER_PAGES_OUTSIDE_NAMESPACES = ["api_token", "password_change", "password_change_done", "api_docs"]

# The object a URL keyword names, outside the `partners:` routes (whose URLs test_route_coverage._url builds).
_KEYWORD_OBJECTS = {"question_pk": "question", "wave_pk": "wave", "rule_pk": "rule", "period_pk": "period", "tier_pk": "tier"}


def _pk_object(name):
    """What `pk` stands for in a route of the surveys, incentives and kpis namespaces."""
    action = name.split(":", 1)[1]
    prefixes = {"idea": "idea", "payout": "payout", "reward": "reward", "redemption": "redemption", "alert": "alert"}
    kind = next((kind for prefix, kind in prefixes.items() if action.startswith(prefix)), None)
    return kind or {"surveys": "survey", "incentives": "program", "kpis": "partner"}[_namespace(name)]


def _manager_url(name, kwargs, ids, objects):
    if _namespace(name) == "partners":
        return _url(name, kwargs, ids)
    objects = {
        **objects,
        "rule": objects["program"].rules.first(),
        "period": objects["payout"].lines.get().period,
        "tier": objects["partner"].tier,
    }
    values = {}
    for kwarg in kwargs:
        kind = _pk_object(name) if kwarg == "pk" else _KEYWORD_OBJECTS.get(kwarg)
        if kind is None:
            pytest.fail(f"{name}: add the object the URL keyword {kwarg!r} names to test_csp._KEYWORD_OBJECTS.")
        values[kwarg] = objects[kind].pk
    return reverse(name, kwargs=values)


def test_the_manager_walk_has_every_namespace():
    assert {_namespace(name) for name, _ in MANAGER_ROUTES} == set(MANAGER_NAMESPACES)
    assert len(MANAGER_ROUTES) >= 70


@pytest.mark.parametrize(("name", "kwargs"), MANAGER_ROUTES, ids=[name for name, _ in MANAGER_ROUTES])
def test_manager_pages(name, kwargs, manager_client, ids_a, objects_a):
    url = _manager_url(name, kwargs, ids_a, objects_a)
    assert_csp_clean(manager_client.get(url), f"GET {url} (manager)")
    # An HTMX request gets a partial of the page on some routes: the partial is checked too.
    assert_csp_clean(manager_client.get(url, headers={"HX-Request": "true"}), f"GET {url} (manager, HTMX)")


@pytest.mark.parametrize("name", MANAGER_PAGES_OUTSIDE_NAMESPACES)
def test_manager_pages_outside_the_namespaces(name, manager_client):
    assert assert_csp_clean(manager_client.get(reverse(name)), f"GET {reverse(name)} (manager)")


def test_most_manager_pages_are_real_pages(manager_client, ids_a, objects_a):
    """So that the walk above checks pages, not only redirects and 405s."""
    urls = [_manager_url(name, kwargs, ids_a, objects_a) for name, kwargs in MANAGER_ROUTES]
    html = [url for url in urls if assert_csp_clean(manager_client.get(url), url)]
    assert len(html) >= 45, html


# --- portal pages --------------------------------------------------------------------------------

PORTAL_ROUTES = sorted((name, kwargs) for name, _route, kwargs, _callback in ROUTES if _namespace(name) == "portal")


def _portal_url(name, kwargs, objects):
    if not kwargs:
        return reverse(name)
    kind, _methods = PORTAL_OBJECT_ROUTES[name]
    return reverse(name, args=[objects[kind].pk])


def test_the_portal_walk_covers_the_tenancy_tables():
    names = {name for name, _ in PORTAL_ROUTES}
    assert set(PORTAL_LIST_PAGES) | set(PORTAL_OBJECT_ROUTES) <= names


@pytest.mark.parametrize("persona", ["admin_a", "user_a"])
@pytest.mark.parametrize(("name", "kwargs"), PORTAL_ROUTES, ids=[name for name, _ in PORTAL_ROUTES])
def test_portal_pages(request, persona, name, kwargs, objects_a):
    client = Client()
    client.force_login(request.getfixturevalue(persona))
    url = _portal_url(name, kwargs, objects_a)
    assert_csp_clean(client.get(url), f"GET {url} ({persona})")


def test_the_portal_home_of_a_partner_user(client_a, user_a):
    assert assert_csp_clean(client_a.get(reverse("portal:home")), "portal home (partner admin)")
    client = Client()
    client.force_login(user_a)
    for name in ("portal:home", "api_token", "password_change"):
        assert assert_csp_clean(client.get(reverse(name)), f"{name} (partner user)")


# --- the admin and the API docs ------------------------------------------------------------------


ADMIN_CHANGELISTS = sorted(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist" for model in admin.site._registry)


def test_the_admin_index(admin_client):
    assert assert_csp_clean(admin_client.get(reverse("admin:index")), "the admin index")


@pytest.mark.parametrize("name", ADMIN_CHANGELISTS)
def test_admin_changelists(name, admin_client, objects_a):
    assert assert_csp_clean(admin_client.get(reverse(name)), name)


@pytest.mark.parametrize("model", [Partner, Tier], ids=lambda model: model.__name__)
def test_admin_change_and_add_forms(model, admin_client, objects_a):
    obj = model.objects.first()
    info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
    assert assert_csp_clean(admin_client.get(reverse(f"{info}_change", args=[obj.pk])), f"{info}_change")
    assert assert_csp_clean(admin_client.get(reverse(f"{info}_add")), f"{info}_add")


def test_the_tier_swatch_in_the_admin_is_a_data_attribute(admin_client, objects_a):
    tier = objects_a["partner"].tier
    html = admin_client.get(reverse("admin:partners_tier_changelist")).content.decode()
    assert f'class="tier-swatch" data-bg-colour="{tier.colour}"' in html
    assert "js/data-styles.js" in html


def test_the_api_docs_load_their_script_from_our_origin(manager_client):
    page = manager_client.get(reverse("api_docs"))
    assert assert_csp_clean(page, "/api/docs/")
    assert b"/api/docs/?script=" in page.content
    script = manager_client.get(reverse("api_docs"), {"script": ""})
    assert script.status_code == 200
    assert script.headers["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content
    assert not policy_problems(script)
