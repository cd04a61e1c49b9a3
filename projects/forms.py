from datetime import date

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Column, Layout, Row, Submit
from django import forms
from django.core.validators import MaxLengthValidator

from pairup.dates import slot_label
from projects.selectors import SEARCH_MIN_CHARS

DESCRIPTION_HELP = "What you will build, in 1 to 64 characters."
SLOT_GONE = "That slot is no longer available. Please pick another one."


class SlotChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return slot_label(obj)


def _helper(label: str, action: str = "") -> FormHelper:
    helper = FormHelper()
    if action:
        helper.form_action = action
    helper.add_input(Submit("submit", label))
    return helper


class ProjectCreateForm(forms.Form):
    description = forms.CharField(max_length=64, help_text=DESCRIPTION_HELP, strip=True)
    lab = SlotChoiceField(
        queryset=None,
        required=False,
        label="Lab slot",
        empty_label="No slot yet (book one later)",
        error_messages={"invalid_choice": SLOT_GONE},
    )
    partner = forms.CharField(
        max_length=150,
        required=False,
        label="Partner's student number",
        help_text="Optional: they get an invitation to join.",
    )

    def __init__(
        self, *args, labs, booking_open: bool, with_partner: bool = True, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.fields["lab"].queryset = labs
        if not booking_open:
            self.fields["lab"].help_text = "Booking is closed at the moment."
        if with_partner:
            self.fields["partner"].widget.attrs.update({"inputmode": "numeric"})
        else:
            # Teams of one: nobody could ever accept an invitation.
            del self.fields["partner"]
        self.helper = _helper("Create project")

    def clean_partner(self):
        return self.cleaned_data["partner"].strip()


class ProjectEditForm(forms.Form):
    description = forms.CharField(max_length=64, help_text=DESCRIPTION_HELP, strip=True)

    def __init__(self, *args, action: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper("Save description", action)


class InviteForm(forms.Form):
    partner = forms.CharField(
        max_length=150,
        label="Partner's student number",
        help_text="They get an invitation to join your team.",
    )

    def __init__(self, *args, action: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partner"].widget.attrs.update({"inputmode": "numeric"})
        self.helper = _helper("Send invitation", action)

    def clean_partner(self):
        return self.cleaned_data["partner"].strip()


class StudentSearchForm(forms.Form):
    q = forms.CharField(
        label="Name or student number",
        min_length=SEARCH_MIN_CHARS,
        max_length=100,
        strip=True,
        error_messages={
            "min_length": f"Type at least {SEARCH_MIN_CHARS} characters.",
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_method = "get"
        self.helper.add_input(Submit("", "Search"))


class BoardFilterForm(forms.Form):
    day = forms.TypedChoiceField(
        required=False,
        label="Day",
        coerce=date.fromisoformat,
        empty_value=None,
    )
    room = forms.ChoiceField(required=False, label="Room")

    def __init__(self, *args, rooms, days, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["day"].choices = [("", "Every day")] + [
            (day.isoformat(), f"{day:%a %d %b %Y}") for day in days
        ]
        self.fields["room"].choices = [("", "Every room")] + [
            (room, room) for room in rooms
        ]
        self.helper = FormHelper()
        self.helper.form_method = "get"
        self.helper.layout = Layout(
            Row(
                Column("day", css_class="col-md-4"),
                Column("room", css_class="col-md-4"),
                Column(
                    Submit("", "Show", css_class="btn-secondary mb-3"),
                    css_class="col-md-2 align-self-end",
                ),
            )
        )


# The coordinator's page ---------------------------------------------------


def _day_choices(days, empty: str) -> list[tuple[str, str]]:
    return [("", empty)] + [(day.isoformat(), f"{day:%a %d %b %Y}") for day in days]


def _room_choices(rooms, empty: str) -> list[tuple[str, str]]:
    return [("", empty)] + [(room, room) for room in rooms]


def _day_field(label: str = "Day") -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        required=False, label=label, coerce=date.fromisoformat, empty_value=None
    )


PER_PAGE = [50, 100, 200, 500]


class RosterFilterForm(forms.Form):
    """The filters of the coordinator's table of students (GET)."""

    q = forms.CharField(
        required=False, max_length=100, strip=True, label="Name or student number"
    )
    status = forms.ChoiceField(required=False, label="Status")
    flag = forms.ChoiceField(required=False, label="Flags")
    day = _day_field("Slot day")
    room = forms.ChoiceField(required=False, label="Slot room")
    per_page = forms.TypedChoiceField(
        required=False,
        label="Per page",
        coerce=int,
        empty_value=100,
        choices=[(n, n) for n in PER_PAGE],
    )

    def __init__(self, *args, rooms, days, **kwargs):
        from projects.selectors import ROSTER_FLAGS, ROSTER_STATUSES

        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [
            ("", "Every student"),
            *ROSTER_STATUSES.items(),
        ]
        self.fields["flag"].choices = [("", "Any"), *ROSTER_FLAGS.items()]
        self.fields["day"].choices = _day_choices(days, "Any day")
        self.fields["room"].choices = _room_choices(rooms, "Any room")
        self.fields["per_page"].initial = 100

    def filters(self) -> dict:
        """The valid filters (an invalid one is left out, and shown as an
        error), for `selectors.roster_students`."""
        if not self.is_bound:
            return {}
        self.is_valid()
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if name in ("q", "status", "flag", "day", "room") and value
        }

    @property
    def page_size(self) -> int:
        """The chosen page size, even when another filter is invalid."""
        if not self.is_bound:
            return 100
        self.is_valid()
        return self.cleaned_data.get("per_page") or 100


class PairingForm(forms.Form):
    scope = forms.ChoiceField(
        label="Who to pair", widget=forms.RadioSelect, initial="flagged"
    )

    def __init__(self, *args, **kwargs):
        from projects.coordinator_tools import Scope

        super().__init__(*args, **kwargs)
        self.fields["scope"].choices = Scope.choices


class PlacementForm(forms.Form):
    day = _day_field()
    room = forms.ChoiceField(required=False, label="Room")

    def __init__(self, *args, rooms, days, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["day"].choices = _day_choices(days, "Any day")
        self.fields["room"].choices = _room_choices(rooms, "Any room")


class AnnouncementForm(forms.Form):
    segment = forms.ChoiceField(label="Tell", initial="everyone")
    day = _day_field("Their slot's day")
    room = forms.ChoiceField(required=False, label="Their slot's room")
    message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        strip=True,
        help_text="In the page for each student, and by email for those who "
        "turned announcement emails on.",
    )

    def __init__(self, *args, rooms, days, **kwargs):
        from notifications.services import MESSAGE_MAX
        from projects.coordinator_tools import Segment

        super().__init__(*args, **kwargs)
        self.fields["segment"].choices = Segment.choices
        self.fields["day"].choices = _day_choices(days, "Any day")
        self.fields["room"].choices = _room_choices(rooms, "Any room")
        self.fields["message"].validators.append(MaxLengthValidator(MESSAGE_MAX))
        self.fields["message"].widget.attrs["maxlength"] = MESSAGE_MAX
