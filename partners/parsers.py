"""The one JSON parser of the whole API, and what an oversized or malformed body answers.

DRF's own JSONParser makes the request read `request.body`, which raises Django's
RequestDataTooBig past DATA_UPLOAD_MAX_MEMORY_SIZE (an HTML 400 page, not JSON) and lets a body of
[[[[...]]]] raise RecursionError (a 500). This parser reads the stream itself up to a limit the view
may raise (`max_body_bytes`, the bulk import's follows its row limit) and answers both as JSON.
"""

from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import parsers, renderers
from rest_framework.exceptions import APIException, ParseError
from rest_framework.utils import json


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

