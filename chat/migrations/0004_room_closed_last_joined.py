import django.utils.timezone
from django.db import migrations, models


def last_joined_from_created(apps, schema_editor):
    """Existing rooms count as last joined when they were made."""
    Room = apps.get_model("chat", "Room")
    Room.objects.update(last_joined_at=models.F("created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0003_coordinator_permissions"),
    ]

    operations = [
        migrations.AddField(
            model_name="room",
            name="closed",
            field=models.BooleanField(
                default=False,
                help_text="A closed room refuses new joins and leaves the room "
                "list; the people in it are disconnected.",
            ),
        ),
        migrations.AddField(
            model_name="room",
            name="last_joined_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.RunPython(last_joined_from_created, migrations.RunPython.noop),
    ]
