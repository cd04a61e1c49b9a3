"""Form helpers shared by the apps' views and admins."""

from django.core.exceptions import ValidationError


def add_service_errors(
    form, error: ValidationError, field_map=None, *, field: str | None = None
) -> None:
    """Put a service's ValidationError on the form: on the field it names
    when the form has that field (after renaming it by `field_map`), else on
    `field` (default: the form as a whole). Codes and messages are kept."""
    field_map = field_map or {}
    if not hasattr(error, "error_dict"):
        form.add_error(field, error)
        return
    for key, errors in error.error_dict.items():
        name = field_map.get(key, key)
        form.add_error(name if name in form.fields else field, errors)
