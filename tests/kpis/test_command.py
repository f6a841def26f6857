"""`manage.py recompute_scores`: a day, a partner, clear errors with a non-zero exit code."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kpis import services
from kpis.models import ScoreSnapshot
from tests.partners.factories import PartnerFactory

pytestmark = pytest.mark.django_db


def test_command_scores_a_past_day_for_one_partner():
    first, second = PartnerFactory(), PartnerFactory()
    out = StringIO()
    call_command("recompute_scores", "--date", "2026-06-15", "--partner", str(second.pk), stdout=out, stderr=StringIO())
    assert "Scored 1 partners for 2026-06-15" in out.getvalue()
    assert list(ScoreSnapshot.objects.values_list("partner_id", "date")) == [(second.pk, date(2026, 6, 15))]
    assert first.pk not in ScoreSnapshot.objects.values_list("partner_id", flat=True)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", "2026-13-01"], "Invalid --date '2026-13-01': use YYYY-MM-DD."),
        (["--partner", "999999"], "Unknown partner id: 999999."),
        (["--chunk", "0"], "The chunk size must be at least 1."),
    ],
)
def test_bad_input_is_a_clear_error(args, message):
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(".", r"\.")):
        call_command("recompute_scores", *args, stdout=StringIO(), stderr=StringIO())


def test_command_refuses_while_a_run_holds_the_lock():
    PartnerFactory()
    token = services.recompute_lock_acquire()
    with pytest.raises(CommandError, match="Another score recompute is running"):
        call_command("recompute_scores", stdout=StringIO(), stderr=StringIO())
    services.recompute_lock_release(token=token)


def test_exit_code_is_not_zero_on_bad_input():
    import subprocess
    import sys

    from django.conf import settings

    done = subprocess.run(
        [sys.executable, "manage.py", "recompute_scores", "--date", "yesterday"],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "Invalid --date 'yesterday': use YYYY-MM-DD." in done.stderr
