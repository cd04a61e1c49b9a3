import importlib

import pytest
from django.apps import apps

from chat.models import Room

pytestmark = pytest.mark.django_db

lobby_migration = importlib.import_module("chat.migrations.0002_lobby_and_team_rooms")


def test_data_migration_makes_the_lobby_and_missing_team_rooms(alice):
    from projects.tests.factories import make_team

    team = make_team(alice)
    Room.objects.all().delete()
    lobby_migration.create_rooms(apps, None)
    lobby_migration.create_rooms(apps, None)  # idempotent
    assert sorted(Room.objects.values_list("slug", flat=True)) == [
        "lobby",
        f"team-{team.pk}",
    ]
    assert Room.objects.get(slug="lobby").project is None
