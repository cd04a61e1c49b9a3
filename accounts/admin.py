from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import ApiToken, User


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


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are issued through the API only; here they can be revoked."""

    list_display = ("prefix", "user", "created_at", "expires_at")
    list_filter = ("created_at",)
    list_select_related = ("user",)
    search_fields = ("user__username", "user__last_name", "prefix")
    readonly_fields = ("user", "prefix", "created_at", "expires_at")
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
