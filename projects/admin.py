"""The coordinators' admin for slots, teams, invitations and the booking window.

Every write that involves a rule goes through projects.services, so the
admin gets the same integrity checks as the pages (rules 1-3) and the same
booking records; the window and the cut-off don't bind coordinators. A
service's ValidationError shows as a form error, never a server error.
Only coordinators get into the admin at all (`pairup.admin.PairUpAdminSite`).
"""

import functools
from datetime import datetime, timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, F
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from pairup.dates import CLOCK, DAY, STAMP, local_text
from pairup.forms import add_service_errors
from projects import exports, services
from projects.models import (
    BallotRun,
    BookingRecord,
    BookingWindow,
    Invitation,
    Lab,
    Membership,
    Project,
)

User = get_user_model()
Via = BookingRecord.Via


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


class LabAdminForm(forms.ModelForm):
    class Meta:
        model = Lab
        fields = ("room", "start", "end", "is_open")

    def _post_clean(self):
        # After the model's own validation, as Django's UserCreationForm
        # checks the password: only a slot valid on its own (times in range,
        # ending after it starts) is compared with the others.
        super()._post_clean()
        if self.errors:
            return
        lab = self.instance
        try:
            services.lab_overlap_check(
                room=lab.room, start=lab.start, end=lab.end, lab_id=lab.pk
            )
        except ValidationError as error:
            add_service_errors(self, error)


@admin.register(Lab)
class LabAdmin(admin.ModelAdmin):
    form = LabAdminForm
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
        return local_text(lab.start, DAY)

    @admin.display(description="start", ordering="start")
    def start_time(self, lab):
        return local_text(lab.start, CLOCK)

    @admin.display(description="end", ordering="end")
    def end_time(self, lab):
        return local_text(lab.end, CLOCK)

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
        return exports.labs(queryset).response()


# Projects ---------------------------------------------------------------

SLOT_HELP = (
    "Any slot: the booking window and the cut-off don't bind coordinators, "
    "but a slot another team holds is refused."
)


def student_by_number(number: str) -> User:
    """Return the active student with this number, or raise ValidationError."""
    number = number.strip()
    student = User.objects.students().filter(username=number).first()
    if student is None:
        raise ValidationError(
            f"No student with the number {number!r}.", code="no_student"
        )
    return student


def _posted(request):
    """The POST data to bind a form to (even empty), None on GET."""
    return request.POST if request.method == "POST" else None


def student_label(user) -> str:
    return f"{user.username} {user.get_full_name() or user.display_name}".strip()


def _slot_past(lab: Lab | None) -> bool:
    """A slot that has started is let go, never freed for another team."""
    return lab is not None and lab.is_past()


def _freed(lab: Lab | None, free: str, past: str) -> str:
    """What letting go of the team's slot did, for a message."""
    if lab is None:
        return ""
    return past if lab.is_past() else free


class AdminSlotField(forms.ModelChoiceField):
    """Every slot, labelled with who holds it (coordinators may book any)."""

    def __init__(self, **kwargs):
        queryset = Lab.objects.select_related("project").order_by("start", "room")
        super().__init__(queryset=queryset, label="Lab slot", **kwargs)

    def label_from_instance(self, obj):
        project = getattr(obj, "project", None)
        holder = str(project) if project is not None else "free"
        return f"{obj} ({holder}{'' if obj.is_open else ', closed'})"


class ProjectAddForm(forms.Form):
    first_member = forms.CharField(
        label="First member (student number)",
        max_length=150,
        help_text="A student without a project: the project is theirs.",
    )
    description = forms.CharField(
        max_length=64, help_text="What the team will build, in 1 to 64 characters."
    )
    slot = AdminSlotField(
        required=False, empty_label="No slot yet", help_text=f"Optional. {SLOT_HELP}"
    )

    def clean_first_member(self):
        return student_by_number(self.cleaned_data["first_member"])


class SlotForm(forms.Form):
    slot = AdminSlotField(
        empty_label="Choose a slot",
        help_text=f"{SLOT_HELP} Moving releases the team's current slot in the "
        "same step.",
    )


class MemberAddForm(forms.Form):
    student = forms.CharField(
        label="Student number",
        max_length=150,
        help_text="A student without a project: they join at once, no invitation.",
    )

    def clean_student(self):
        return student_by_number(self.cleaned_data["student"])


class ConfirmForm(forms.Form):
    """A confirmation page's form: no fields, a place for a refusal."""


