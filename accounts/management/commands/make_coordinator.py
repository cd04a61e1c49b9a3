from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.coordinators import coordinator_make


class Command(BaseCommand):
    help = (
        "Put a staff user in the Coordinators group, which grants the admin "
        "permissions a coordinator needs. Students cannot be made coordinators."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, **options):
        try:
            user = coordinator_make(username=options["username"])
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(f"{user.username} is now a coordinator.")
