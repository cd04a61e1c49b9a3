"""The admin site: the coordinators' Pair-Up, not "Django administration"."""

from django.contrib import admin

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
