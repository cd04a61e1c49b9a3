from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from chat.models import Message, Mute, Room
from chat.services import (
    message_delete,
    mute_lift,
    mute_set,
    room_delete,
    room_update,
)


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    """Rooms: rename, close or reopen, delete; always through chat.services."""

    list_display = ["name", "slug", "project", "closed", "last_joined_at", "created_at"]
    list_filter = ["closed", ("project", admin.EmptyFieldListFilter)]
    search_fields = ["name", "slug"]
    list_select_related = ["project"]
    fields = ["name", "slug", "project", "closed", "created_at", "last_joined_at"]
    actions = ["close_rooms", "reopen_rooms"]

    def has_add_permission(self, request):
        # Public rooms are opened on /chat/, team rooms come with their team.
        return False

    def get_readonly_fields(self, request, obj=None):
        readonly = ["slug", "project", "created_at", "last_joined_at"]
        if obj is not None and obj.is_team_room:
            readonly.append("closed")  # a team room goes with its team
        return readonly

    def save_model(self, request, obj, form, change):
        try:
            room_update(actor=request.user, room=obj, name=obj.name, closed=obj.closed)
        except ValidationError as error:
            self.message_user(request, "; ".join(error.messages), messages.ERROR)

    def delete_model(self, request, obj):
        room_delete(actor=request.user, room=obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for room in queryset:
                room_delete(actor=request.user, room=room)

    def _set_closed(self, request, queryset, closed: bool) -> int:
        changed = 0
        with transaction.atomic():
            for room in queryset.filter(project__isnull=True, closed=not closed):
                room_update(
                    actor=request.user, room=room, name=room.name, closed=closed
                )
                changed += 1
        return changed

    @admin.action(description="Close the selected rooms", permissions=["change"])
    def close_rooms(self, request, queryset):
        already = queryset.filter(project__isnull=True, closed=True).count()
        closed = self._set_closed(request, queryset, True)
        skipped = queryset.filter(project__isnull=False).count()
        said = (
            f"{closed} room(s) closed; the people in them were disconnected."
            if closed
            else "No room closed."
        )
        if already:
            said += f" {already} room(s) were closed already."
        if skipped:
            said += f" {skipped} team room(s) skipped: they go with their team."
        self.message_user(request, said, messages.SUCCESS)

    @admin.action(description="Reopen the selected rooms", permissions=["change"])
    def reopen_rooms(self, request, queryset):
        reopened = self._set_closed(request, queryset, False)
        self.message_user(request, f"{reopened} room(s) reopened.", messages.SUCCESS)


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["id", "room", "author", "short_text", "sent_at"]
    list_filter = ["room"]
    # By the name chat shows (preferred, else first) and the full name.
    search_fields = [
        "text",
        "author__username",
        "author__preferred_name",
        "author__first_name",
        "author__last_name",
    ]
    list_select_related = ["room", "author"]
    readonly_fields = ["room", "author", "text", "sent_at"]
    date_hierarchy = "sent_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="text")
    def short_text(self, obj):
        return obj.text if len(obj.text) <= 80 else f"{obj.text[:79]}…"

    def delete_model(self, request, obj):
        message_delete(actor=request.user, message=obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for message in queryset:
                message_delete(actor=request.user, message=message)


class MuteAdminForm(forms.ModelForm):
    class Meta:
        model = Mute
        fields = ["user", "until", "reason"]

    def clean_until(self):
        until = self.cleaned_data["until"]
        if until is not None and until <= timezone.now():
            raise ValidationError("The end of a mute must be in the future.")
        return until

    def validate_unique(self):
        # One mute per user: name the student, and what to do, rather than
        # Django's "Mute with this User already exists."
        user = self.cleaned_data.get("user")
        if (
            self.instance.pk is None
            and user is not None
            and Mute.objects.filter(user=user).exists()
        ):
            self.add_error(
                "user",
                f"{user.username} is muted already: change or lift that mute instead.",
            )
            return
        super().validate_unique()


@admin.register(Mute)
class MuteAdmin(admin.ModelAdmin):
    form = MuteAdminForm
    list_display = ["user", "until", "is_active_now", "reason", "created_by"]
    list_filter = [("until", admin.EmptyFieldListFilter)]
    search_fields = [
        "user__username",
        "user__preferred_name",
        "user__first_name",
        "user__last_name",
    ]
    list_select_related = ["user", "created_by"]
    raw_id_fields = ["user"]
    fields = ["user", "until", "reason"]
    actions = ["lift_mutes"]

    @admin.display(boolean=True, description="active")
    def is_active_now(self, obj):
        return obj.is_active()

    def get_readonly_fields(self, request, obj=None):
        return ["user"] if obj else []

    def save_model(self, request, obj, form, change):
        try:
            saved = mute_set(
                actor=request.user, user=obj.user, until=obj.until, reason=obj.reason
            )
        except ValidationError as error:
            self.message_user(request, "; ".join(error.messages), messages.ERROR)
            return
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        mute_lift(actor=request.user, user=obj.user)

    def delete_queryset(self, request, queryset) -> int:
        """Lift the mutes; return how many there still were to lift."""
        lifted = 0
        with transaction.atomic():
            for mute in queryset.select_related("user"):
                lifted += mute_lift(actor=request.user, user=mute.user)
        return lifted

    @admin.action(description="Lift the selected mutes")
    def lift_mutes(self, request, queryset):
        lifted = self.delete_queryset(request, queryset)
        if lifted:
            self.message_user(request, f"{lifted} mute(s) lifted.", messages.SUCCESS)
        else:
            self.message_user(
                request,
                "No mute lifted: the selected ones were lifted already.",
                messages.WARNING,
            )
