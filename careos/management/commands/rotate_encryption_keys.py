from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from careos.encryption_rotation import DEFAULT_BATCH_SIZE, RotationStats, rotate_all


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted field under the newest key (FIELD_ENCRYPTION_KEYS[0]). "
        "Idempotent; safe to interrupt and re-run."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        results = rotate_all(batch_size=batch_size, on_progress=self._progress)
        failed = [stats for stats in results if stats.undecryptable]
        for stats in results:
            self.stdout.write(
                f"{stats.model} ({', '.join(stats.fields)}): done, {stats.scanned} scanned, "
                f"{stats.rotated} rotated, {stats.conflicts} changed concurrently"
            )
        if failed:
            detail = "; ".join(f"{stats.model} pks {stats.undecryptable[:20]}" for stats in failed)
            raise CommandError(f"rows no configured key can decrypt: {detail}")
        self.stdout.write(self.style.SUCCESS("All encrypted fields are under the newest key."))

    def _progress(self, stats: RotationStats) -> None:
        self.stdout.write(f"{stats.model}: {stats.scanned} scanned, {stats.rotated} rotated")
