"""The coordinators' admin for slots, teams, invitations and the booking window.

Every write that involves a rule goes through projects.services, so the
admin gets the same integrity checks as the pages (rules 1-3) and the same
booking records; the window and the cut-off don't bind coordinators. A
service's ValidationError shows as a form error, never a server error.
Only coordinators (staff in the Coordinators group, and superusers) see any
of it.
"""

from datetime import datetime, timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from projects import services
from projects.csv_utils import csv_response
from projects.models import (
    BookingRecord,
    BookingWindow,
    Invitation,
    Lab,
    Membership,
    Project,
)

User = get_user_model()
Via = BookingRecord.Via


class CoordinatorOnlyMixin:
    """Show the model only to coordinators, and only with their permissions."""

    def has_module_permission(self, request):
        return request.user.is_coordinator and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return request.user.is_coordinator and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args):
        return request.user.is_coordinator and super().has_add_permission(
            request, *args
        )

    def has_change_permission(self, request, obj=None):
        return request.user.is_coordinator and super().has_change_permission(
            request, obj
        )

    def has_delete_permission(self, request, obj=None):
        return request.user.is_coordinator and super().has_delete_permission(
            request, obj
        )


def _local(value, fmt: str) -> str:
    return f"{timezone.localtime(value):{fmt}}" if value else ""


def add_service_errors(form, error: ValidationError, field_map=None) -> None:
    """Put a service's ValidationError on the form: on the field it names
    when the form has that field, else on the form as a whole."""
    field_map = field_map or {}
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for key, errors in error.error_dict.items():
        name = field_map.get(key, key)
        form.add_error(name if name in form.fields else None, errors)


# Labs -------------------------------------------------------------------


class LabTakenFilter(admin.SimpleListFilter):
    title = "booking"
    parameter_name = "taken"

    def lookups(self, request, model_admin):
        return [("free", "Free"), ("taken", "Taken")]

    def queryset(self, request, queryset):
        if self.value() == "free":
            return queryset.filter(project__isnull=True)
        if self.value() == "taken":
            return queryset.filter(project__isnull=False)
        return queryset


class LabDayFilter(admin.SimpleListFilter):
    """Days in the unit's time zone (TIME_ZONE), not UTC."""

    title = "day"
    parameter_name = "day"

    def lookups(self, request, model_admin):
        days = sorted(
            {
                timezone.localtime(start).date()
                for start in Lab.objects.values_list("start", flat=True)
            }
        )
        return [(f"{day:%Y-%m-%d}", f"{day:%a %d %b %Y}") for day in days]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        try:
            day = datetime.strptime(self.value(), "%Y-%m-%d").date()  # noqa: DTZ007
        except ValueError:
            return queryset.none()
        tz = timezone.get_current_timezone()
        start = datetime.combine(day, datetime.min.time(), tzinfo=tz)
        end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=tz)
        return queryset.filter(start__gte=start, start__lt=end)


