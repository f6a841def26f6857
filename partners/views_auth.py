"""Password reset requests, throttled (django-ratelimit): per address and per network address.

Without a limit one address could be sent any number of reset e-mails (three in 0.1 s when probed)
and one client could walk through addresses. Past the per-address rate the page answers as usual and
sends nothing more, so it neither mails a victim repeatedly nor tells whether an address exists; past
the per-client rate the form says to try again later (429).
"""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpResponseRedirect
from django.utils.translation import gettext_lazy as _
from django_ratelimit.core import is_ratelimited


def _reset_address(group, request):
    return request.POST.get("email", "").strip().lower()


class ThrottledPasswordResetView(auth_views.PasswordResetView):
    def form_valid(self, form):
        request = self.request
        if is_ratelimited(
            request, group="password-reset-client", key="ip", rate=settings.PARTNERLOOP_PASSWORD_RESET_CLIENT_RATE, increment=True
        ):
            form.add_error(None, _("Too many password reset requests from your network; try again later."))
            return self.render_to_response(self.get_context_data(form=form), status=429)
        if is_ratelimited(
            request,
            group="password-reset-address",
            key=_reset_address,
            rate=settings.PARTNERLOOP_PASSWORD_RESET_ADDRESS_RATE,
            increment=True,
        ):
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)
