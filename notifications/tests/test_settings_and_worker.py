"""PAIRUP_REMINDERS and PAIRUP_UNIT_NAME, the worker command, the clean-up."""

import io
import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from notifications.models import EmailDelivery, Notification
from notifications.tests.conftest import mailed
from notifications.worker import tick
from pairup.tests.test_settings import clean_env
from projects import services
from projects.tests.factories import make_team


def read_setting(name: str, **env: str) -> subprocess.CompletedProcess:
    code = f"from pairup import settings as s; print(repr(s.{name}))"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=clean_env(DJANGO_DEBUG="True", **env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "[datetime.timedelta(days=1), datetime.timedelta(seconds=3600)]"),
        (
            "1h, 2d,30m",
            "[datetime.timedelta(days=2), datetime.timedelta(seconds=3600), datetime.timedelta(seconds=1800)]",
        ),
        ("", "[]"),
        ("1h,60m", "[datetime.timedelta(seconds=3600)]"),
    ],
)
def test_reminders_setting_parses_durations(value, expected):
    env = {} if value is None else {"PAIRUP_REMINDERS": value}
    result = read_setting("PAIRUP_REMINDERS", **env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


@pytest.mark.parametrize("junk", ["24", "1 hour", "0h", "-1h", "1h;2h", "1w", "h"])
def test_reminders_setting_refuses_junk_loudly(junk):
    result = read_setting("PAIRUP_REMINDERS", PAIRUP_REMINDERS=junk)

    assert result.returncode != 0
    assert "PAIRUP_REMINDERS must be comma-separated durations" in result.stderr


def test_unit_name_defaults_to_pair_up():
    assert read_setting("PAIRUP_UNIT_NAME").stdout.strip() == "'Pair-Up'"
    named = read_setting("PAIRUP_UNIT_NAME", PAIRUP_UNIT_NAME="COMP1234")
    assert named.stdout.strip() == "'COMP1234'"


@pytest.mark.django_db
def test_run_worker_in_batch_mode_sends_what_is_queued(
    django_capture_on_commit_callbacks, monkeypatch, alice, bob
):
    from django_tasks_db.management.commands import db_worker

    # Inside the test's transaction the loop must keep the connection.
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)
    project = make_team(alice)
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_send(
            user=alice, project=project, invitee_number=bob.username
        )

    call_command(
        "run_worker",
        "--batch",
        "--no-reload",
        "--no-startup-delay",
        "--interval",
        "0",
        verbosity=0,
        stdout=io.StringIO(),
    )

    assert len(mailed(bob)) == 1
    assert EmailDelivery.objects.get().status == EmailDelivery.Status.SENT


@pytest.mark.django_db
def test_notifications_are_kept_90_days(alice):
    now = timezone.now()
    old = Notification.objects.create(
        user=alice, kind="announcement", text="old", created_at=now - timedelta(days=91)
    )
    recent = Notification.objects.create(
        user=alice,
        kind="announcement",
        text="recent",
        created_at=now - timedelta(days=89),
    )

    done = tick(now=now, prune=True)

    assert done["notifications_pruned"] == 1
    assert not Notification.objects.filter(pk=old.pk).exists()
    assert Notification.objects.filter(pk=recent.pk).exists()


@pytest.mark.django_db
def test_prune_notifications_command(alice):
    Notification.objects.create(
        user=alice,
        kind="announcement",
        text="old",
        created_at=timezone.now() - timedelta(days=100),
    )
    out = io.StringIO()

    call_command("prune_notifications", stdout=out)

    assert "Deleted 1 notification(s)" in out.getvalue()
    assert Notification.objects.count() == 0


@pytest.mark.parametrize("tick", ["0", "-5", "nan", "inf", "1e300", "soon"])
def test_run_worker_refuses_a_tick_it_cannot_keep(tick, monkeypatch):
    # 0, a negative or nan made the clock spin without pause; inf (or a
    # huge number) killed the clock's thread with a traceback while the
    # worker went on without it. Refused before anything starts.
    from notifications.management.commands import run_worker

    started = []
    monkeypatch.setattr(run_worker.Clock, "start", lambda self: started.append(1))
    with pytest.raises(CommandError, match="--tick"):
        call_command("run_worker", "--no-reload", f"--tick={tick}")
    assert started == []


def test_run_worker_tick_bounds_in_help(capsys):
    with pytest.raises(SystemExit):
        call_command("run_worker", "--help")
    assert "1 to 3600" in " ".join(capsys.readouterr().out.split())
