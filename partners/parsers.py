"""The one JSON parser of the whole API, and what an oversized or malformed body answers.

DRF's own JSONParser makes the request read `request.body`, which raises Django's
RequestDataTooBig past DATA_UPLOAD_MAX_MEMORY_SIZE (an HTML 400 page, not JSON) and lets a body of
[[[[...]]]] raise RecursionError (a 500). This parser reads the stream itself up to a limit the view
may raise (`max_body_bytes`, the bulk import's follows its row limit) and answers both as JSON.
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.utils.translation import gettext_lazy as _
from django.views import defaults
from rest_framework import parsers, renderers
from rest_framework.exceptions import APIException, ParseError
from rest_framework.response import Response
from rest_framework.utils import json
from rest_framework.views import exception_handler


class PayloadTooLarge(APIException):
    status_code = 413
    default_detail = _("The request body is too large.")
    default_code = "too_large"


def body_limit(view):
    """The largest body `view` reads: its own `max_body_bytes()`, else Django's upload limit."""
    limit = getattr(view, "max_body_bytes", None)
    return limit() if callable(limit) else settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def too_large(view, limit):
    """The 413 for a body over `limit` bytes: it says the limit, in the view's own words if it has them."""
    message = getattr(view, "body_too_large_message", None)
    if message is None:
        return PayloadTooLarge(_("The request body is larger than the limit of %(size)s MB.") % {"size": format_megabytes(limit)})
    return PayloadTooLarge(message(limit))


def format_megabytes(size):
    return f"{size / 1024 / 1024:.1f}".rstrip("0").rstrip(".")


class SafeJSONParser(parsers.BaseParser):
    """JSON bodies for every endpoint: size-checked while reading, errors as a JSON 400 or 413.

    Deliberately not a subclass of DRF's JSONParser: DRF reads `request.body` for those first.
    """

    media_type = "application/json"
    renderer_class = renderers.JSONRenderer
    parse_float = float

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        if stream is None:
            return {}
        encoding = parsers.get_encoding(parser_context)
        view = parser_context.get("view")
        limit = body_limit(view)
        raw = stream.read(limit + 1)
        if len(raw) > limit:
            raise too_large(view, limit)
        try:
            return json.loads(raw.decode(encoding), parse_float=self.parse_float)
        except ValueError as error:  # UnicodeDecodeError included
            raise ParseError(_("JSON parse error - %(error)s") % {"error": error}) from error
        except RecursionError as error:  # [[[[...]]]] nested deeper than Python can parse
            raise ParseError(_("JSON parse error - the body is nested too deeply.")) from error


class ExactJSONParser(SafeJSONParser):
    """JSON in which a number with a fraction or an exponent is read as a Decimal, never as a float.

    A float would turn 12345678901234.5678 into 12345678901234.568; a Decimal keeps what was sent.
    Strings ("1234.5678") remain the recommended way to send amounts.
    """

    parse_float = Decimal


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


def _rendered(response, request):
    response.accepted_renderer = renderers.JSONRenderer()
    response.accepted_media_type = "application/json"
    response.renderer_context = {"request": request}
    return response.render()
