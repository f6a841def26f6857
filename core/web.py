"""Web helpers every app's views share: pagination, service errors on forms, confirmation pages."""

from django.conf import settings
from django.core.paginator import Paginator
from django.shortcuts import render


def paginate(request, queryset, per_page=None):
    """A page of `queryset`; a missing, bad or out-of-range ?page= gives a valid page, never a 500."""
    return Paginator(queryset, per_page or settings.PARTNERLOOP_PAGE_SIZE).get_page(request.GET.get("page"))


def querystring_without_page(request):
    """The current filters as a query string for the pagination links (which add their own ?page=)."""
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def error_dict(error):
    """A service's ValidationError as {field or "__all__": [messages]}, whatever its shape."""
    if hasattr(error, "error_dict"):
        return error.message_dict
    return {"__all__": error.messages}


def add_service_error(form, error):
    """Show a service's ValidationError on `form`: beside a field the form has, otherwise on top.

    Form.add_error raises ValueError for a field the form does not have, which would be a 500.
    """
    for field, messages in error_dict(error).items():
        form.add_error(field if field in form.fields else None, messages)


def confirm(request, *, title, message, button, cancel_url, danger=False, details=None, status=200, form_token=None, error=None):
    """A confirmation page before a destructive or irreversible action; the form posts back to this URL.

    `form_token`: a one-time token for the form (see `partners.idempotency.form_token`), so a second
    click is answered "already submitted" instead of acting twice.
    """
    context = {
        "title": title,
        "message": message,
        "button": button,
        "cancel_url": cancel_url,
        "danger": danger,
        "details": details,
        "form_token": form_token,
        "error": error,
    }
    return render(request, "confirm.html", context, status=status)
