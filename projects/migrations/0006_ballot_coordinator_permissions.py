from django.contrib.auth.management import create_permissions
from django.db import migrations

COORDINATORS_GROUP = "Coordinators"
PERMISSIONS = ["view_ballotrun"]


def grant(apps, schema_editor):
    """Let coordinators see every run of the ballot in the admin (read-only).

    Permissions are made after all migrations on a fresh database, so make
    these now. The same grant as accounts.coordinators (make_coordinator).
    """
    app_config = apps.get_app_config("projects")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=COORDINATORS_GROUP)
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="projects", codename__in=PERMISSIONS
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0005_ballot"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
