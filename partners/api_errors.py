"""Error answers of the whole API in JSON, also where Django (not DRF) answers.

DRF turns its own exceptions into JSON, but Django's body limits (RequestDataTooBig, too many
fields) and a path that no route matches reach Django's HTML 400 and 404 pages. These handlers give
the documented JSON shape (`{"detail": "..."}`) under /api/ and leave the HTML pages elsewhere.
"""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.utils.translation import gettext_lazy as _
from django.views import defaults
from rest_framework import renderers
from rest_framework.response import Response
from rest_framework.views import exception_handler

from .parsers import too_large


def api_exception_handler(exc, context):
    """DRF's handler, plus Django's own body limits answered as JSON (DRF leaves them to an HTML page)."""
    response = _django_body_error(exc, context.get("view"))
    if response is not None:
        return response
    return exception_handler(exc, context)


def _django_body_error(exc, view):
    if isinstance(exc, RequestDataTooBig):
        error = too_large(view, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        return Response({"detail": error.detail}, status=error.status_code)
    if isinstance(exc, (TooManyFieldsSent, TooManyFilesSent)):
        return Response({"detail": str(exc)}, status=400)
    return None


def api_bad_request(request, exception=None):
    """The project's 400 page: JSON under /api/ (a body refused before any API view ran), HTML elsewhere."""
    if request.path.startswith("/api/"):
        response = _django_body_error(exception, None) or Response({"detail": _("Bad request.")}, status=400)
        return _rendered(response, request)
    return defaults.bad_request(request, exception)


def api_not_found(request, exception=None):
    """The project's 404 page: JSON under /api/ (a path no route matches, such as /api/v1/tiers/0.5/), HTML elsewhere."""
    if request.path.startswith("/api/"):
        return _rendered(Response({"detail": _("Not found.")}, status=404), request)
    return defaults.page_not_found(request, exception)


def _rendered(response, request):
    response.accepted_renderer = renderers.JSONRenderer()
    response.accepted_media_type = "application/json"
    response.renderer_context = {"request": request}
    return response.render()
