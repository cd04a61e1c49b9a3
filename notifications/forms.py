from django import forms

from notifications.models import Category


class EmailPreferencesForm(forms.Form):
    """One checkbox per category: email on or off (in-page is always on)."""

    def __init__(self, *args, initial_choices: dict[str, bool] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        for category in Category:
            self.fields[category.value] = forms.BooleanField(
                label=category.label,
                required=False,
                initial=(initial_choices or {}).get(category.value, False),
            )
