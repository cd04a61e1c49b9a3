"""Factories for labs, and helpers that build teams through the services."""

from datetime import datetime, timedelta

import factory
from django.utils import timezone

from accounts.tests.factories import CoordinatorFactory, StudentFactory
from projects import services
from projects.models import Lab


class LabFactory(factory.django.DjangoModelFactory):
    """An open slot a few days ahead, well past the booking cut-off."""

    class Meta:
        model = Lab

    room = "CSSE 2.01"
    start = factory.Sequence(
        lambda n: (timezone.now() + timedelta(days=3, minutes=15 * n)).replace(
            second=0, microsecond=0
        )
    )
    end = factory.LazyAttribute(lambda lab: lab.start + timedelta(minutes=15))
    is_open = True


def local_at(days: int, hour: int, minute: int = 0) -> datetime:
    """Return `hour:minute` local time `days` from today.

    For tests that put several slots on one day: the factory's default start
    moves on by 15 minutes per slot made, so two slots an hour apart can fall
    either side of midnight depending on when and in what order tests run.
    """
    local = timezone.localtime() + timedelta(days=days)
    return datetime(
        local.year,
        local.month,
        local.day,
        hour,
        minute,
        tzinfo=timezone.get_current_timezone(),
    )


def lab_starting_in(minutes: int, **kwargs) -> Lab:
    """Return a slot starting `minutes` from now (negative: already started)."""
    start = timezone.now() + timedelta(minutes=minutes)
    return LabFactory(start=start, end=start + timedelta(minutes=15), **kwargs)


def make_team(*members, description: str = "A project", lab: Lab | None = None):
    """Create a project for the first member and add the others by consent.

    Every step goes through the services, so the team is one the rules allow.
    """
    first, *others = members or (StudentFactory(),)
    project = services.project_create(user=first, description=description, lab=lab)
    for member in others:
        invitation = services.invitation_send(
            user=first, project=project, invitee_number=member.username
        )
        services.invitation_accept(user=member, invitation=invitation)
    project.refresh_from_db()
    return project


__all__ = [
    "CoordinatorFactory",
    "LabFactory",
    "StudentFactory",
    "lab_starting_in",
    "make_team",
]