class Gone(Exception):
    """What a page was posted for went meanwhile (a second click, or a page
    left open while another coordinator acted): say so and go on."""

    def __init__(self, message: str, url: str):
        super().__init__(message)
        self.message, self.url = message, url


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
class ProjectAdmin(admin.ModelAdmin):
    """Teams, the way UserAdmin changes a password.

    The change form edits the description (through `project_update`, so the
    admin's own save and history work) and shows the members and the slot.
    Everything else has a page of its own, linked from the change form:
    book or move the slot, release it, add a member, remove one, dissolve,
    and adding a project. Each page shows a form or a confirmation on GET
    and calls ONE service on POST, inside a transaction with its history
    entry: a refusal shows on the page and changes nothing.
    """

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
    fields = ("description", "slot", "created_at", "updated_at")
    readonly_fields = ("slot", "created_at", "updated_at")
    actions = ("dissolve_projects", "export_csv")

    def get_queryset(self, request):
        return super().get_queryset(request).with_members()

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # dissolve goes through the service
        return actions

    def get_urls(self):
        info = f"{self.opts.app_label}_{self.opts.model_name}"

        def view(route, method, name):
            # GET shows the page, POST acts; any other method is a 405.
            allowed = require_http_methods(["GET", "POST"])(self._saying_gone(method))
            return path(
                route, self.admin_site.admin_view(allowed), name=f"{info}_{name}"
            )

        own = [
            view("add/", self.add_view, "add"),
            view("<path:object_id>/slot/", self.slot_book_view, "slot_book"),
            view(
                "<path:object_id>/slot/release/",
                self.slot_release_view,
                "slot_release",
            ),
            view("<path:object_id>/members/add/", self.member_add_view, "member_add"),
            view(
                "<path:object_id>/members/<int:membership_id>/remove/",
                self.member_remove_view,
                "member_remove",
            ),
            view("<path:object_id>/dissolve/", self.dissolve_view, "dissolve"),
        ]
        # Dissolve replaces the stock delete page, which would delete the
        # project without the service (no booking record, no broadcast).
        replaced = {f"{info}_add", f"{info}_delete"}
        stock = [url for url in super().get_urls() if url.name not in replaced]
        return own + stock

    @admin.display(description="members")
    def members(self, project):
        return ", ".join(
            f"{user.username} {user.display_name}" for user in project.member_list()
        )

    @admin.display(description="lab slot", ordering="lab__start")
    def slot(self, project):
        return str(project.lab) if project.lab else None

    # The change form: the description through the service -------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The stock delete link would point at the removed delete page.
        extra_context = {**(extra_context or {}), "show_delete": False}
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        services.project_update(
            user=request.user, project=obj, description=obj.description
        )

    # Pages of their own -------------------------------------------------

    def _saying_gone(self, method):
        @functools.wraps(method)
        def answer(request, *args, **kwargs):
            try:
                return method(request, *args, **kwargs)
            except Gone as gone:
                self.message_user(request, gone.message, messages.WARNING)
                return redirect(gone.url)

        return answer

    def _project(self, request, object_id, may) -> Project:
        """Return the project, after the permission check `may` (403), or 404
        (a POST for a team dissolved meanwhile: Gone)."""
        project = self.get_object(request, unquote(object_id))
        if not may(request, project):
            raise PermissionDenied
        if project is None:
            if request.method == "POST" and unquote(object_id).isdigit():
                raise Gone(
                    f"Team {unquote(object_id)} no longer exists: it was dissolved.",
                    reverse(f"{self.admin_site.name}:projects_project_changelist"),
                )
            raise Http404(f"No project with the id {object_id!r}.")
        return project

    def _change_url(self, project) -> str:
        return reverse(
            f"{self.admin_site.name}:projects_project_change", args=[project.pk]
        )

    def _render(self, request, template, *, form, title, submit, project=None, **extra):
        fieldsets = [(None, {"fields": list(form.base_fields)})]
        if project is not None:
            cancel_url = self._change_url(project)
        else:
            cancel_url = reverse(f"{self.admin_site.name}:projects_project_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.opts,
            "original": project,
            "form": form,
            "adminform": helpers.AdminForm(form, fieldsets, {})
            if form.fields
            else None,
            "submit_label": submit,
            "cancel_url": cancel_url,
            "team_size": settings.PAIRUP_TEAM_SIZE,
            **extra,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, f"admin/projects/project/{template}", context)

    def _changed(self, request, project, message: str):
        """Say what changed and go back to the project's page."""
        self.message_user(request, message, messages.SUCCESS)
        return redirect(self._change_url(project))

    def add_view(self, request, form_url="", extra_context=None):
        """Add a project for a student: `project_create`, acting as the
        coordinator. A page of its own rather than the stock add form, whose
        save runs after validation, where a refusal could no longer land on
        the form."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        # The coordinator page's "Start a team" links here with the number.
        initial = {"first_member": request.GET.get("first_member", "")}
        form = ProjectAddForm(_posted(request), initial=initial)
        if request.method == "POST" and form.is_valid():
            student, lab = form.cleaned_data["first_member"], form.cleaned_data["slot"]
            label = student_label(student)
            message = f"Added for {label}" + (f", with the slot {lab}." if lab else ".")
            try:
                with transaction.atomic():
                    project = services.project_create(
                        user=student,
                        actor=request.user,
                        description=form.cleaned_data["description"],
                        lab=lab,
                        via=Via.ADMIN,
                    )
                    self.log_addition(request, project, message)
            except ValidationError as error:
                if getattr(error, "code", None) == "already_member":
                    error = ValidationError(f"{label} already has a project.")
                add_service_errors(form, error, {"lab": "slot"}, field="first_member")
            else:
                return self._changed(request, project, f"{project}: {message}")
        return self._render(
            request,
            "project_add.html",
            form=form,
            title="Add project",
            submit="Add project",
        )

    def slot_book_view(self, request, object_id):
        """Book a slot for the team, or move it there: `lab_book`."""
        project = self._project(request, object_id, self.has_change_permission)
        old_lab = project.lab
        form = SlotForm(_posted(request))
        if request.method == "POST" and form.is_valid():
            lab = form.cleaned_data["slot"]
            if old_lab is None:
                message = f"Booked the slot {lab}."
            else:
                message = f"Moved from the slot {old_lab} to {lab}."
            try:
                with transaction.atomic():
                    services.lab_book(
                        user=request.user, project=project, lab=lab, via=Via.ADMIN
                    )
                    self.log_change(request, project, message)
            except ValidationError as error:
                if getattr(error, "code", None) == "same_slot":
                    # Said to students as "Your team ..."; a coordinator has none.
                    error = ValidationError(f"{project} has this slot already.")
                add_service_errors(form, error, field="slot")
            else:
                return self._changed(request, project, f"{project}: {message}")
        return self._render(
            request,
            "slot_book.html",
            project=project,
            form=form,
            title=f"Book or move the slot of {project}",
            submit="Move to this slot" if old_lab else "Book this slot",
        )

    def slot_release_view(self, request, object_id):
        """Release the team's slot after a confirmation: `lab_release`."""
        project = self._project(request, object_id, self.has_change_permission)
        lab = project.lab
        form = ConfirmForm(_posted(request))
        if request.method == "POST" and form.is_valid():
            message = f"Released the slot {lab}."
            try:
                with transaction.atomic():
                    services.lab_release(
                        user=request.user, project=project, via=Via.ADMIN
                    )
                    self.log_change(request, project, message)
            except ValidationError as error:
                if getattr(error, "code", None) == "no_slot":
                    error = ValidationError(f"{project} has no slot to release.")
                add_service_errors(form, error)
            else:
                return self._changed(request, project, f"{project}: {message}")
        return self._render(
            request,
            "slot_release.html",
            project=project,
            form=form,
            title=f"Release the slot of {project}",
            submit="Yes, release the slot",
            lab=lab,
            slot_past=_slot_past(lab),
        )

    def member_add_view(self, request, object_id):
        """Put a free student into the team: `membership_add`."""
        project = self._project(request, object_id, self.has_change_permission)
        form = MemberAddForm(_posted(request))
        if request.method == "POST" and form.is_valid():
            student = form.cleaned_data["student"]
            message = f"Added the member {student_label(student)}."
            try:
                with transaction.atomic():
                    services.membership_add(
                        actor=request.user,
                        project=project,
                        student=student,
                        via=Via.ADMIN,
                    )
                    self.log_change(request, project, message)
            except ValidationError as error:
                add_service_errors(form, error, field="student")
            else:
                return self._changed(request, project, f"{project}: {message}")
        return self._render(
            request,
            "member_add.html",
            project=project,
            form=form,
            title=f"Add a member to {project}",
            submit="Add to the team",
        )

    def member_remove_view(self, request, object_id, membership_id):
        """Take a member out after a confirmation: `membership_remove`, which
        dissolves the team when it was the last member."""
        project = self._project(request, object_id, self.has_change_permission)
        memberships = {m.pk: m for m in project.memberships.all()}
        membership = memberships.get(membership_id)
        if (
            membership is None
            and request.method == "POST"
            and not Membership.objects.filter(pk=membership_id).exists()
        ):
            raise Gone(
                f"That member is no longer in {project}: the list below is up to date.",
                self._change_url(project),
            )
        if membership is None:
            raise Http404(f"No member {membership_id} in {project}.")
        label = student_label(membership.user)
        form = ConfirmForm(_posted(request))
        if request.method == "POST" and form.is_valid():
            lab = project.lab
            try:
                with transaction.atomic():
                    services.membership_remove(
                        actor=request.user, membership=membership, via=Via.ADMIN
                    )
                    dissolved = not Project.objects.filter(pk=project.pk).exists()
                    what = "the last member" if dissolved else "a member"
                    self.log_change(request, project, f"Removed {what}, {label}.")
                    if dissolved:
                        self.log_deletions(request, [project])
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                if not dissolved:
                    message = f"{project}: removed the member {label}."
                    return self._changed(request, project, message)
                freed = _freed(lab, "; its slot is free", " (its slot had passed)")
                self.message_user(
                    request,
                    f"{project} had no members left and was dissolved{freed}.",
                    messages.SUCCESS,
                )
                return redirect(
                    reverse(f"{self.admin_site.name}:projects_project_changelist")
                )
        return self._render(
            request,
            "member_remove.html",
            project=project,
            form=form,
            title=f"Remove {label} from {project}",
            submit="Yes, remove them",
            membership=membership,
            last_member=len(memberships) == 1,
            slot_past=_slot_past(project.lab),
        )

    def dissolve_view(self, request, object_id):
        """Dissolve the team after a confirmation: `project_dissolve`."""
        project = self._project(request, object_id, self.has_delete_permission)
        form = ConfirmForm(_posted(request))
        if request.method == "POST" and form.is_valid():
            try:
                with transaction.atomic():
                    self.log_deletions(request, [project])
                    services.project_dissolve(
                        user=request.user, project=project, via=Via.ADMIN
                    )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                freed = _freed(
                    project.lab, "; its slot is free", " (its slot had passed)"
                )
                self.message_user(
                    request,
                    f"{project} was dissolved: its members are free{freed}.",
                    messages.SUCCESS,
                )
                return redirect(
                    reverse(f"{self.admin_site.name}:projects_project_changelist")
                )
        return self._render(
            request,
            "project_dissolve.html",
            project=project,
            form=form,
            title=f"Dissolve {project}",
            submit="Yes, dissolve the team",
            pending_invitations=project.invitations.filter(
                status=Invitation.Status.PENDING
            ).count(),
            slot_past=_slot_past(project.lab),
        )

    @admin.action(
        description="Dissolve the selected projects (members become free)",
        permissions=["delete"],
    )
    def dissolve_projects(self, request, queryset):
        dissolved, refused = 0, []
        for project in queryset:
            try:
                with transaction.atomic():
                    self.log_deletions(request, [project])
                    services.project_dissolve(
                        user=request.user, project=project, via=Via.ADMIN
                    )
            except ValidationError as error:
                refused.append(f"{project}: {' '.join(error.messages)}")
            else:
                dissolved += 1
        self.message_user(
            request, f"{dissolved} project(s) dissolved.", messages.SUCCESS
        )
        for reason in refused:
            self.message_user(request, reason, messages.ERROR)

    @admin.action(description="Download the selected teams as CSV")
    def export_csv(self, request, queryset):
        # The changelist's queryset has the members preloaded already.
        projects = queryset.select_related("lab").order_by(
            F("lab__start").asc(nulls_last=True), "lab__room", "pk"
        )
        return exports.teams(projects, filename="teams.csv").response()


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
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
class InvitationAdmin(admin.ModelAdmin):
    list_display = ("team", "inviter", "invitee", "status", "created_at")
    list_filter = ("status", "created_at")
    list_select_related = ("inviter", "invitee")
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
        "project_number",
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

    @admin.display(description="team", ordering="project_number")
    def team(self, invitation):
        # A dissolved team's invitations outlive it, cancelled.
        return invitation.team + ("" if invitation.project_id else " (dissolved)")

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
class BookingWindowAdmin(admin.ModelAdmin):
    """The single window row: the list goes straight to its form."""

    fieldsets = (
        (
            "Booking",
            {
                "fields": (
                    "booking_open",
                    "mode",
                    "ballot_closes_at",
                    "opens_at",
                    "closes_at",
                ),
                "description": "Students can book, move and release slots while "
                "booking is open and now is between the two times (local time, "
                "both optional). In ballot mode teams rank slots until the "
                "ballot closes; one allocation then books what it can, and "
                "first come opens at “opens at” (required, after the ballot "
                "closes) for the rest. The coordinator page shows the ballot.",
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
class BookingRecordAdmin(admin.ModelAdmin):
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
        return local_text(record.created_at, STAMP)

    @admin.action(description="Download the selected records as CSV")
    def export_csv(self, request, queryset):
        return exports.booking_records(queryset).response()


# The ballot ---------------------------------------------------------------


@admin.register(BallotRun)
class BallotRunAdmin(admin.ModelAdmin):
    """Every allocation of the ballot, read-only: dry runs and the run, with
    the seed and the rankings they used."""

    list_display = (
        "created_at",
        "dry_run",
        "trigger",
        "actor_username",
        "placed",
        "ranked",
        "first_choices",
        "top_three",
        "seed",
    )
    list_filter = ("dry_run", "trigger")
    readonly_fields = [field.name for field in BallotRun._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
