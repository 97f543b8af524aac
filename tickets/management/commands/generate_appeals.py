"""Bulk synthetic appeals for benchmarks (fast: bulk inserts, no e-mails)."""

from django.core.management.base import BaseCommand

from tickets.models import AppealType
from tickets.seed.appeal_types import appeal_types_seed
from tickets.seed.generate import appeals_generate


class Command(BaseCommand):
    help = "Insert synthetic appeals in bulk, with their events and evidence rows (for benchmarks)."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, required=True, help="Appeals in a realistic mix of types and states.")
        parser.add_argument("--due", type=int, default=0, help="Extra open appeals whose SLA has just passed.")
        parser.add_argument(
            "--decided",
            type=int,
            default=0,
            help="Extra appeals decided 1 to 180 days ago (due times long past), as a production table holds.",
        )
        parser.add_argument(
            "--held-due",
            type=int,
            default=0,
            help="Extra approvals of a high-risk type whose security hold ended in the last hour (for the release sweep).",
        )
        parser.add_argument("--seed", type=int, default=None, help="Random seed, for repeatable data.")
        parser.add_argument("--open-only", action="store_true", help="Only open appeals, all inside their SLA.")
        parser.add_argument("--no-related", action="store_true", help="Skip the audit events and evidence rows.")

    def handle(self, *args, count, due, decided, held_due, seed, open_only, no_related, **options):
        appeal_types_seed(AppealType)
        inserted = appeals_generate(
            count=count, due=due, decided=decided, held_due=held_due, seed=seed, open_only=open_only, related=not no_related
        )
        self.stdout.write(
            f"inserted {inserted} appeals ({due} due now, {decided} decided long ago, {held_due} held and due for release)"
        )
