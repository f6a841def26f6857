"""Each fast path of kpis/fastpaths.py against its ORM fallback, both run on PostgreSQL on the same data.

The fallbacks are what SQLite (`make run`) runs; forcing them here with `use_fast_path=False` keeps
them honest: the same rows, the same values, and for the alerts the returned ids naming the rows
inserted, in the order of the alerts given.
"""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kpis import cube, fastpaths, scoring, services
from kpis.models import Alert, AlertKind, ChannelMonth, ScoreModel, ScoreSnapshot
from tests.partners.factories import PartnerFactory

from .factories import ON
from .test_channel_cube import BUILT_ON
from .test_channel_cube import _channel as _random_channel
from .test_snapshot_write import _channel as _scored_channel

pytestmark = pytest.mark.django_db

BOTH = [True, False]  # the fast path, then the ORM fallback


def test_the_tests_run_on_postgresql():
    assert connection.vendor == "postgresql"  # the fast paths exist only there


# --- Snapshots -----------------------------------------------------------------------------------

SNAPSHOT_FIELDS = ("id", "partner_id", "date", "score_model_id", "score", "band", "components", "computed_at")


def _snapshots():
    return sorted(ScoreSnapshot.objects.values_list(*SNAPSHOT_FIELDS))


def test_both_snapshot_paths_update_existing_rows_alike_keeping_their_ids_and_other_days():
    """The conflict branch: a rerun of the day rewrites every column in place (same ids), and leaves other days alone."""
    _scored_channel()
    old_model = services.score_model_current()
    new_model = ScoreModel.objects.create(version=2, is_active=False)
    scores = scoring.compute_scores(on_date=ON, model=old_model)
    earlier = timezone.now() - timedelta(days=1)
    fastpaths.snapshots_write(scores, model=old_model, on_date=ON, now=earlier)
    fastpaths.snapshots_write(scores, model=old_model, on_date=ON - timedelta(days=1), now=earlier)
    rescored = dict(list(scores.items())[:3])  # one partner keeps its old row
    for item in rescored.values():
        item.score = Decimal("12.34")
        item.band = new_model.band_for(item.score)
        item.components = {"sales": {"raw": None, "note": 'ünïcode — "quoted" \\ back'}}
    now = timezone.now()
    before = _snapshots()
    results = []
    for use_fast_path in BOTH:
        ScoreSnapshot.objects.all().delete()
        ScoreSnapshot.objects.bulk_create(ScoreSnapshot(**dict(zip(SNAPSHOT_FIELDS, row, strict=True))) for row in before)
        fastpaths.snapshots_write(rescored, model=new_model, on_date=ON, now=now, use_fast_path=use_fast_path)
        results.append(_snapshots())
    fast, orm = results
    assert fast == orm
    changed = [row for row in fast if row[2] == ON and row[1] in rescored]
    assert len(changed) == 3
    assert {row[3:5] for row in changed} == {(new_model.pk, Decimal("12.34"))}
    assert {row[7] for row in changed} == {now}
    assert [row[0] for row in fast] == [row[0] for row in before]  # updated in place, nothing inserted
    assert [row for row in fast if row not in changed] == [row for row in before if row[0] not in {r[0] for r in changed}]


# --- Alerts --------------------------------------------------------------------------------------

ALERT_FIELDS = (
    "partner_id",
    "date",
    "kind",
    "score",
    "reference_score",
    "message",
    "components",
    "created_at",
    "notified_at",
    "acknowledged_at",
    "acknowledged_by_id",
)


def _alerts(partners):
    """Fresh unsaved alerts covering both kinds, a missing reference, empty and nested components,
    awkward text and distinct creation times."""
    start = timezone.make_aware(datetime.combine(ON, time(2, 0, 0, 123456)))
    one, two, three = partners
    specs = [
        (one, ON, AlertKind.BELOW_THRESHOLD, "33.33", None, "Loyalty score 33.33 is below 50.", []),
        (
            one,
            ON,
            AlertKind.SHARP_DROP,
            "33.33",
            "90.00",
            "Loyalty score dropped 56.67 points in 12 days, to 33.33.",
            [{"name": "sales", "before": 80.0, "after": 10.5}, {"name": "engagement", "before": None, "after": 0}],
        ),
        (
            two,
            ON - timedelta(days=1),
            AlertKind.BELOW_THRESHOLD,
            "0.00",
            "49.99",
            "Ünïcode — “quotes”, 'single', back\\slash, {braces}, \"double\",\nnew line",
            [],
        ),
        (three, ON, AlertKind.SHARP_DROP, "100.00", "0.01", "", [{"name": "cases", "nested": {"list": [1, 2.5, None, "x"]}}]),
    ]
    return [
        Alert(
            partner_id=partner.pk,
            date=day,
            kind=kind,
            score=Decimal(score),
            reference_score=None if reference is None else Decimal(reference),
            message=message,
            components=components,
            created_at=start + timedelta(minutes=index),
        )
        for index, (partner, day, kind, score, reference, message, components) in enumerate(specs)
    ]


