"""``manage.py audit_verify``: walk every chain of the audit log and report its first broken link.

Exit status 0 and ``OK`` when every chain verifies; otherwise the first broken link of each
broken chain (chain, event id, its number, what is wrong) and exit status 1. ``-v 2`` also prints
each chain's head (number and hash): record them elsewhere, and a later run shows whether the
newest events of a chain were removed (a shorter chain still verifies). See docs/security.md.
"""

from typing import Any

from django.core.management import BaseCommand, CommandError, CommandParser

from rbac.audit_chain import audit_chains_verify


class Command(BaseCommand):
    help = "Verify the audit log's hash chains; report the first broken link of each."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--chain", help="verify only this chain (e.g. clinic:12, platform)")

    def handle(self, *args: Any, **options: Any) -> None:
        reports = audit_chains_verify(chain=options["chain"])
        broken = [report.first_break for report in reports if report.first_break]
        events = sum(report.events for report in reports)
        if options["verbosity"] >= 2:
            for report in reports:
                self.stdout.write(
                    f"{report.chain}: {report.events} events, head #{report.head_seq} "
                    f"{report.head_hash}"
                )
        for link in broken:
            self.stderr.write(f"BROKEN {link}")
        if broken:
            raise CommandError(
                f"{len(broken)} of {len(reports)} audit chains are broken ({events} events)"
            )
        self.stdout.write(f"OK: {len(reports)} audit chains, {events} events verified")
