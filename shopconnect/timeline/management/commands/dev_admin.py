"""Create the development login used by ``make run`` (refuses when DEBUG is off)."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Ensure a development superuser admin/admin exists (DEBUG only)."

    def handle(self, *args, **opts):
        if not settings.DEBUG:
            raise CommandError("dev_admin is for development only (DEBUG is off); use createsuperuser")
        User = get_user_model()
        user, created = User.objects.get_or_create(username="admin", defaults={"email": "admin@example.com"})
        if created:
            user.is_staff = user.is_superuser = True
            user.set_password("admin")
            user.save()
        self.stdout.write("login: admin / admin" + (" (created)" if created else ""))
