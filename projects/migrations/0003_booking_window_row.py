from django.db import migrations


def create_window(apps, schema_editor):
    """Create the one booking-window row, so no read ever has to write it."""
    BookingWindow = apps.get_model("projects", "BookingWindow")
    BookingWindow.objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("projects", "0002_coordinators_group")]

    operations = [migrations.RunPython(create_window, migrations.RunPython.noop)]
