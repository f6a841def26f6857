"""The Idempotency-Key mechanism (partners/idempotency.py), seen through the bulk sales import.

The bulk import uses the two-phase variant (the key is committed as "in progress" first, because the
import records its own failures and must not run inside an outer transaction): a concurrent duplicate
answers 409, a failed call gives the key up. The redemption and payout endpoints (one transaction
with the write) are tested in tests/incentives/test_idempotency.py.
"""

import threading
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth.models import Permission
from django.db import connections
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.schedules import ensure_schedules
from partners import tasks
from partners.idempotency import REPLAY_WINDOW, fingerprint
from partners.models import IdempotencyKey
from partners.schedules import SCHEDULES
from sales.imports import jobs
from sales.models import ImportJob, ImportStatus, Sale
from tests.partners.factories import ManagerFactory, PartnerFactory

pytestmark = pytest.mark.django_db

BULK = "/api/v1/sales/bulk/"
KEY = "9f1c2a4e-bulk-0001"


def _importer(**fields):
    user = ManagerFactory(**fields)
    user.user_permissions.add(Permission.objects.get(content_type__app_label="sales", codename="add_importjob"))
    return user


def token_client(user):
    token, _ = Token.objects.get_or_create(user=user)
    return APIClient(HTTP_AUTHORIZATION=f"Token {token.key}")


@pytest.fixture
def importer(db):
    return _importer(username="importer@vendor.test")


@pytest.fixture
def api(importer):
    return token_client(importer)


def _rows(partner, *external_ids, amount="100.00"):
    return [
        {"external_id": external_id, "partner_external_id": partner.external_id, "invoice_date": "2024-01-31", "amount": amount}
        for external_id in external_ids
    ]


def _bulk(client, rows, key=KEY, **options):
    body = {"rows": rows, **({"options": options} if options else {})}
    headers = {} if key is None else {"Idempotency-Key": key}
    return client.post(BULK, body, format="json", headers=headers)


def _age(key, by):
    IdempotencyKey.objects.filter(key=key).update(created_at=timezone.now() - by)


class TestReplay:
    def test_a_replay_returns_the_first_answer_and_imports_nothing(self, api, partner_a):
        first = _bulk(api, _rows(partner_a, "INV-1", "INV-2"))
        assert first.status_code == 200, first.content
        assert first.json()["created"] == 2
        assert "Idempotent-Replayed" not in first

        replay = _bulk(api, _rows(partner_a, "INV-1", "INV-2"))

        assert replay.status_code == 200
        assert replay.json() == first.json()  # same job id, "created": 2 (a second run would say "unchanged")
        assert replay["Idempotent-Replayed"] == "true"
        assert ImportJob.objects.count() == 1
        assert Sale.objects.count() == 2

    def test_a_rejected_call_is_replayed_as_rejected(self, api, partner_a):
        bad = [{**_rows(partner_a, "INV-1")[0], "partner_external_id": "NOBODY"}]
        first = _bulk(api, bad)
        assert first.status_code == 400
        replay = _bulk(api, bad)
        assert (replay.status_code, replay.json()) == (400, first.json())
        assert replay["Idempotent-Replayed"] == "true"
        assert ImportJob.objects.count() == 1

    def test_without_the_header_every_call_runs_as_before(self, api, partner_a):
        assert _bulk(api, _rows(partner_a, "INV-1"), key=None).json()["created"] == 1
        again = _bulk(api, _rows(partner_a, "INV-1"), key=None)
        assert (again.json()["created"], again.json()["unchanged"]) == (0, 1)
        assert "Idempotent-Replayed" not in again
        assert ImportJob.objects.count() == 2
        assert not IdempotencyKey.objects.exists()

    def test_after_24_hours_the_key_is_ignored_and_the_call_runs_again(self, api, partner_a):
        first = _bulk(api, _rows(partner_a, "INV-1"))
        _age(KEY, REPLAY_WINDOW + timedelta(minutes=1))

        again = _bulk(api, _rows(partner_a, "INV-1"))

        assert again.status_code == 200
        assert "Idempotent-Replayed" not in again
        assert again.json()["job"] != first.json()["job"]
        assert ImportJob.objects.count() == 2
        assert IdempotencyKey.objects.get().created_at > timezone.now() - timedelta(minutes=1)  # renewed, not duplicated

    def test_the_same_key_with_another_body_is_refused_with_422(self, api, partner_a):
        _bulk(api, _rows(partner_a, "INV-1"))

        other = _bulk(api, _rows(partner_a, "INV-9"))

        assert other.status_code == 422
        assert "already used for another request" in other.json()["detail"]
        assert ImportJob.objects.count() == 1
        assert not Sale.objects.filter(external_id="INV-9").exists()

    def test_the_same_key_with_other_options_is_another_request(self, api, partner_a):
        _bulk(api, _rows(partner_a, "INV-1"), dry_run=True)
        assert _bulk(api, _rows(partner_a, "INV-1")).status_code == 422
        assert not Sale.objects.exists()


