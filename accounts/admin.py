from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import User


@admin.register(User)
class PairUpUserAdmin(UserAdmin):
    list_display = (
        "username",
        "first_name",
        "last_name",
        "preferred_name",
        "email",
        "is_staff",
        "is_active",
    )
    list_filter = ("is_staff", "is_active", "is_superuser", "groups")
    search_fields = ("last_name", "username", "first_name", "preferred_name", "email")
    fieldsets = (
        *UserAdmin.fieldsets,
        (
            "Pair-Up",
            {"fields": ("preferred_name", "looking_for_partner", "please_assign_me")},
        ),
    )
