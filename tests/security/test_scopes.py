"""The fail-closed tenancy mechanism itself (django-scopes, see `partners.tenancy`).

The autouse fixture in `tests/conftest.py` disables scopes in the test body, so these tests
re-enable them explicitly: the `no_scope` fixture puts the process back in the state of a job or
shell that never entered a scope, and `scope()` with no partner is "a scope is active but nobody
said which partner". Both must refuse to read.
"""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import models
from django_scopes import ScopeError, get_scope, scope, scopes_disabled
from django_scopes.state import state

from partners.models import Contact, Interaction, Membership, Partner, PartnerStatusChange
from partners.tenancy import scope_for
from tests.partners.factories import ContactFactory, InteractionFactory, ManagerFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

SCOPED_MODELS = [Partner, Contact, Membership, Interaction, PartnerStatusChange]


@pytest.fixture
def two_tenants(partner_a, partner_b, admin_a, admin_b):
    """Rows of every partner-owned model for both partners (status changes come from the service)."""
    for partner in (partner_a, partner_b):
        ContactFactory(partner=partner)
        InteractionFactory(partner=partner)
        PartnerStatusChange.objects.create(partner=partner, from_status="onboarding", to_status="active")
    return partner_a, partner_b


def _ids(model, partner_field):
    return set(model.objects.values_list(partner_field, flat=True))


PARTNER_FIELD = {
    Partner: "id",
    Contact: "partner_id",
    Membership: "partner_id",
    Interaction: "partner_id",
    PartnerStatusChange: "partner_id",
}


@pytest.fixture
def no_scope():
    """Leave the test body's `scopes_disabled()`: as if no scope was ever entered (a job, a shell)."""
    token = state.set(None)
    yield
    state.reset(token)


READS = {
    "iterate": lambda qs: list(qs.all()),
    "count": lambda qs: qs.count(),
    "len": lambda qs: len(qs.select_related()),
    "bool": lambda qs: bool(qs.select_related()),
    "get": lambda qs: qs.get(pk=1),
    "first": lambda qs: qs.first(),
    "filter": lambda qs: list(qs.filter(pk__gt=0)),
    "exclude-iterate": lambda qs: list(qs.exclude(pk=0)),
    "exists": lambda qs: qs.exists(),
    "exclude-exists": lambda qs: qs.exclude(pk=0).exists(),
    "values_list": lambda qs: list(qs.values_list("pk", flat=True)),
    "aggregate": lambda qs: qs.aggregate(n=models.Count("pk")),
    "in_bulk": lambda qs: qs.in_bulk([1, 2]),
    "slice": lambda qs: qs.select_related()[:1],
    "async-iterate": lambda qs: qs.select_related().__aiter__(),
    "update": lambda qs: qs.update(pk=models.F("pk")),
    "delete": lambda qs: qs.select_related().delete(),
}


@pytest.mark.parametrize("read", READS, ids=str)
@pytest.mark.parametrize("model", SCOPED_MODELS, ids=lambda m: m.__name__)
def test_every_read_outside_any_scope_raises(model, read, two_tenants, no_scope):
    assert get_scope() == {}
    with pytest.raises(ScopeError):
        READS[read](model.objects)


@pytest.mark.parametrize("model", SCOPED_MODELS, ids=lambda m: m.__name__)
def test_a_scope_without_a_partner_raises(model, two_tenants):
    with scope():  # scopes enabled, but no partner given: a forgotten filter
        with pytest.raises(ScopeError):
            list(model.objects.all())
        with pytest.raises(ScopeError):
            model.objects.count()
        with pytest.raises(ScopeError):
            model.objects.exists()


@pytest.mark.parametrize("model", SCOPED_MODELS, ids=lambda m: m.__name__)
def test_with_scope_override_without_partner_raises(model, two_tenants):
    with pytest.raises(ScopeError):
        model.objects.with_scope().count()


NAMED_READS = {
    "Contact.for_partner": lambda a: list(Contact.objects.for_partner(a)),
    "Membership.for_partner": lambda a: list(Membership.objects.for_partner(a)),
    "Interaction.timeline": lambda a: list(Interaction.objects.for_partner(a).timeline()),
    "Interaction.visible_to_partner": lambda a: list(Interaction.objects.visible_to_partner()),
    "Partner.for_partner": lambda a: list(Partner.objects.for_partner(a)),
    "Partner.with_list_relations": lambda a: list(Partner.objects.with_list_relations()),
}


