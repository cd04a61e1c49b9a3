from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms

from chat.services import ROOM_NAME_MAX, room_slug_for


class RoomOpenForm(forms.Form):
    name = forms.CharField(
        label="Room name",
        max_length=ROOM_NAME_MAX,
        help_text="Opens the room, or takes you to it if it is already open.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_method = "post"
        self.helper.add_input(Submit("open", "Open room"))

    def clean_name(self):
        name = self.cleaned_data["name"]
        room_slug_for(name)  # raises ValidationError with the reason
        return name
