"""Run one SLA sweep now: the same code the beat task runs."""

from django.core.management.base import BaseCommand

from tickets.sla.sweep import sla_sweep


class Command(BaseCommand):
    help = "Run one SLA sweep now (warnings, escalations, alerts) and print what it did."

    def handle(self, *args, **options):
        report = sla_sweep()
        self.stdout.write(f"SLA sweep: {report}")
        for label, references in (
            ("warned", report.warned),
            ("escalated", report.escalated),
            ("breached (already escalated)", sorted(set(report.breached) - set(report.escalated))),
            ("breached again after escalation", report.second_breached),
        ):
            if references:
                self.stdout.write(f"  {label}: {', '.join(references)}")
