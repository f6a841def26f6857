"""The vendor-specific fast paths of kpis' bulk writes, each with its portable fallback.

One function per write, holding both implementations: the PostgreSQL statement that production and
the tests run, and the ORM code every other database (SQLite under ``make run``) runs. By default
the path follows ``connection.vendor``; ``use_fast_path=False`` forces the ORM path on PostgreSQL, so
a test can run both on the same data and compare (tests/kpis/test_fastpaths.py). Forcing
``use_fast_path=True`` elsewhere than on PostgreSQL fails: the statements are PostgreSQL's.

- ``snapshots_write(scores, *, model, on_date, now, use_fast_path=None)`` upsert a day's snapshots;
- ``alerts_write(alerts, *, use_fast_path=None) -> list[int]`` insert alerts, their ids in order;
- ``cells_write(cells, *, use_fast_path=None)`` insert the channel cube's cells.

The domain code (kpis/services.py) calls these and never reads the database vendor itself
(tests/config/test_vendor_branches.py).
"""

import csv
import io
import json

from django.db import connection

from . import cube
from .models import Alert, ChannelMonth, ScoreSnapshot


def _fast(use_fast_path):
    """True when the PostgreSQL statement runs: as asked, or by default on PostgreSQL."""
    return connection.vendor == "postgresql" if use_fast_path is None else use_fast_path


# --- Snapshots -----------------------------------------------------------------------------------

SNAPSHOT_UPSERT = """
INSERT INTO {table} (partner_id, date, score_model_id, score, band, components, computed_at)
SELECT row.partner_id, %(date)s, %(model)s, row.score, row.band, row.components::jsonb, %(now)s
FROM unnest(%(partners)s::bigint[], %(scores)s::numeric[], %(bands)s::text[], %(components)s::text[])
    AS row(partner_id, score, band, components)
ON CONFLICT (partner_id, date) DO UPDATE SET
    score_model_id = EXCLUDED.score_model_id, score = EXCLUDED.score, band = EXCLUDED.band,
    components = EXCLUDED.components, computed_at = EXCLUDED.computed_at
"""


def snapshots_write(scores, *, model, on_date, now, use_fast_path=None):
    """Upsert the day's snapshots of `scores` ({partner_id: scored item}); one statement.

    On PostgreSQL the rows travel as four arrays into one INSERT ... SELECT FROM unnest: building
    a model instance per partner and binding seven parameters each cost more than the insert
    (bench/kpis.py). Elsewhere the ORM's bulk upsert writes the same rows.
    """
    if _fast(use_fast_path):
        with connection.cursor() as cursor:
            cursor.execute(
                SNAPSHOT_UPSERT.format(table=connection.ops.quote_name(ScoreSnapshot._meta.db_table)),
                {
                    "date": on_date,
                    "model": model.pk,
                    "now": now,
                    "partners": list(scores),
                    "scores": [item.score for item in scores.values()],
                    "bands": [str(item.band) for item in scores.values()],
                    "components": [json.dumps(item.components) for item in scores.values()],
                },
            )
        return
    ScoreSnapshot.objects.bulk_create(
        [
            ScoreSnapshot(
                partner_id=pid,
                date=on_date,
                score_model=model,
                score=item.score,
                band=item.band,
                components=item.components,
                computed_at=now,
            )
            for pid, item in scores.items()
        ],
        update_conflicts=True,
        unique_fields=["partner", "date"],
        update_fields=["score_model", "score", "band", "components", "computed_at"],
    )


# --- Alerts --------------------------------------------------------------------------------------

ALERT_INSERT = """
INSERT INTO {table} (partner_id, date, kind, score, reference_score, message, components, created_at)
SELECT row.partner_id, row.date, row.kind, row.score, row.reference_score, row.message, row.components::jsonb, row.created_at
FROM unnest(%(partners)s::bigint[], %(dates)s::date[], %(kinds)s::text[], %(scores)s::numeric[], %(references)s::numeric[],
            %(messages)s::text[], %(components)s::text[], %(created)s::timestamptz[])
    AS row(partner_id, date, kind, score, reference_score, message, components, created_at)
RETURNING id
"""


def alerts_write(alerts, *, use_fast_path=None):
    """Insert `alerts` (unsaved Alert instances) and return their ids, in the order of `alerts`; one statement.

    On PostgreSQL the rows travel as arrays into one INSERT ... SELECT FROM unnest, as the snapshots
    do: binding ten parameters per alert cost more than the insert. Elsewhere, the ORM's bulk insert.
    """
    if not alerts:
        return []
    if not _fast(use_fast_path):
        return [alert.pk for alert in Alert.objects.bulk_create(alerts)]
    with connection.cursor() as cursor:
        cursor.execute(
            ALERT_INSERT.format(table=connection.ops.quote_name(Alert._meta.db_table)),
            {
                "partners": [alert.partner_id for alert in alerts],
                "dates": [alert.date for alert in alerts],
                "kinds": [str(alert.kind) for alert in alerts],
                "scores": [alert.score for alert in alerts],
                "references": [alert.reference_score for alert in alerts],
                "messages": [alert.message for alert in alerts],
                "components": [json.dumps(alert.components) for alert in alerts],
                "created": [alert.created_at for alert in alerts],
            },
        )
        return [row[0] for row in cursor.fetchall()]


# --- The channel cube ----------------------------------------------------------------------------


def cells_write(cells, *, use_fast_path=None):
    """Insert the cube's cells ({(month, *dimensions): {measure: value}}); one COPY on PostgreSQL.

    There the rows are streamed as CSV into COPY (35,000 cells: about 0.2 s, where bound
    parameters cost 2 s); elsewhere the ORM's bulk insert.
    """
    columns = ["month", *cube.DIMENSIONS, *cube.MEASURES]
    rows = [(*key, *(values[name] for name in cube.MEASURES)) for key, values in cells.items()]
    if not _fast(use_fast_path):
        ChannelMonth.objects.bulk_create([ChannelMonth(**dict(zip(columns, row, strict=True))) for row in rows], batch_size=2000)
        return
    buffer = io.StringIO()
    # Every text is quoted, so an empty type stays empty; None is written "" too, which FORCE_NULL
    # turns into NULL in the nullable id columns only.
    csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC).writerows(rows)
    buffer.seek(0)
    quoted = {name: connection.ops.quote_name(ChannelMonth._meta.get_field(name).column) for name in columns}
    nullable = ", ".join(quoted[name] for name in columns if ChannelMonth._meta.get_field(name).null)
    table = connection.ops.quote_name(ChannelMonth._meta.db_table)
    with connection.cursor() as cursor:
        cursor.copy_expert(f"COPY {table} ({', '.join(quoted.values())}) FROM STDIN WITH (FORMAT csv, FORCE_NULL ({nullable}))", buffer)