@pytest.mark.parametrize("read", NAMED_READS, ids=str)
def test_named_queryset_methods_raise_scope_error_outside_a_scope(read, two_tenants, no_scope):
    """`for_partner()` and friends go through the same manager and fail the same way (not AttributeError)."""
    partner_a, _ = two_tenants
    with pytest.raises(ScopeError):
        NAMED_READS[read](partner_a)


def test_related_managers_are_scoped_too(two_tenants):
    partner_a, partner_b = two_tenants
    with scope(partner=[partner_a.id]):
        assert partner_a.contacts.count() == 1
        assert partner_b.contacts.count() == 0  # B's rows are invisible even through B's object


def test_creating_rows_needs_no_scope(partner_a, no_scope):
    """Writes are allowed (services create rows from jobs); only reads are scoped."""
    contact = Contact.objects.create(partner=partner_a, first_name="Nina", last_name="New")
    assert contact.pk


@pytest.mark.parametrize("model", SCOPED_MODELS, ids=lambda m: m.__name__)
def test_a_partner_scope_returns_only_that_partners_rows(model, two_tenants):
    partner_a, partner_b = two_tenants
    field = PARTNER_FIELD[model]
    with scopes_disabled():
        assert _ids(model, field) == {partner_a.id, partner_b.id}  # both tenants have rows
    with scope(partner=[partner_a.id]):
        assert _ids(model, field) == {partner_a.id}
        assert model.objects.count() == len(list(model.objects.all()))
    with scope(partner=[partner_b.id]):
        assert _ids(model, field) == {partner_b.id}


@pytest.mark.parametrize("model", SCOPED_MODELS, ids=lambda m: m.__name__)
def test_an_empty_scope_returns_nothing(model, two_tenants):
    with scope(partner=[]):
        assert model.objects.count() == 0
        assert list(model.objects.all()) == []


def test_a_scoped_get_of_another_partners_row_is_does_not_exist(two_tenants):
    partner_a, partner_b = two_tenants
    contact_b = Contact.objects.filter(partner=partner_b).get()
    with scope(partner=[partner_a.id]), pytest.raises(Contact.DoesNotExist):
        Contact.objects.get(pk=contact_b.pk)


def test_scope_for_anonymous_is_an_empty_scope(two_tenants):
    with scope_for(AnonymousUser()):
        assert get_scope() == {"_enabled": True, "partner": []}
        assert Partner.objects.count() == 0
        assert Contact.objects.count() == 0


def test_scope_for_a_user_without_membership_is_an_empty_scope(two_tenants):
    with scope_for(UserFactory()):
        assert get_scope()["partner"] == []
        assert Interaction.objects.count() == 0


def test_scope_for_a_staff_user_without_manager_rights_is_an_empty_scope(two_tenants):
    """is_staff alone is not enough: only channel managers (view_partner) run unscoped."""
    with scope_for(UserFactory(is_staff=True)):
        assert get_scope()["partner"] == []
        assert Partner.objects.count() == 0


def test_scope_for_a_partner_user_is_its_own_partner(two_tenants, admin_a):
    partner_a, _ = two_tenants
    with scope_for(admin_a):
        assert get_scope() == {"_enabled": True, "partner": [partner_a.id]}
        assert list(Partner.objects.all()) == [partner_a]
        assert set(Contact.objects.values_list("partner_id", flat=True)) == {partner_a.id}


def test_scope_for_a_deactivated_partner_user_is_empty(two_tenants, admin_a):
    admin_a.is_active = False
    admin_a.save()
    with scope_for(admin_a):
        assert Partner.objects.count() == 0


def test_scope_for_a_manager_disables_scopes(two_tenants):
    manager = ManagerFactory()
    with scope(), scope_for(manager):  # even from inside an enabled scope
        assert get_scope()["_enabled"] is False
        assert Partner.objects.count() == 2
        assert set(Contact.objects.values_list("partner_id", flat=True)) == {p.id for p in two_tenants}


def test_scope_for_a_superuser_disables_scopes(two_tenants, superuser):
    with scope(), scope_for(superuser):
        assert Membership.objects.count() == 2


def test_a_partner_user_never_gets_an_unfiltered_scope(partner_a):
    """django-scopes treats a `None` value as "no filter"; the scope must always be a list."""
    membership = MembershipFactory(partner=partner_a)
    with scope_for(membership.user):
        value = get_scope()["partner"]
    assert isinstance(value, list)
    assert value == [partner_a.id]
