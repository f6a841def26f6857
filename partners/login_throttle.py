"""Login throttling on three counters (django-axes): user name and address, user name, address.

django-axes locks a request when any of its lockout parameters reaches AXES_FAILURE_LIMIT. One limit
does not fit all three: five wrong passwords for one account from one address is a typo streak, but
the same account guessed from many addresses (a distributed attack) or many accounts guessed from one
address (password spraying) need counters of their own with higher limits. The handler measures each
counter against its own limit, and a successful sign-in resets only the counters of that account, so
a sprayer who owns one account cannot wipe the counter of its address.
"""

from axes.handlers.database import AxesDatabaseHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from .auth import throttle_username


def _limits():
    """Failures allowed per lockout parameter, in the order of AXES_LOCKOUT_PARAMETERS."""
    return [settings.AXES_FAILURE_LIMIT, settings.PARTNERLOOP_LOGIN_USER_FAILURE_LIMIT, settings.PARTNERLOOP_LOGIN_ADDRESS_FAILURE_LIMIT]


def failure_pressure(counts):
    """The failures of each lockout parameter, measured against AXES_FAILURE_LIMIT (the one limit
    django-axes knows): a count reaches it exactly when it reaches its own parameter's limit."""
    base = settings.AXES_FAILURE_LIMIT
    return max((count * base) // limit for count, limit in zip(counts, _limits(), strict=True))


def user_locked_out(user):
    """True while failed sign-ins keep `user` locked: on one address, or across all (one query)."""
    totals = list(
        AccessAttempt.objects.filter(
            username=user.get_username().lower(), attempt_time__gte=timezone.now() - settings.AXES_COOLOFF_TIME
        )
        .values("ip_address")
        .annotate(total=Sum("failures_since_start"))
        .values_list("total", flat=True)
    )
    return bool(totals) and (
        max(totals) >= settings.AXES_FAILURE_LIMIT or sum(totals) >= settings.PARTNERLOOP_LOGIN_USER_FAILURE_LIMIT
    )


class LoginThrottleHandler(AxesDatabaseHandler):
    def get_failures(self, request, credentials=None) -> int:
        counts = [
            attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        ]
        return failure_pressure(counts)

    def user_logged_in(self, sender, request, user, **kwargs):
        super().user_logged_in(sender, request, user, **kwargs)
        AccessAttempt.objects.filter(username=throttle_username(user.get_username())).delete()