class TestHeader:
    @pytest.mark.parametrize("key", ["", "   ", "k" * 256])
    def test_an_empty_or_too_long_key_is_a_400_naming_the_header(self, api, partner_a, key):
        response = _bulk(api, _rows(partner_a, "INV-1"), key=key)
        assert response.status_code == 400
        assert response.json() == {"detail": "The Idempotency-Key header must be 1 to 255 characters long."}
        assert not ImportJob.objects.exists()
        assert not IdempotencyKey.objects.exists()

    def test_a_key_of_255_characters_is_taken(self, api, partner_a):
        assert _bulk(api, _rows(partner_a, "INV-1"), key="k" * 255).status_code == 200
        assert IdempotencyKey.objects.get().key == "k" * 255

    def test_a_refused_caller_stores_nothing(self, partner_a, user_a):
        response = _bulk(token_client(user_a), _rows(partner_a, "INV-1"))
        assert response.status_code == 403
        assert not IdempotencyKey.objects.exists()


class TestPerUser:
    def test_another_user_with_the_same_key_gets_its_own_import(self, api, partner_a, partner_b):
        first = _bulk(api, _rows(partner_a, "INV-A"))
        other_api = token_client(_importer(username="other-importer@vendor.test"))

        theirs = _bulk(other_api, _rows(partner_b, "INV-B"))

        assert theirs.status_code == 200
        assert "Idempotent-Replayed" not in theirs
        assert theirs.json()["job"] != first.json()["job"]
        assert Sale.objects.get(external_id="INV-B").partner == partner_b
        assert IdempotencyKey.objects.filter(key=KEY).count() == 2
        assert _bulk(api, _rows(partner_a, "INV-A")).json() == first.json()  # the first user's answer is untouched


class TestTwoPhase:
    def test_a_duplicate_while_the_first_is_running_answers_409(self, api, importer, partner_a):
        body = {"rows": _rows(partner_a, "INV-1")}
        IdempotencyKey.objects.create(
            user=importer, key=KEY, method="POST", path=BULK, fingerprint=fingerprint("POST", BULK, body), status_code=None
        )

        response = api.post(BULK, body, format="json", headers={"Idempotency-Key": KEY})

        assert response.status_code == 409
        assert "still being processed" in response.json()["detail"]
        assert int(response["Retry-After"]) > 0
        assert not ImportJob.objects.exists()

    def test_a_claim_abandoned_for_10_minutes_is_taken_over(self, api, importer, partner_a):
        body = {"rows": _rows(partner_a, "INV-1")}
        IdempotencyKey.objects.create(
            user=importer, key=KEY, method="POST", path=BULK, fingerprint=fingerprint("POST", BULK, body), status_code=None
        )
        _age(KEY, timedelta(minutes=11))

        response = api.post(BULK, body, format="json", headers={"Idempotency-Key": KEY})

        assert response.status_code == 200
        assert Sale.objects.count() == 1
        assert IdempotencyKey.objects.get().status_code == 200

    def test_a_failed_import_is_still_recorded_and_gives_the_key_up(self, importer, partner_a):
        client = APIClient(raise_request_exception=False)
        client.force_authenticate(importer)
        with mock.patch.object(jobs, "import_file", side_effect=RuntimeError("boom")):
            assert _bulk(client, _rows(partner_a, "INV-1")).status_code == 500
        assert ImportJob.objects.get().status == ImportStatus.FAILED  # the import's own failure record survives
        assert not IdempotencyKey.objects.exists()

        retry = _bulk(client, _rows(partner_a, "INV-1"))

        assert retry.status_code == 200
        assert "Idempotent-Replayed" not in retry
        assert Sale.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_import_once():
    partner = PartnerFactory(external_id="P-CONC")
    user = _importer(username="concurrent@vendor.test")
    token = Token.objects.create(user=user)
    barrier = threading.Barrier(4)
    answers = []

    def send():
        try:
            client = APIClient(HTTP_AUTHORIZATION=f"Token {token.key}")
            barrier.wait()
            response = _bulk(client, _rows(partner, "INV-1", "INV-2"))
            answers.append((response.status_code, response.json()))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert ImportJob.objects.count() == 1
    assert Sale.objects.count() == 2
    job = ImportJob.objects.get().pk
    assert len(answers) == 4
    assert all(status in (200, 409) for status, _ in answers)  # 409: the first was still running
    done = [body for status, body in answers if status == 200]
    assert done
    assert all((body["job"], body["created"]) == (job, 2) for body in done)  # the one import, or its replay


