"""Idempotency: a repeated POST gets the first answer and writes nothing.

One table, `IdempotencyKey` (keys are per user), behind two doors:

- API: `@idempotent` on a view method that writes money or points. A POST with an `Idempotency-Key`
  header runs once; a replay within `REPLAY_WINDOW` (24 hours) with the same method, path and body
  gets the stored status and body with `Idempotent-Replayed: true` and writes nothing; the same key
  with another request answers 422. Any answer below 500 is stored. The key row is inserted in the
  same transaction as the write, so it commits with the write (or not at all, on a 5xx or an
  exception), and a concurrent duplicate waits on the unique index and then replays the committed
  answer. `two_phase=True` is for a write that must run outside an outer transaction (the bulk
  sales import, which records its own failures): the key is committed first as "in progress" (a
  concurrent duplicate answers 409 with Retry-After), then completed with the answer, or deleted
  when the request fails. Without the header the view runs as before.
- Forms: `form_token(request)` issues a signed one-time token for a hidden field (bound to the user
  and the form's action, valid `FORM_TOKEN_MAX_AGE`); `submit_once(request, write)` consumes it
  through the same table (key ``form:<nonce>``), so a double click writes once and the second POST
  is redirected to where the first one went. A missing, forged or expired token raises
  `FormTokenError` and nothing runs.

Rows older than the window are ignored (a new request replaces them) and purged daily
(`purge_expired`, beat schedule "Partners: purge idempotency keys").
"""

import functools
import hashlib
import json
import secrets
from datetime import timedelta
from decimal import Decimal

from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import Http404
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.encoders import JSONEncoder

from .models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
REPLAY_WINDOW = timedelta(hours=24)
# A two-phase claim still "in progress" after this lost its request (a killed worker): it may be taken again.
ABANDONED_AFTER = timedelta(minutes=10)
RETRY_AFTER_SECONDS = 5

FORM_TOKEN_FIELD = "form_token"
# At most the replay window: a consumed token is then always caught by its live key row.
FORM_TOKEN_MAX_AGE = timedelta(hours=12)
_FORM_TOKEN_SALT = "partners.idempotency.form-token"
assert FORM_TOKEN_MAX_AGE <= REPLAY_WINDOW


# --- the key table --------------------------------------------------------------------------------


class _Encoder(JSONEncoder):
    """DRF's encoder, but a Decimal keeps its digits (DRF turns it into a float)."""

    def default(self, obj):
        if isinstance(obj, Decimal):
            return str(obj)
        return super().default(obj)