@admin.register(Lab)
class LabAdmin(CoordinatorOnlyMixin, admin.ModelAdmin):
    list_display = ("room", "day", "start_time", "end_time", "is_open", "team")
    list_display_links = ("room", "day")
    list_filter = ("room", LabDayFilter, LabTakenFilter, "is_open")
    list_select_related = ("project",)
    search_fields = ("room",)
    ordering = ("start", "room")
    actions = ("open_labs", "close_labs", "export_csv")
    list_per_page = 200

    @admin.display(description="day", ordering="start")
    def day(self, lab):
        return _local(lab.start, "%a %d %b %Y")

    @admin.display(description="start", ordering="start")
    def start_time(self, lab):
        return _local(lab.start, "%H:%M")

    @admin.display(description="end", ordering="end")
    def end_time(self, lab):
        return _local(lab.end, "%H:%M")

    @admin.display(description="team")
    def team(self, lab):
        project = getattr(lab, "project", None)
        return str(project) if project is not None else "free"

    def save_model(self, request, obj, form, change):
        services.lab_save(actor=request.user, lab=obj)

    def delete_model(self, request, obj):
        services.labs_delete(actor=request.user, labs=[obj])

    def delete_queryset(self, request, queryset):
        services.labs_delete(actor=request.user, labs=list(queryset))

    @admin.action(
        description="Open the selected slots for booking",
        permissions=["change"],
    )
    def open_labs(self, request, queryset):
        count = services.labs_set_open(actor=request.user, labs=queryset, is_open=True)
        self.message_user(request, f"{count} slot(s) opened.", messages.SUCCESS)

    @admin.action(
        description="Close the selected slots for booking",
        permissions=["change"],
    )
    def close_labs(self, request, queryset):
        count = services.labs_set_open(actor=request.user, labs=queryset, is_open=False)
        self.message_user(
            request,
            f"{count} slot(s) closed. Teams already booked keep their slots.",
            messages.SUCCESS,
        )

    @admin.action(description="Download the selected slots as CSV")
    def export_csv(self, request, queryset):
        tz = timezone.get_current_timezone_name()
        labs = queryset.select_related("project").prefetch_related(
            "project__memberships__user"
        )
        rows = []
        for lab in labs.order_by("start", "room"):
            project = getattr(lab, "project", None)
            members = project.member_list() if project else []
            rows.append(
                [
                    lab.room,
                    _local(lab.start, "%Y-%m-%d"),
                    _local(lab.start, "%H:%M"),
                    _local(lab.end, "%H:%M"),
                    "open" if lab.is_open else "closed",
                    project.pk if project else "",
                    project.description if project else "",
                    " ".join(member.username for member in members),
                ]
            )
        header = [
            "room",
            "date",
            f"start ({tz})",
            f"end ({tz})",
            "booking",
            "team",
            "description",
            "members' numbers",
        ]
        return csv_response("labs.csv", header, rows)


# Projects ---------------------------------------------------------------


class ProjectAdminForm(forms.ModelForm):
    """The project, its slot and its members, changed through the services.

    The writes run in `_post_clean`, inside a savepoint, once the fields are
    valid: a rule that refuses (slot taken, team full, student in another
    team) becomes a form error and nothing is changed.
    """

    first_member = forms.CharField(
        label="First member (student number)",
        required=True,
        help_text="The student whose project this is.",
    )
    slot = forms.ModelChoiceField(
        label="Lab slot",
        queryset=Lab.objects.order_by("start", "room"),
        required=False,
        help_text="Booked or moved through the booking rules (integrity only: "
        "the booking window and the cut-off don't bind coordinators). "
        "Leave empty to release.",
    )
    add_member = forms.CharField(
        label="Add a member (student number)",
        required=False,
        help_text="A free student; the team must have room.",
    )
    remove_members = forms.ModelMultipleChoiceField(
        label="Remove members",
        queryset=Membership.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Removing the last member dissolves the project.",
    )

    class Meta:
        model = Project
        fields = ("description",)

    actor = None  # set by ProjectAdmin.get_form

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            del self.fields["first_member"]
            self.fields["slot"].initial = self.instance.lab_id
            self.fields["remove_members"].queryset = Membership.objects.filter(
                project=self.instance
            ).select_related("user")
            self.fields["remove_members"].label_from_instance = lambda m: str(m.user)
        else:
            del self.fields["remove_members"]

    def _student(self, field: str) -> User | None:
        number = (self.cleaned_data.get(field) or "").strip()
        if not number:
            return None
        student = User.objects.students().filter(username=number).first()
        if student is None:
            raise ValidationError({field: f"No student with the number {number!r}."})
        return student

    def _post_clean(self):
        super()._post_clean()
        if self.errors:
            return
        try:
            with transaction.atomic():
                self._apply()
        except ValidationError as error:
            add_service_errors(self, error, {"partner": "add_member", "lab": "slot"})

    def _apply(self) -> None:
        actor, data = self.actor, self.cleaned_data
        lab = data.get("slot")
        if not self.instance.pk:
            first = self._student("first_member")
            project = services.project_create(
                user=first,
                actor=actor,
                description=data["description"],
                lab=lab,
                via=Via.ADMIN,
            )
            self.instance = project
        else:
            project = Project.objects.get(pk=self.instance.pk)
            if "description" in self.changed_data:
                services.project_update(
                    user=actor, project=project, description=data["description"]
                )
            for membership in data.get("remove_members") or []:
                if not Project.objects.filter(pk=project.pk).exists():
                    break
                services.membership_remove(
                    actor=actor, membership=membership, via=Via.ADMIN
                )
            if not Project.objects.filter(pk=project.pk).exists():
                return
            project.refresh_from_db()
            if lab is None and project.lab_id is not None:
                services.lab_release(user=actor, project=project, via=Via.ADMIN)
            elif lab is not None and lab.pk != project.lab_id:
                try:
                    services.lab_book(
                        user=actor, project=project, lab=lab, via=Via.ADMIN
                    )
                except ValidationError as error:
                    raise ValidationError({"slot": error.messages}) from None
        student = self._student("add_member")
        if student is not None:
            try:
                services.membership_add(
                    actor=actor, project=project, student=student, via=Via.ADMIN
                )
            except ValidationError as error:
                raise ValidationError({"add_member": error.messages}) from None
        self.instance.refresh_from_db()