def _stored_alerts(ids):
    stored = {row[0]: row[1:] for row in Alert.objects.values_list("id", *ALERT_FIELDS)}
    assert sorted(stored) == sorted(ids)  # the ids returned are the rows inserted, no more, no fewer
    return [stored[pk] for pk in ids]


def test_both_alert_paths_insert_the_same_rows_and_return_their_ids_in_order():
    partners = [PartnerFactory(), PartnerFactory(), PartnerFactory()]
    expected = [tuple(getattr(alert, name) for name in ALERT_FIELDS) for alert in _alerts(partners)]
    results = {}
    for use_fast_path in BOTH:
        Alert.objects.all().delete()
        alerts = _alerts(partners)
        with CaptureQueriesContext(connection) as queries:
            ids = fastpaths.alerts_write(alerts, use_fast_path=use_fast_path)
        assert len(queries.captured_queries) == 1
        assert len(ids) == len(set(ids)) == 4
        assert all(isinstance(pk, int) for pk in ids)
        results[use_fast_path] = _stored_alerts(ids)  # ids[k] is the row of alerts[k]
    assert results[True] == results[False] == expected


def test_both_alert_paths_write_nothing_for_no_alerts():
    for use_fast_path in BOTH:
        with CaptureQueriesContext(connection) as queries:
            assert fastpaths.alerts_write([], use_fast_path=use_fast_path) == []
        assert queries.captured_queries == []


def test_the_alerts_of_a_recompute_are_those_the_orm_path_writes(monkeypatch):
    """Through the service: a night's alerts (and the ids it notifies) are the same whichever path writes them."""
    partner = PartnerFactory(joined_on=date(2024, 1, 1))  # scores 33.33
    ScoreModel.objects.create(version=1, is_active=True, alert_below=50, alert_drop_points=15)
    model = services.score_model_current()
    for days, score in [(12, "90"), (2, "55")]:
        ScoreSnapshot.objects.create(
            partner=partner, date=ON - timedelta(days=days), score_model=model, score=Decimal(score), band=model.band_for(Decimal(score))
        )
    results = []
    for use_fast_path in BOTH:
        Alert.objects.all().delete()
        ScoreSnapshot.objects.filter(date=ON).delete()
        write = fastpaths.alerts_write
        monkeypatch.setattr(fastpaths, "alerts_write", lambda alerts, write=write, fast=use_fast_path: write(alerts, use_fast_path=fast))
        ids = services.score_chunk_recompute(on_date=ON).alert_ids
        monkeypatch.undo()
        results.append(sorted(_stored_alerts(ids), key=repr))
    fast, orm = results
    assert len(fast) == 2
    # created_at is the run's time, which differs between the two runs; every other column is equal.
    created = ALERT_FIELDS.index("created_at")
    assert [row[:created] + row[created + 1 :] for row in fast] == [row[:created] + row[created + 1 :] for row in orm]


# --- The channel cube's cells --------------------------------------------------------------------

CELL_FIELDS = ("month", *cube.DIMENSIONS, *cube.MEASURES)


def _cells():
    return sorted(ChannelMonth.objects.values_list(*CELL_FIELDS), key=repr)


def _edge_cells():
    """Cells the random channel may not reach: empty type and ids, four decimals, negative and large values."""
    zero = dict.fromkeys(cube.MEASURES, 0)
    return {
        (date(2030, 1, 1), "", None, None, None): {**zero, "revenue": Decimal("1000.1234"), "participant_revenue": Decimal("-0.0001")},
        (date(2030, 2, 1), "msp", 2**40, None, 7): {**zero, "incentive_cost": Decimal("-12.50"), "incentive_points": 2**40},
        (date(2030, 3, 1), 'odd "type", x', None, 3, None): {**zero, "nps_answers": 3, "nps_promoters": 1, "nps_detractors": 2},
    }


@pytest.mark.parametrize("seed", [11, 12])
def test_both_cell_paths_insert_the_same_cells(seed):
    _random_channel(seed)
    cells = {**cube.compute(today=BUILT_ON).cells, **_edge_cells()}
    assert len(cells) > 20
    results = []
    for use_fast_path in BOTH:
        ChannelMonth.objects.all().delete()
        fastpaths.cells_write(cells, use_fast_path=use_fast_path)
        results.append(_cells())
    fast, orm = results
    assert fast == orm
    stored = {row[: 1 + len(cube.DIMENSIONS)]: row[1 + len(cube.DIMENSIONS) :] for row in fast}
    assert len(stored) == len(fast) == len(cells)
    assert stored == {key: tuple(values[name] for name in cube.MEASURES) for key, values in cells.items()}


def test_both_cell_paths_write_nothing_for_no_cells():
    for use_fast_path in BOTH:
        fastpaths.cells_write({}, use_fast_path=use_fast_path)
        assert not ChannelMonth.objects.exists()
