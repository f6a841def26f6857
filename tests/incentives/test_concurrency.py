"""Many simultaneous redemptions against one balance and one low-stock reward, on PostgreSQL.

Each thread has its own database connection and transaction; the locks, conditional UPDATEs and
CHECK constraints must keep the balance >= 0 and the stock >= 0 whatever the interleaving.
"""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django_scopes import scopes_disabled

from incentives import selectors, services
from incentives.models import PointsEntry, Redemption, Reward
from tests.partners.factories import MembershipFactory, PartnerFactory

from .factories import RewardFactory

THREADS = 16


@pytest.mark.django_db(transaction=True)
def test_concurrent_redemptions_never_overspend_or_oversell():
    assert connection.vendor == "postgresql"
    partner = PartnerFactory()
    other = PartnerFactory()
    user = MembershipFactory(partner=partner).user
    other_user = MembershipFactory(partner=other).user
    services.points_earn(partner=partner, points=1000)  # enough for 10 at 100
    services.points_earn(partner=other, points=1000)
    cheap = RewardFactory(points_cost=100, stock=None)
    scarce = RewardFactory(points_cost=100, stock=3)
    barrier = threading.Barrier(THREADS * 2)
    outcomes = []

    def redeem(buyer, member, reward):
        try:
            with scopes_disabled():
                barrier.wait()
                try:
                    services.redemption_request(partner=buyer, user=member, reward=reward)
                    outcomes.append("ok")
                except ValidationError as error:
                    outcomes.append(error.messages[0])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=redeem, args=(partner, user, cheap)) for _ in range(THREADS)]
    threads += [threading.Thread(target=redeem, args=(other, other_user, scarce)) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    with scopes_disabled():
        assert selectors.points_balance(partner=partner) == 0
        assert Redemption.objects.filter(partner=partner).count() == 10
        assert selectors.points_balance(partner=other) == 700
        assert Redemption.objects.filter(partner=other).count() == 3
        assert Reward.objects.get(pk=scarce.pk).stock == 0
        for buyer in (partner, other):
            lots = sum(PointsEntry.objects.filter(partner=buyer).values_list("remaining", flat=True))
            assert lots == selectors.points_balance(partner=buyer)
    assert outcomes.count("ok") == 13
    assert outcomes.count(f"“{scarce.name}” is out of stock.") == THREADS - 3
    assert outcomes.count("Not enough points: 100 needed, 0 available.") == THREADS - 10