# --- purge and schedule ----------------------------------------------------------------------------


def test_the_purge_removes_only_rows_older_than_24_hours(importer):
    for key, age in (("old", REPLAY_WINDOW + timedelta(minutes=1)), ("edge", REPLAY_WINDOW - timedelta(minutes=1)), ("new", timedelta())):
        IdempotencyKey.objects.create(user=importer, key=key, method="POST", path=BULK, fingerprint="0" * 64, status_code=200)
        _age(key, age)

    assert tasks.purge_idempotency_keys.delay().get() == 1

    assert sorted(IdempotencyKey.objects.values_list("key", flat=True)) == ["edge", "new"]


def test_the_purge_schedule_is_created_once_and_admin_edits_are_kept():
    ensure_schedules()
    for name, (task, minute, hour) in SCHEDULES.items():
        periodic = PeriodicTask.objects.get(name=name)
        assert (periodic.task, periodic.crontab.minute, periodic.crontab.hour) == (task, minute, hour)
    assert PeriodicTask.objects.get(name="Partners: purge idempotency keys").task == "partners.tasks.purge_idempotency_keys"
    PeriodicTask.objects.filter(name="Partners: purge idempotency keys").update(enabled=False)
    ensure_schedules()
    assert PeriodicTask.objects.get(name="Partners: purge idempotency keys").enabled is False


# --- schema ----------------------------------------------------------------------------------------

IDEMPOTENT_OPERATIONS = [
    "/api/v1/redemptions/",
    "/api/v1/redemptions/{id}/approve/",
    "/api/v1/redemptions/{id}/reject/",
    "/api/v1/redemptions/{id}/fulfil/",
    "/api/v1/payouts/{id}/approve/",
    "/api/v1/payouts/{id}/mark-paid/",
    "/api/v1/payouts/{id}/reject/",
    BULK,
]


def test_the_schema_documents_the_header_on_every_money_and_points_write(signed_in_client):
    paths = signed_in_client.get("/api/schema/", {"format": "json"}).json()["paths"]
    documented = sorted(
        path
        for path, operations in paths.items()
        for method, operation in operations.items()
        if any(parameter["name"] == "Idempotency-Key" and parameter["in"] == "header" for parameter in operation.get("parameters", []))
    )
    assert documented == sorted(IDEMPOTENT_OPERATIONS)
    for path in IDEMPOTENT_OPERATIONS:
        responses = paths[path]["post"]["responses"]
        assert "422" in responses, path
        assert ("409" in responses) is (path == BULK), path  # only the two-phase import can be "still running"
    assert "200" in paths[BULK]["post"]["responses"]
    assert "201" in paths["/api/v1/redemptions/"]["post"]["responses"]