def fingerprint(method, path, body=None):
    """SHA-256 of the method, the path (with its query string) and the parsed body.

    The parsed body, not the raw bytes: the bulk import's body may be larger than Django lets a view
    read as `request.body`, and it is parsed (with its own size limit) anyway.
    """
    if hasattr(body, "lists"):  # a QueryDict: every value of every key
        body = dict(body.lists())
    payload = json.dumps([method.upper(), path, body], cls=_Encoder, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _is_stale(row, now):
    return row.created_at <= now - REPLAY_WINDOW or (row.status_code is None and row.created_at <= now - ABANDONED_AFTER)


def _claim(*, user_id, key, method, path, fingerprint):
    """Inside a transaction: take `key` for this request, or return the live row that holds it.

    Returns (row, taken). A new key is inserted (a concurrent insert of the same key waits on the
    unique index until the first transaction ends); a stale row (older than the window, or an
    abandoned claim) is renewed for this request; a live row is returned locked, for `_answer`.
    """
    fields = {"method": method, "path": path, "fingerprint": fingerprint, "status_code": None, "response_body": None}
    while True:
        now = timezone.now()
        try:
            with transaction.atomic():
                return IdempotencyKey.objects.create(user_id=user_id, key=key, created_at=now, **fields), True
        except IntegrityError:
            pass
        row = IdempotencyKey.objects.select_for_update().filter(user_id=user_id, key=key).first()
        if row is None:  # deleted in between (a failed two-phase request, the purge): try again
            continue
        if not _is_stale(row, now):
            return row, False
        for name, value in fields.items():
            setattr(row, name, value)
        row.created_at = now
        row.save()
        return row, True


def _complete(row, *, status_code, body):
    """Store the answer on the key row we hold (unless it was renewed by another request meanwhile)."""
    IdempotencyKey.objects.filter(pk=row.pk, created_at=row.created_at).update(status_code=status_code, response_body=body)


def _release(row):
    """Give the key up: the request failed, so a retry with the same key runs again."""
    IdempotencyKey.objects.filter(pk=row.pk, created_at=row.created_at, status_code__isnull=True).delete()


def purge_expired(*, now=None) -> int:
    """Delete the key rows older than the replay window (they are ignored already); returns how many."""
    now = now or timezone.now()
    deleted, _by_model = IdempotencyKey.objects.filter(created_at__lte=now - REPLAY_WINDOW).delete()
    return deleted


# --- API: the Idempotency-Key header ----------------------------------------------------------------

KEY_INVALID = gettext_lazy("The Idempotency-Key header must be 1 to %(max)s characters long.")
KEY_REUSED = gettext_lazy(
    "This Idempotency-Key was already used for another request (another body, path or method). Send a new key for a new request."
)
KEY_IN_PROGRESS = gettext_lazy("A request with this Idempotency-Key is still being processed. Retry in a few seconds.")


class IdempotencyErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name=HEADER,
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Optional, up to 255 characters (a UUID is a good choice), unique per request you mean to make once. A retry "
        "with the same key, method, path and body within 24 hours gets the first answer (status and body, with the "
        "header `Idempotent-Replayed: true`) and writes nothing. Keys are per user. An empty or longer key answers 400."
    ),
)


def _stored_body(response):
    data = getattr(response, "data", None)
    return None if data is None else json.loads(json.dumps(data, cls=_Encoder))


