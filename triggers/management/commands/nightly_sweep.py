"""One sweep of the nightly pipeline, what beat runs every few minutes: sends what the runs'
rows say is owed and was lost (see triggers/services/sweep.py). Prints JSON of what it did."""

import json

from django.conf import settings

from orgs.cli import ProjectCommand, whole_number
from triggers.services import nightly_sweep


class Command(ProjectCommand):
    help = (
        "Re-send lost chunks, re-queue dead workers' chunks, finish runs, start the stages a "
        "finished run is owed. Prints JSON."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            default=settings.NIGHTLY_SWEEP_OLDER_THAN,
            help="seconds a hand-off may wait before it is taken for lost "
            f"(default {settings.NIGHTLY_SWEEP_OLDER_THAN})",
        )

    def handle(self, *args, **opts):
        older_than = whole_number("--older-than", opts["older_than"], 0, 7 * 24 * 3600)
        out = nightly_sweep(older_than=older_than)
        self.stdout.write(json.dumps(out, indent=2, default=str))
