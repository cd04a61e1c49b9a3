"""Create the Coordinators group with the permissions the admin needs.

Permissions are normally created by a post_migrate step after every
migration, so on a fresh database there are none yet: create them first for
the apps whose models the group may manage. Chat's permissions are granted
by `make_coordinator` (accounts.coordinators.coordinators_group_sync) once
the chat app exists.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = [
    ("accounts", "user", ("view", "add", "change")),
    ("projects", "lab", ("view", "add", "change", "delete")),
    ("projects", "project", ("view", "add", "change", "delete")),
    ("projects", "membership", ("view", "add", "change", "delete")),
    ("projects", "invitation", ("view", "change", "delete")),
    ("projects", "bookingwindow", ("view", "change")),
    ("projects", "bookingrecord", ("view",)),
    ("axes", "accessattempt", ("view", "delete")),
    ("axes", "accesslog", ("view",)),
    ("axes", "accessfailurelog", ("view",)),
]


def create_coordinators_group(apps, schema_editor):
    for label in sorted({app for app, _, _ in GRANTS}):
        app_config = apps.get_app_config(label)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Coordinators")
    for app_label, model, actions in GRANTS:
        group.permissions.add(
            *Permission.objects.filter(
                content_type__app_label=app_label,
                content_type__model=model,
                codename__in=[f"{action}_{model}" for action in actions],
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("accounts", "0001_initial"),
        ("axes", "0010_accessattemptexpiration"),
        ("projects", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_coordinators_group, migrations.RunPython.noop),
    ]
