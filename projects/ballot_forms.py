"""Forms of the ballot's pages: the booking mode on the coordinator's
ballot page, and reading a posted ranking."""

from django import forms
from django.core.exceptions import ValidationError

from pairup.api_errors import MAX_ID
from projects.models import BookingWindow

LOCAL_INPUT = "%Y-%m-%dT%H:%M"


def _local_input() -> forms.DateTimeInput:
    return forms.DateTimeInput(
        attrs={"type": "datetime-local", "class": "form-control"},
        format=LOCAL_INPUT,
    )


class BookingModeForm(forms.ModelForm):
    """The booking window's mode and times (local time), as in the admin.

    The model's `clean` checks ballot mode (a closing time, first come
    opening after it); the service saves it and schedules the run.
    """

    class Meta:
        model = BookingWindow
        fields = ["mode", "ballot_closes_at", "opens_at", "closes_at"]
        labels = {
            "mode": "Booking mode",
            "ballot_closes_at": "The ballot closes at",
            "opens_at": "First come booking opens at",
            "closes_at": "Booking closes at",
        }
        help_texts = {
            "mode": "First come: teams book free slots as they like. Ballot: "
            "teams rank slots until the ballot closes, one allocation books "
            "what it can, then first come opens for the rest.",
            "ballot_closes_at": "Ballot mode only: the allocation runs then.",
            "opens_at": "Optional for first come; in ballot mode required, after "
            "the ballot closes.",
            "closes_at": "Optional.",
        }
        error_messages = {
            "ballot_closes_at": {"invalid": "Enter a date and time."},
            "opens_at": {"invalid": "Enter a date and time."},
            "closes_at": {"invalid": "Enter a date and time."},
        }
        widgets = {
            "mode": forms.RadioSelect,
            "ballot_closes_at": _local_input(),
            "opens_at": _local_input(),
            "closes_at": _local_input(),
        }


def posted_ranking(data) -> list[int]:
    """The ranking a form posted (its `slot` fields, in order), after the
    button that was pressed: `move` = "up:<id>", "down:<id>" or
    "remove:<id>", or `action` = "add" with `add` = <id>.

    Raise ValidationError with a message for the user when it can't be
    read.
    """
    try:
        ranking = [int(value) for value in data.getlist("slot")]
    except ValueError:
        raise ValidationError("That ranking could not be read.") from None
    if any(not 0 < pk <= MAX_ID for pk in ranking):
        raise ValidationError("That ranking could not be read.")
    move = data.get("move", "")
    if move:
        verb, _, value = move.partition(":")
        try:
            lab_id = int(value)
        except ValueError:
            raise ValidationError("That ranking could not be read.") from None
        if lab_id not in ranking or verb not in ("up", "down", "remove"):
            raise ValidationError(
                "That slot is no longer in the ranking: reload the page."
            )
        index = ranking.index(lab_id)
        if verb == "remove":
            ranking.pop(index)
        else:
            other = index - 1 if verb == "up" else index + 1
            if 0 <= other < len(ranking):
                ranking[index], ranking[other] = ranking[other], ranking[index]
        return ranking
    if data.get("action") == "add":
        value = data.get("add", "")
        if not value:
            raise ValidationError("Choose a slot to add to the ranking.")
        try:
            lab_id = int(value)
        except ValueError:
            raise ValidationError("That slot could not be read.") from None
        if not 0 < lab_id <= MAX_ID:
            raise ValidationError("That slot could not be read.")
        if lab_id not in ranking:
            ranking.append(lab_id)
    return ranking
