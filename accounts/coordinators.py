"""The Coordinators group: the permissions the admin needs, and membership.

A data migration creates the group on a fresh database (projects 0002), and
each app added later grants its own in a migration of its own (chat 0003,
notifications 0002); `make_coordinator` calls `coordinators_group_sync()`
again, so an older database catches up with this list too.
"""

from django.apps import apps as global_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from accounts.models import COORDINATORS_GROUP

User = get_user_model()

# (app label, model, actions). Booking records are history: view only.
COORDINATOR_PERMISSIONS = [
    ("accounts", "user", ("view", "add", "change")),
    ("projects", "lab", ("view", "add", "change", "delete")),
    ("projects", "project", ("view", "add", "change", "delete")),
    ("projects", "membership", ("view", "add", "change", "delete")),
    ("projects", "invitation", ("view", "change", "delete")),
    ("projects", "bookingwindow", ("view", "change")),
    ("projects", "bookingrecord", ("view",)),
    ("projects", "ballotrun", ("view",)),
    ("chat", "room", ("view", "add", "change", "delete")),
    ("chat", "message", ("view", "delete")),
    ("chat", "mute", ("view", "add", "change", "delete")),
    ("notifications", "emaildelivery", ("view",)),
    ("notifications", "reminder", ("view",)),
    ("axes", "accessattempt", ("view", "delete")),
    ("axes", "accesslog", ("view",)),
    ("axes", "accessfailurelog", ("view",)),
]


def coordinator_permissions_query(installed: set[str]) -> Q:
    """Return a Permission filter for the installed apps' coordinator rights."""
    query = Q(pk__in=[])
    for app_label, model, actions in COORDINATOR_PERMISSIONS:
        if app_label not in installed:
            continue
        query |= Q(
            content_type__app_label=app_label,
            content_type__model=model,
            codename__in=[f"{action}_{model}" for action in actions],
        )
    return query


@transaction.atomic
def coordinators_group_sync() -> Group:
    """Create the group if needed and grant it every coordinator permission."""
    installed = {config.label for config in global_apps.get_app_configs()}
    for label in installed & {app for app, _, _ in COORDINATOR_PERMISSIONS}:
        create_permissions(global_apps.get_app_config(label), verbosity=0)
    group, _ = Group.objects.get_or_create(name=COORDINATORS_GROUP)
    group.permissions.add(
        *Permission.objects.filter(coordinator_permissions_query(installed))
    )
    return group


@transaction.atomic
def coordinator_make(*, username: str) -> User:
    """Put the staff user `username` in the Coordinators group.

    Students are refused: a coordinator must be a staff account.
    """
    user = User.objects.filter(username=username).first()
    if user is None:
        raise ValidationError(f"No user with the username {username!r}.")
    if not user.is_active:
        raise ValidationError(f"{username} is not active.")
    if not user.is_staff:
        raise ValidationError(
            f"{username} is not a staff account; only staff can be coordinators."
        )
    user.groups.add(coordinators_group_sync())
    return user
