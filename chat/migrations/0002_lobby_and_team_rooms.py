from django.db import migrations


def create_rooms(apps, schema_editor):
    """Create the `lobby` (where students find a partner) and a room per team.

    Later teams get their room from chat's post_save signal.
    """
    Room = apps.get_model("chat", "Room")
    Project = apps.get_model("projects", "Project")
    Room.objects.get_or_create(slug="lobby", defaults={"name": "Lobby"})
    for project_id in Project.objects.values_list("pk", flat=True):
        Room.objects.get_or_create(
            project_id=project_id,
            defaults={"slug": f"team-{project_id}", "name": f"Team {project_id}"},
        )


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0001_rooms_messages_mutes"),
    ]

    operations = [
        migrations.RunPython(create_rooms, migrations.RunPython.noop),
    ]
