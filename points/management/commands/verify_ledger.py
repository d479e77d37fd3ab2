"""`manage.py verify_ledger [--full]`: recompute the points ledger's hash chains and check
every balance and lot against its entries and movements (points.services.verify). Prints
every account that differs and exits with status 1 when one does."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from points.services.verify import ledger_verify


class Command(BaseCommand):
    help = ("Recompute the points ledger's hash chains and check balances = Σ entries and "
            "lots = Σ movements; incremental from the stored checkpoints unless --full.")

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true",
                            help="walk every account from its genesis, ignoring checkpoints")
        parser.add_argument("--chunk", type=int, default=None,
                            help="accounts per transaction (default: 100,000 full, 5,000 "
                                 "incremental)")

    def handle(self, *args, full: bool, chunk: int | None, **options):
        started = time.monotonic()
        run = ledger_verify(full=full, chunk=chunk)
        seconds = time.monotonic() - started
        for difference in run.differences:
            for problem in difference["problems"]:
                self.stdout.write(f"member {difference['member']}: {problem['code']} "
                                  f"{problem['detail']}".rstrip())
        self.stdout.write(
            f"{'full' if full else 'incremental'} check #{run.pk}: "
            f"{run.accounts_checked} accounts, {run.entries_checked} entries read, "
            f"{run.differing_accounts} differ, {seconds:.2f} s")
        if run.differing_accounts:
            raise CommandError(f"{run.differing_accounts} accounts differ from their ledger")
