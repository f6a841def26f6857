"""Sign-in by user name or e-mail address, ignoring case: people type their address as they like."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import Q


class CaseInsensitiveModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        User = get_user_model()
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if username is None or password is None:
            return None
        username = username.strip()
        candidates = list(User._default_manager.filter(Q(username__iexact=username) | Q(email__iexact=username)).order_by("pk")[:2])
        exact = [user for user in candidates if user.get_username() == username]
        user = exact[0] if exact else (candidates[0] if len(candidates) == 1 else None)
        if user is None:
            User().set_password(password)  # same work as a real check, so timing does not reveal unknown names
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
