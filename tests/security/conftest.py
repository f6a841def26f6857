"""Fixtures the security tests share: real objects of partner A, as built for the scope tests.

`objects_a` (test_tenancy: one of each kind of partner A's objects) and `ids_a` (test_route_coverage:
ids for the manager routes) are defined next to the tests they were written for; importing them
here lets test_csp.py walk the same pages with the same objects.
"""

from tests.security.test_route_coverage import ids_a  # noqa: F401
from tests.security.test_tenancy import objects_a  # noqa: F401