class MembershipInline(admin.TabularInline):
    """The members, read-only: add or remove them with the fields above."""

    model = Membership
    fields = ("student_number", "name", "joined_at")
    readonly_fields = ("student_number", "name", "joined_at")
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="student number")
    def student_number(self, membership):
        return membership.user.username

    @admin.display(description="name")
    def name(self, membership):
        return membership.user.get_full_name() or membership.user.display_name


class ProjectSlotFilter(admin.SimpleListFilter):
    title = "slot"
    parameter_name = "slot"

    def lookups(self, request, model_admin):
        return [("yes", "Has a slot"), ("no", "No slot")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(lab__isnull=False)
        if self.value() == "no":
            return queryset.filter(lab__isnull=True)
        return queryset


class ProjectSizeFilter(admin.SimpleListFilter):
    title = "members"
    parameter_name = "size"

    def lookups(self, request, model_admin):
        return [("solo", "Solo"), ("full", "Full team")]

    def queryset(self, request, queryset):
        counted = queryset.annotate(size=Count("memberships"))
        if self.value() == "solo":
            return counted.filter(size=1)
        if self.value() == "full":
            return counted.filter(size__gte=settings.PAIRUP_TEAM_SIZE)
        return queryset


@admin.register(Project)
class ProjectAdmin(CoordinatorOnlyMixin, admin.ModelAdmin):
    form = ProjectAdminForm
    inlines = (MembershipInline,)
    list_display = ("__str__", "description", "members", "slot", "created_at")
    list_filter = (ProjectSlotFilter, ProjectSizeFilter)
    list_select_related = ("lab",)
    search_fields = (
        "=id",
        "description",
        "memberships__user__username",
        "memberships__user__first_name",
        "memberships__user__last_name",
        "memberships__user__preferred_name",
    )
    readonly_fields = ("created_at", "updated_at")
    actions = ("dissolve_projects",)

    def get_queryset(self, request):
        return super().get_queryset(request).with_members()

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # dissolve goes through the service
        return actions

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"actor": request.user})

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("first_member", "description", "slot", "add_member")
        return (
            "description",
            "slot",
            "add_member",
            "remove_members",
            "created_at",
            "updated_at",
        )

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else ()

    @admin.display(description="members")
    def members(self, project):
        return ", ".join(
            f"{user.username} {user.display_name}" for user in project.member_list()
        )

    @admin.display(description="slot", ordering="lab__start")
    def slot(self, project):
        return str(project.lab) if project.lab else ""

    def save_model(self, request, obj, form, change):
        """The form's services already saved everything."""

    def save_related(self, request, form, formsets, change):
        """Members change through the form's services, not the inline."""

    def construct_change_message(self, request, form, formsets, add=False):
        return super().construct_change_message(request, form, [], add)

    def get_deleted_objects(self, objs, request):
        """Dissolving takes the members and invitations with it, through the
        service: the delete permission on projects is all it needs."""
        deleted, counts, _, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, set(), protected

    def response_change(self, request, obj):
        if not Project.objects.filter(pk=obj.pk).exists():
            self.message_user(
                request,
                f"{obj} had no members left and was dissolved; its slot is free.",
                messages.SUCCESS,
            )
            return redirect(reverse("admin:projects_project_changelist"))
        return super().response_change(request, obj)

    def log_change(self, request, obj, message):
        if Project.objects.filter(pk=obj.pk).exists():
            super().log_change(request, obj, message)

    def delete_model(self, request, obj):
        services.project_dissolve(user=request.user, project=obj, via=Via.ADMIN)

    def delete_queryset(self, request, queryset):
        for project in queryset:
            services.project_dissolve(user=request.user, project=project, via=Via.ADMIN)

    @admin.action(
        description="Dissolve the selected projects (members become free)",
        permissions=["delete"],
    )
    def dissolve_projects(self, request, queryset):
        count = 0
        for project in queryset:
            services.project_dissolve(user=request.user, project=project, via=Via.ADMIN)
            count += 1
        self.message_user(request, f"{count} project(s) dissolved.", messages.SUCCESS)


