#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pairup.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    # A bad environment is the operator's to fix, not a bug: say which
    # variable and why in one line (the settings' message says both) rather
    # than the traceback every command would print.
    try:
        settings.INSTALLED_APPS  # noqa: B018 (reads the settings module)
    except ImproperlyConfigured as error:
        sys.exit(f"Error: {error}")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
