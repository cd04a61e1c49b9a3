import re

from django.conf import settings
from django.core.exceptions import ValidationError


def validate_student_number(value: str) -> None:
    # fullmatch: a trailing newline or anything else around the number fails.
    if not re.fullmatch(settings.PAIRUP_STUDENT_NUMBER_REGEX, value or ""):
        raise ValidationError(
            "Enter a valid student number (as printed on your student card).",
            code="invalid_student_number",
        )
