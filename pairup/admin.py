"""The admin site: the coordinators' Pair-Up, not "Django administration"."""

from datetime import UTC, datetime

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.utils import timezone

from accounts.selectors import user_is_coordinator


class PairUpAdminSite(admin.AdminSite):
    """Only coordinators (staff in the Coordinators group, and superusers)
    get in, whatever model permissions another staff account was given:
    team rooms' messages, API tokens and sign-in locks are in here. Anyone
    else is sent to the admin's sign-in page, as Django does for non-staff.
    """

    site_header = "Pair-Up"
    site_title = "Pair-Up admin"
    index_title = "Run the unit"

    def has_permission(self, request):
        return super().has_permission(request) and user_is_coordinator(request.user)

    def register(self, model_or_iterable, admin_class=None, **options):
        # Every date drill-down of the site refuses a date out of range,
        # django-axes' sign-in locks too (a subclass, as Django's own
        # register makes one for `options`).
        admin_class = admin_class or admin.ModelAdmin
        if admin_class.date_hierarchy and not issubclass(
            admin_class, DateDrillDownMixin
        ):
            admin_class = type(
                admin_class.__name__,
                (DateDrillDownMixin, admin_class),
                {"__module__": admin_class.__module__},
            )
        super().register(model_or_iterable, admin_class, **options)


class DateDrillDownChangeList(ChangeList):
    """A changelist whose date drill-down refuses a date out of range as a
    bad lookup (Django's redirect to `?e=1`), not with a 500.

    Django turns a date that doesn't exist into IncorrectLookupParameters,
    but not one whose range has no end a datetime can hold (year 9999, its
    last month or day) nor one whose start is before year 1 in UTC (year 1
    where the time zone is ahead of UTC): the database gets its bounds in
    UTC.
    """

    def get_filters(self, request):
        field = self.date_hierarchy
        if not field or f"{field}__year" not in self.params:
            return super().get_filters(request)
        try:
            filters = super().get_filters(request)
            lookup_params = filters[2]
            for bound in (
                *lookup_params.get(f"{field}__gte", ()),
                *lookup_params.get(f"{field}__lt", ()),
            ):
                if isinstance(bound, datetime) and timezone.is_aware(bound):
                    bound.astimezone(UTC)
        except (OverflowError, ValueError) as error:
            raise IncorrectLookupParameters(error) from error
        return filters


class DateDrillDownMixin:
    """Use DateDrillDownChangeList (PairUpAdminSite.register adds this to
    every ModelAdmin with a `date_hierarchy`)."""

    def get_changelist(self, request, **kwargs):
        return DateDrillDownChangeList
