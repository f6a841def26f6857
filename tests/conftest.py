"""Personas and shared fixtures: a manager, two partner companies with an admin and a user each.

Partner B's users are the "other tenant" who must never see partner A's data.
"""

import uuid

import pytest
from django_scopes import scopes_disabled

from partners.models import MembershipRole
from tests.partners.factories import ManagerFactory, MembershipFactory, PartnerFactory, UserFactory

from .celery_worker import embedded_worker


@pytest.fixture(scope="session", autouse=True)
def _compiled_catalogues():
    """Pages are tested in nl/de too: compile the .po files the tree holds (cheap, pure Python)."""
    from django.core.management import call_command

    call_command("compile_locales", verbosity=0)


@pytest.fixture(autouse=True)
def _scopes_disabled_in_test_body():
    """Test code reads freely; requests made through the test client are scoped by the middleware."""
    with scopes_disabled():
        yield


@pytest.fixture
def manager_user(db):
    return ManagerFactory(first_name="Maria", last_name="Manager")


@pytest.fixture
def superuser(db):
    return UserFactory(username="root@example.test", is_staff=True, is_superuser=True)


@pytest.fixture
def partner_a(db):
    return PartnerFactory(name="Alpha Resellers B.V.")


@pytest.fixture
def partner_b(db):
    return PartnerFactory(name="Beta Distribution GmbH", country="DE")


@pytest.fixture
def admin_a(partner_a):
    return MembershipFactory(partner=partner_a, role=MembershipRole.ADMIN, user__username="admin@alpha.test").user


@pytest.fixture
def user_a(partner_a):
    return MembershipFactory(partner=partner_a, role=MembershipRole.USER, user__username="user@alpha.test").user


@pytest.fixture
def admin_b(partner_b):
    return MembershipFactory(partner=partner_b, role=MembershipRole.ADMIN, user__username="admin@beta.test").user


@pytest.fixture
def signed_in_client(client, db):
    """Any signed-in user: the API schema and its UI are not for anonymous visitors."""
    client.force_login(UserFactory(username="reader@example.test"))
    return client


@pytest.fixture
def manager_client(client, manager_user):
    client.force_login(manager_user)
    return client


@pytest.fixture
def client_a(client, admin_a):
    client.force_login(admin_a)
    return client


@pytest.fixture
def client_b(client, admin_b):
    client.force_login(admin_b)
    return client


@pytest.fixture
def redis_worker():
    """A real Celery worker on the test Redis, on a queue of this test's own."""
    with embedded_worker(f"test-{uuid.uuid4().hex}") as worker:
        yield worker
