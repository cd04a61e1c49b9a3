"""A dissolved team's invitations outlive it, cancelled, keeping its number
(rule 5): they used to go with it, so a stale Accept answered 404."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def keep_the_team_numbers(apps, schema_editor):
    Invitation = apps.get_model("projects", "Invitation")
    Invitation.objects.update(project_number=models.F("project_id"))


def drop_the_dissolved_teams_invitations(apps, schema_editor):
    # Backwards: a project is required again, and these would have gone
    # with their team before.
    Invitation = apps.get_model("projects", "Invitation")
    Invitation.objects.filter(project__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0007_unit_days"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="invitation",
            name="project_number",
            field=models.PositiveBigIntegerField(
                blank=True, editable=False, null=True, verbose_name="team"
            ),
        ),
        migrations.RunPython(keep_the_team_numbers, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="invitation",
            name="project",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="invitations",
                to="projects.project",
            ),
        ),
        migrations.RunPython(
            migrations.RunPython.noop, drop_the_dissolved_teams_invitations
        ),
        migrations.AddConstraint(
            model_name="invitation",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("status", "pending"), _negated=True),
                    ("project__isnull", False),
                    _connector="OR",
                ),
                name="pending_invitation_has_a_project",
            ),
        ),
    ]
