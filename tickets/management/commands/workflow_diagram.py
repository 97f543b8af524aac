"""Print the appeal workflow as a Mermaid state diagram, or write it into README.md."""

import re
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from tickets.diagram import END, START, readme_block


class Command(BaseCommand):
    help = "Print the workflow diagram generated from the state machine (--write: update README.md)."

    def add_arguments(self, parser):
        parser.add_argument("--write", action="store_true", help="Replace the diagram block in README.md.")

    def handle(self, *args, write=False, **options):
        block = readme_block()
        if not write:
            self.stdout.write(block)
            return
        readme = Path(settings.BASE_DIR) / "README.md"
        text = readme.read_text(encoding="utf-8")
        pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)
        text = pattern.sub(lambda _m: block, text) if pattern.search(text) else f"{text.rstrip()}\n\n{block}\n"
        readme.write_text(text, encoding="utf-8")
        self.stdout.write("README.md updated")
