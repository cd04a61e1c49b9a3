"""The user admin: superusers manage every account, coordinators students.

A coordinator (staff in the Coordinators group, not a superuser) may add
students and change a student's names, email, active flag and the two
partner flags, and set a student's password. Staff and superuser accounts
are view-only to them, and permissions, groups, staff and superuser status
are a superuser's alone. The rule is enforced where the admin builds the
form (the fields it has), where it saves (accounts.services.user_admin_save)
and on the password page (has_change_permission), not only by what the page
shows.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm

from accounts.forms import AdminLoginForm
from accounts.models import ApiToken, User
from accounts.selectors import user_admin_may_change
from accounts.services import COORDINATOR_USER_FIELDS, user_admin_save

# The admin's sign-in page gets the per-address failed sign-in limit too.
admin.site.login_form = AdminLoginForm

PAIRUP_FIELDSET = (
    "Pair-Up",
    {"fields": ("preferred_name", "looking_for_partner", "please_assign_me")},
)


class StudentCreationForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("username", "first_name", "last_name", "email")


def _is_superuser(request) -> bool:
    return request.user.is_active and request.user.is_superuser


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
    add_form = StudentCreationForm
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "username",
                    "first_name",
                    "last_name",
                    "email",
                    "usable_password",
                    "password1",
                    "password2",
                ),
            },
        ),
    )
    fieldsets = (*UserAdmin.fieldsets, PAIRUP_FIELDSET)
    # What a coordinator sees of an account: no permissions, groups, staff
    # or superuser fields at all.
    coordinator_fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        ("Status", {"fields": ("is_active",)}),
        PAIRUP_FIELDSET,
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )

    def has_change_permission(self, request, obj=None):
        # Also guards UserAdmin.user_change_password: a staff account's
        # password page is 403 to a coordinator.
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or user_admin_may_change(actor=request.user, user=obj)

    def has_delete_permission(self, request, obj=None):
        if not super().has_delete_permission(request, obj):
            return False
        return obj is None or user_admin_may_change(actor=request.user, user=obj)

    def get_fieldsets(self, request, obj=None):
        if obj is None or _is_superuser(request):
            return super().get_fieldsets(request, obj)
        if not self.has_change_permission(request, obj):
            # Viewing a staff account: its password hash and link are not
            # a coordinator's business.
            return tuple(
                (name, {"fields": tuple(f for f in opts["fields"] if f != "password")})
                for name, opts in self.coordinator_fieldsets
            )
        return self.coordinator_fieldsets

    def get_readonly_fields(self, request, obj=None):
        if obj is None or _is_superuser(request):
            return super().get_readonly_fields(request, obj)
        return ("username", "last_login", "date_joined")

    def get_form(self, request, obj=None, **kwargs):
        if obj is not None and not _is_superuser(request):
            # The form itself has only these fields, so a forged POST of
            # is_superuser, is_staff, groups or user_permissions is ignored.
            kwargs["fields"] = COORDINATOR_USER_FIELDS
        return super().get_form(request, obj, **kwargs)

    def save_model(self, request, obj, form, change):
        user_admin_save(actor=request.user, user=obj, changed=form.changed_data)


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
