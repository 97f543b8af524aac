"""Bulk synthetic appeals for benchmarks (fast: bulk inserts, no e-mails)."""

from django.core.management.base import BaseCommand

from tickets.appeal_types import appeal_types_seed
from tickets.generate import appeals_generate
from tickets.models import AppealType


class Command(BaseCommand):
    help = "Insert synthetic open appeals in bulk (for benchmarks)."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, required=True, help="Open appeals whose SLA is in the future.")
        parser.add_argument("--due", type=int, default=0, help="Extra appeals whose SLA has just passed.")
        parser.add_argument("--seed", type=int, default=None, help="Random seed, for repeatable data.")

    def handle(self, *args, count, due, seed, **options):
        appeal_types_seed(AppealType)
        inserted = appeals_generate(count=count, due=due, seed=seed)
        self.stdout.write(f"inserted {inserted} appeals ({due} due now)")