@admin.register(Membership)
class MembershipAdmin(CoordinatorOnlyMixin, admin.ModelAdmin):
    """Read-only: members change on the project's page, through the services."""

    list_display = ("user", "project", "joined_at")
    list_select_related = ("user", "project")
    search_fields = ("user__username", "user__first_name", "user__last_name")
    list_filter = ("joined_at",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# Invitations ------------------------------------------------------------


@admin.register(Invitation)
class InvitationAdmin(CoordinatorOnlyMixin, admin.ModelAdmin):
    list_display = ("project", "inviter", "invitee", "status", "created_at")
    list_filter = ("status", "created_at")
    list_select_related = ("project", "inviter", "invitee")
    search_fields = (
        "invitee__username",
        "invitee__first_name",
        "invitee__last_name",
        "inviter__username",
        "inviter__first_name",
        "inviter__last_name",
    )
    readonly_fields = (
        "project",
        "inviter",
        "invitee",
        "status",
        "created_at",
        "responded_at",
    )
    fields = readonly_fields
    actions = ("cancel_invitations",)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(
        description="Cancel the selected pending invitations",
        permissions=["change"],
    )
    def cancel_invitations(self, request, queryset):
        cancelled = 0
        for invitation in queryset.filter(status=Invitation.Status.PENDING):
            try:
                services.invitation_cancel(user=request.user, invitation=invitation)
            except ValidationError:
                continue  # answered meanwhile
            cancelled += 1
        self.message_user(
            request, f"{cancelled} invitation(s) cancelled.", messages.SUCCESS
        )


# Booking window ---------------------------------------------------------


@admin.register(BookingWindow)
class BookingWindowAdmin(CoordinatorOnlyMixin, admin.ModelAdmin):
    """The single window row: the list goes straight to its form."""

    fieldsets = (
        (
            "Booking",
            {
                "fields": ("booking_open", "opens_at", "closes_at"),
                "description": "Students can book, move and release slots while "
                "booking is open and now is between the two times (local time, "
                "both optional).",
            },
        ),
        ("Teams", {"fields": ("team_changes_open",)}),
        ("Schedule", {"fields": ("schedule_published",)}),
    )
    readonly_fields = ("updated_at",)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        window = BookingWindow.get()
        return redirect(
            reverse("admin:projects_bookingwindow_change", args=[window.pk])
        )

    def save_model(self, request, obj, form, change):
        services.booking_window_update(
            actor=request.user, window=obj, fields=list(form.changed_data)
        )


# Booking records --------------------------------------------------------


@admin.register(BookingRecord)
class BookingRecordAdmin(CoordinatorOnlyMixin, admin.ModelAdmin):
    """Every booking change, read-only, so a dispute can be settled."""

    list_display = (
        "when",
        "action",
        "via",
        "actor_username",
        "project_number",
        "members",
        "from_slot",
        "to_slot",
    )
    list_filter = ("action", "via", "created_at")
    search_fields = (
        "members",
        "actor_username",
        "from_slot",
        "to_slot",
        "=project_number",
    )
    date_hierarchy = "created_at"
    actions = ("export_csv",)
    list_per_page = 200

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="when", ordering="created_at")
    def when(self, record):
        return _local(record.created_at, "%Y-%m-%d %H:%M:%S")

    @admin.action(description="Download the selected records as CSV")
    def export_csv(self, request, queryset):
        tz = timezone.get_current_timezone_name()
        rows = [
            [
                _local(record.created_at, "%Y-%m-%d %H:%M:%S"),
                record.get_action_display(),
                record.get_via_display(),
                record.actor_username,
                record.project_number or "",
                record.members,
                record.from_slot,
                record.to_slot,
            ]
            for record in queryset.order_by("created_at", "pk")
        ]
        header = [
            f"when ({tz})",
            "action",
            "path",
            "by",
            "team",
            "members' numbers",
            "from slot",
            "to slot",
        ]
        return csv_response("booking-records.csv", header, rows)
