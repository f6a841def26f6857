"""What the incentive pages share: the program lookup, the one-time token on forms, number formats."""

from decimal import Decimal

from crispy_forms.layout import Hidden
from django.contrib import messages
from django.shortcuts import get_object_or_404
from django.utils.formats import number_format

from partners.idempotency import FORM_TOKEN_FIELD, form_token

from ..models import Program


def program_or_404(pk):
    return get_object_or_404(Program, pk=pk)


def with_form_token(request, form, action):
    """A crispy form posting to `action`, with a one-time token in a hidden field."""
    form.helper.form_action = action
    form.helper.add_input(Hidden(FORM_TOKEN_FIELD, form_token(request, action)))
    return form


def error_message(request, error):
    """A service's refusal as an error message on the next page (for buttons without a form)."""
    messages.error(request, " ".join(error.messages))


def money(value):
    return number_format(value, decimal_pos=2, force_grouping=True)


def percent(ratio):
    return None if ratio is None else (ratio * 100).quantize(Decimal("0.1"))