def _answer(row, fingerprint):
    """The answer to a request whose key is held by a live row."""
    if row.fingerprint != fingerprint:
        return Response({"detail": str(KEY_REUSED)}, status=422)
    if row.status_code is None:
        return Response({"detail": str(KEY_IN_PROGRESS)}, status=409, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    return Response(row.response_body, status=row.status_code, headers={REPLAYED_HEADER: "true"})


def _run_atomic(*, run, **claim):
    with transaction.atomic():
        row, taken = _claim(**claim)
        if not taken:
            return _answer(row, claim["fingerprint"])
        response = run()
        if response.status_code >= 500:
            transaction.set_rollback(True)  # the key goes with the write
            return response
        _complete(row, status_code=response.status_code, body=_stored_body(response))
        return response


def _run_two_phase(*, run, **claim):
    with transaction.atomic():
        row, taken = _claim(**claim)
        if not taken:
            return _answer(row, claim["fingerprint"])
    # The claim is committed: a concurrent duplicate now answers 409 instead of running.
    try:
        response = run()
    except BaseException:
        _release(row)
        raise
    if response.status_code >= 500:
        _release(row)
    else:
        _complete(row, status_code=response.status_code, body=_stored_body(response))
    return response


def _respond(view, handler, request, *args, **kwargs):
    """Run the view method, with DRF's answer to the errors it raises (a 400, a 404...) as a response to store."""
    try:
        return handler(view, request, *args, **kwargs)
    except (APIException, Http404, PermissionDenied) as error:
        return view.handle_exception(error)


def _document(view_method, *, two_phase):
    """Add the header and the 422 (and 409) answers to the operation's OpenAPI schema, keeping the rest."""
    extra = {
        422: OpenApiResponse(IdempotencyErrorSerializer, description="The Idempotency-Key was already used for another request."),
    }
    if two_phase:
        extra[409] = OpenApiResponse(
            IdempotencyErrorSerializer,
            description="A request with this Idempotency-Key is still being processed; retry after the seconds in Retry-After.",
        )
    kwargs = dict(getattr(view_method, "kwargs", None) or {})
    base = kwargs.get("schema") or api_settings.DEFAULT_SCHEMA_CLASS

    class IdempotentSchema(base):
        def get_override_parameters(self):
            return [*super().get_override_parameters(), IDEMPOTENCY_KEY_PARAMETER]

        def get_response_serializers(self):
            responses = super().get_response_serializers()
            return {**responses, **extra} if isinstance(responses, dict) else responses

    kwargs["schema"] = IdempotentSchema
    view_method.kwargs = kwargs


def idempotent(handler=None, *, two_phase=False):
    """Make a DRF view method (`create`, `post`, an `@action`) honour the Idempotency-Key header.

    Put it above `@extend_schema` and `@action`: it documents the header on the operation. The
    method runs after authentication, permissions and throttling, so a replay is checked against
    them too. `two_phase`: see the module docstring.
    """

    def decorate(handler):
        @functools.wraps(handler)
        def wrapper(view, request, *args, **kwargs):
            key = request.headers.get(HEADER)
            if key is None or not request.user.is_authenticated:
                return handler(view, request, *args, **kwargs)
            key = key.strip()
            if not key or len(key) > MAX_KEY_LENGTH:
                return Response({"detail": KEY_INVALID % {"max": MAX_KEY_LENGTH}}, status=400)
            path = request.get_full_path()
            runner = _run_two_phase if two_phase else _run_atomic
            return runner(
                run=functools.partial(_respond, view, handler, request, *args, **kwargs),
                user_id=request.user.pk,
                key=key,
                method=request.method,
                path=path,
                fingerprint=fingerprint(request.method, path, request.data),
            )

        _document(wrapper, two_phase=two_phase)
        return wrapper

    return decorate(handler) if handler is not None else decorate


# --- forms: one-time tokens -------------------------------------------------------------------------


class FormTokenError(Exception):
    """The form's one-time token is missing, forged, for another user or form, or expired; nothing was done."""


def issue_form_token(*, user, action) -> str:
    """A signed one-time token for a form of `user` that posts to the path `action`."""
    return signing.dumps({"u": user.pk, "a": action, "n": secrets.token_urlsafe(18)}, salt=_FORM_TOKEN_SALT)


def form_token(request, action=None) -> str:
    """The token for a hidden `form_token` field of a form rendered now, posting to `action` (default: this page)."""
    return issue_form_token(user=request.user, action=action or request.path)


def _form_nonce(request):
    token = request.POST.get(FORM_TOKEN_FIELD, "")
    invalid = _("This form could not be verified, so nothing was done. Please check and confirm again.")
    if not token:
        raise FormTokenError(invalid)
    try:
        data = signing.loads(token, salt=_FORM_TOKEN_SALT, max_age=FORM_TOKEN_MAX_AGE)
    except signing.SignatureExpired as error:
        raise FormTokenError(_("This form has expired, so nothing was done. Please check and confirm again.")) from error
    except signing.BadSignature as error:
        raise FormTokenError(invalid) from error
    if not isinstance(data, dict) or data.get("u") != request.user.pk or data.get("a") != request.path or not data.get("n"):
        raise FormTokenError(invalid)
    return str(data["n"])


def submit_once(request, write):
    """Run `write()` (which returns the view's answer) once per form token.

    The token is consumed in the same transaction as the write, and only when `write` answers with a
    redirect (the form was done); a refused form (a re-rendered page) keeps it usable. A second POST
    with a consumed token runs nothing: it is redirected to where the first went, with an info
    message. Raises FormTokenError (before anything runs) for a missing, forged or expired token.
    """
    nonce = _form_nonce(request)
    path = request.path
    with transaction.atomic():
        row, taken = _claim(user_id=request.user.pk, key=f"form:{nonce}", method="POST", path=path, fingerprint=fingerprint("POST", path))
        if not taken:
            messages.info(request, _("This form was already submitted; it was not done a second time."))
            return redirect((row.response_body or {}).get("location") or path)
        response = write()
        location = response.get("Location") if 300 <= response.status_code < 400 else None
        if location:
            _complete(row, status_code=response.status_code, body={"location": location})
        else:
            row.delete()
        return response
