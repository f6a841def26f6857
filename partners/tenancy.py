"""Tenancy: every partner-owned read runs inside a scope that fails closed.

The mechanism is django-scopes (as in pretix). Partner-owned models use a scoped manager whose
queries *raise* unless a scope is active, so a forgotten filter is an error in tests instead of a
leak in production.

- Web requests: `TenantScopeMiddleware` activates the scope for the logged-in user: a partner user
  sees only its own partner; a channel manager (or superuser) runs with scopes disabled; anybody
  else gets an empty scope.
- API requests authenticate inside DRF (token auth), after middleware, so `ScopedAPIMixin`
  re-derives the scope once DRF knows the user.
- Jobs, management commands and admin opt out explicitly with `scopes_disabled()`.

The scope value is always a list of partner ids, never ``None``: django-scopes treats ``None`` as
"no filter", which would fail open.
"""

from contextlib import ExitStack

from django.db import models
from django_scopes import ScopedManager, scope, scopes_disabled
from django_scopes.manager import DisabledQuerySet

MANAGER_GROUP = "Channel managers"


class _FailClosedQuerySet(DisabledQuerySet):
    """What a scoped manager returns outside a scope: every way of reading raises ScopeError.

    django-scopes' DisabledQuerySet leaves `exists()` and the async iterators open (they run the
    unfiltered SQL), so they are closed here too.
    """

    exists = aexists = explain = aiterator = DisabledQuerySet.error

    def __aiter__(self):
        self.error()


def partner_scoped_manager(queryset_class, partner_field):
    """A manager for a partner-owned model, filtered on `partner_field` by the active scope.

    Outside a scope the queryset keeps the named methods of `queryset_class` (`for_partner()`,
    `timeline()`...), so calling them raises ScopeError instead of an AttributeError.
    """
    disabled_class = type(f"FailClosed{queryset_class.__name__}", (_FailClosedQuerySet, queryset_class), {})
    base = type(ScopedManager(_manager_class=models.Manager.from_queryset(queryset_class), partner=partner_field))

    class PartnerScopedManager(base):
        def get_queryset(self):
            queryset = super().get_queryset()
            if isinstance(queryset, DisabledQuerySet):
                return disabled_class(self.model, using=self._db, missing_scopes=queryset.missing_scopes)
            return queryset

    return PartnerScopedManager()


def is_channel_manager(user):
    """Channel managers are active staff users allowed to view partners (superusers included)."""
    return bool(user and user.is_authenticated and user.is_active and user.is_staff and user.has_perm("partners.view_partner"))


def membership_for(user):
    """The active portal membership of `user`, or None (staff never act as partner users)."""
    from .models import Membership

    if not (user and user.is_authenticated and user.is_active) or user.is_staff:
        return None
    return Membership.objects.with_scopes_disabled().select_related("partner").filter(user=user).first()


def _scope(*, is_manager, membership):
    if is_manager:
        return scopes_disabled()
    return scope(partner=[membership.partner_id] if membership else [])


def scope_for(user):
    """The context manager that scopes every query made on behalf of `user`."""
    manager = is_channel_manager(user)
    return _scope(is_manager=manager, membership=None if manager else membership_for(user))


def attach_tenant(request, user):
    """Remember on the request who is acting, and return the scope of exactly that membership.

    The scope is derived from the same membership row as `request.partner` (one lookup, so the
    two can never disagree).
    """
    membership = membership_for(user)
    request.membership = membership
    request.partner = membership.partner if membership else None
    request.is_channel_manager = is_channel_manager(user)
    return _scope(is_manager=request.is_channel_manager, membership=membership)


class TenantScopeMiddleware:
    """Runs every request inside the scope of its user (see module docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with attach_tenant(request, request.user):
            return self.get_response(request)


class ScopedAPIMixin:
    """DRF views: re-scope once DRF has authenticated the request (token users included).

    The scope ends in `finalize_response`, and also when the view raises an error DRF does not
    handle (a 500), where DRF skips `finalize_response`: left open, the scope's context manager
    would be finalised by the garbage collector at some later moment, setting that moment's scope
    back to this request's (another user's request, on the same worker).
    """

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self._scope_stack = ExitStack()
        self._scope_stack.enter_context(attach_tenant(request, request.user))

    def _end_scope(self):
        stack = getattr(self, "_scope_stack", None)
        if stack is not None:
            self._scope_stack = None
            stack.close()

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            self._end_scope()

    def finalize_response(self, request, response, *args, **kwargs):
        self._end_scope()
        return super().finalize_response(request, response, *args, **kwargs)
