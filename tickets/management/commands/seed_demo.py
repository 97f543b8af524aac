"""Idempotent demo data for development: appeal types, groups and demo staff users."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from tickets.models import AppealType, CannedReply
from tickets.seed.appeal_types import appeal_types_seed
from tickets.seed.canned_replies import canned_replies_seed
from tickets.seed.demo import demo_appeals_create

DEMO_USERS = (
    # username, password, groups, is_superuser
    ("agent", "agent-demo-2026", ["agents"], False),
    ("supervisor", "supervisor-demo-2026", ["agents", "supervisors"], False),
    ("admin", "admin-demo-2026", [], True),
)

GROUP_PERMISSIONS = {
    "agents": ["tickets.view_appeal", "tickets.view_appealtype", "evidence.view_evidence"],
    "supervisors": ["tickets.view_appeal", "tickets.view_appealtype", "evidence.view_evidence"],
}


class Command(BaseCommand):
    help = "Create appeal types, the agents/supervisors groups, demo staff users and demo appeals (development only)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Run even with DJANGO_DEBUG off.")

    @transaction.atomic
    def handle(self, *args, force=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError("seed_demo creates users with published passwords: development only (use --force).")
        created = appeal_types_seed(AppealType)
        count = AppealType.objects.count()
        # The data migration creates the types; this only adds any that were deleted since.
        self.stdout.write(
            f"appeal types: {count} ({created} missing, created again)"
            if created
            else f"appeal types: {count} (seeded by the migrations)"
        )
        for name, codenames in GROUP_PERMISSIONS.items():
            group, group_created = Group.objects.get_or_create(name=name)
            if group_created:  # an existing group keeps the permissions someone gave it
                perms = [
                    Permission.objects.get(content_type__app_label=c.split(".")[0], codename=c.split(".")[1]) for c in codenames
                ]
                group.permissions.set(perms)
        User = get_user_model()
        self.stdout.write(f"demo logins ({settings.SITE_URL}/accounts/login/):")
        for username, password, groups, is_superuser in DEMO_USERS:
            # Created once: an existing user is left exactly as it is (password, groups, flags), so a
            # restart neither signs anyone out nor undoes a change made since.
            user, user_created = User.objects.get_or_create(
                username=username,
                defaults={
                    "email": f"{username}@example.com",
                    "is_staff": is_superuser,  # the Django admin is for administrators; agents use /desk/
                    "is_superuser": is_superuser,
                },
            )
            if user_created:
                user.set_password(password)
                user.save(update_fields=["password"])
                user.groups.set(Group.objects.filter(name__in=groups))
                self.stdout.write(f"  {username:<11} {password}")
            else:
                self.stdout.write(f"  {username:<11} {password}  (existing user left as it is: password unchanged)")
        self.stdout.write(
            "  each sets up a second factor at the first sign-in (an authenticator app; passkeys need a"
            " domain name: open http://localhost:8000 rather than 127.0.0.1)"
        )
        created = demo_appeals_create(
            agent=User.objects.get(username="agent"), supervisor=User.objects.get(username="supervisor")
        )
        self.stdout.write(f"demo appeals: {created} created" if created else "demo appeals: already there")
        created = canned_replies_seed(CannedReply)
        self.stdout.write(f"canned replies: {created} created" if created else "canned replies: already there")
