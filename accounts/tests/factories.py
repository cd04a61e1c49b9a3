import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from accounts.models import COORDINATORS_GROUP

PASSWORD = "correct-horse-battery-staple"


class StudentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"{30000000 + n:08d}")
    first_name = factory.Sequence(lambda n: f"First{n}")
    last_name = factory.Sequence(lambda n: f"Last{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@student.example.edu")
    password = factory.django.Password(PASSWORD)


class CoordinatorFactory(StudentFactory):
    username = factory.Sequence(lambda n: f"coord{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@staff.example.edu")
    is_staff = True

    @factory.post_generation
    def coordinators_group(self, create, extracted, **kwargs):
        if create:
            group, _ = Group.objects.get_or_create(name=COORDINATORS_GROUP)
            self.groups.add(group)


class ImportedStudentFactory(StudentFactory):
    """A student created from the roster: no usable password yet."""

    password = factory.django.Password(None)
