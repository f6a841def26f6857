"""Sign-in by user name or e-mail address, ignoring case, and the login throttle that counts the same way.

People type their address as they like: `User@Example.test `, `user@example.test` and the user name
are one account, for the backend and for django-axes alike. Otherwise each spelling would get its
own failure counter (five guesses per spelling) and a locked account would sign in with another.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed


def find_login_user(login):
    """The one user `login` names (user name or e-mail, any case, surrounding spaces ignored), or None.

    An exact user name wins over other matches; otherwise the match must be unambiguous.
    """
    User = get_user_model()
    login = (login or "").strip()
    if not login:
        return None
    candidates = list(User._default_manager.filter(Q(username__iexact=login) | Q(email__iexact=login)).order_by("pk")[:2])
    exact = [user for user in candidates if user.get_username() == login]
    return exact[0] if exact else (candidates[0] if len(candidates) == 1 else None)


def throttle_username(login):
    """The name login failures are counted under: the account's user name when `login` names one,
    else the typed text trimmed and lower-cased (so unknown names count alike in every spelling)."""
    user = find_login_user(login)
    return (user.get_username() if user else (login or "").strip()).lower()


def axes_username(request, credentials):
    """AXES_USERNAME_CALLABLE: the same normalisation for every failure, lockout check and reset."""
    credentials = credentials or {}
    login = credentials.get(get_user_model().USERNAME_FIELD) or credentials.get("username")
    if login is None and request is not None and hasattr(request, "POST"):
        login = request.POST.get("username")
    return throttle_username(login) if login is not None else None


class CaseInsensitiveModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        user = find_login_user(username)
        if user is None:
            get_user_model()().set_password(password)  # same work as a real check, so timing does not reveal unknown names
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None


class LockoutAwareTokenAuthentication(TokenAuthentication):
    """A token stops working while its user is locked out of signing in, like the password does."""

    def authenticate_credentials(self, key):
        from .login_throttle import user_locked_out

        user, token = super().authenticate_credentials(key)
        if user_locked_out(user):
            raise AuthenticationFailed(_("This account is locked after repeated failed sign-ins; try again later."))
        return user, token
