"""`manage.py seed_demo`: create the demo organization, its users and a realistic portfolio."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.core.validators import validate_slug

from accounts.demo import (
    DEFAULT_SLUG,
    DEMO_PASSWORD,
    MAX_MONTHS,
    DemoSeedError,
    DemoSpec,
    demo_logins_lines,
    demo_seed,
)
from accounts.demo.catalogue import DEMO_LOCALES
from accounts.signals import demo_org_seeded
from orgs.cli import (
    EARLIEST_DAY,
    ProjectCommand,
    check_day,
    parse_date,
    today_for,
    whole_number,
)
from orgs.models import Organization


class Command(ProjectCommand):
    help = (
        "Seed a deterministic, realistic demo organization: products, personas, accounts, "
        "subscriptions and their MRR ledger, contacts, churn history and daily signals, plus "
        f"one user per role (password {DEMO_PASSWORD!r})."
    )

    def add_arguments(self, parser):
        # Numbers are parsed here rather than by argparse so a bad value is one line, not usage.
        parser.add_argument("--org", default=DEFAULT_SLUG, help="organization slug (demo)")
        parser.add_argument("--accounts", default="3000", help="number of accounts (3000)")
        parser.add_argument(
            "--months", default="12", help=f"months of signals, 1-{MAX_MONTHS} (12)"
        )
        parser.add_argument("--seed", default="42", help="random seed; same seed, same data (42)")
        parser.add_argument(
            "--today", default=None, help="the day the data ends, YYYY-MM-DD (today)"
        )
        parser.add_argument(
            "--locale",
            default="pt-br",
            help="the organization's language and formats: pt-br (reais, São Paulo; the "
            "default) or en (dollars, New York)",
        )
        parser.add_argument(
            "--replace", action="store_true", help="delete an existing organization first"
        )
        parser.add_argument(
            "--if-missing",
            action="store_true",
            help="if the organization exists, leave it alone and just print the logins",
        )
        parser.add_argument(
            "--no-logins",
            action="store_true",
            help="do not print the logins (make demo prints them after the backfill)",
        )

    def handle(self, *args, **options):
        slug = options["org"] or ""
        try:
            validate_slug(slug)
        except ValidationError:
            raise CommandError(
                f"--org must be a slug of letters, digits, hyphens or underscores (got {slug!r})"
            ) from None
        if len(slug) > Organization._meta.get_field("slug").max_length:
            raise CommandError(f"--org is too long (got {len(slug)} characters)")
        accounts = whole_number("--accounts", options["accounts"], 1)
        months = whole_number("--months", options["months"], 1, MAX_MONTHS)
        seed = whole_number("--seed", options["seed"], 0)
        requested = parse_date(options["today"], "--today") if options["today"] else None
        if options["locale"] not in DEMO_LOCALES:
            raise CommandError(
                f"--locale must be one of {', '.join(DEMO_LOCALES)} (got {options['locale']!r})"
            )
        if options["replace"] and options["if_missing"]:
            raise CommandError("--replace and --if-missing contradict each other; pass one")

        existing = Organization.objects.filter(slug=slug).first()
        today, zone = today_for(existing)  # today in the demo's zone (where its days are)
        if requested is not None:
            today = check_day(requested, "--today", today=today, zone=zone)
        spec = DemoSpec(
            slug=slug,
            accounts=accounts,
            months=months,
            seed=seed,
            today=today,
            locale=options["locale"],
        )
        first = today - dt.timedelta(days=spec.window_days)
        if first < EARLIEST_DAY:
            raise CommandError(
                f"--today: {today} with --months {months} starts the data on {first}, "
                f"before {EARLIEST_DAY}; pass a later --today or fewer --months"
            )
        if existing is not None and options["if_missing"]:
            self.stdout.write(f"Organization {existing.name!r} ({slug}) exists; left as it is.")
            if not options["no_logins"]:
                self._print_logins(existing)
            return

        self.stdout.write(
            f"Seeding {spec.org_name!r} ({slug}): {accounts:,} accounts, {months} months of "
            f"signals up to {today - dt.timedelta(days=1)}, seed {seed}"
        )
        try:
            result = demo_seed(spec=spec, replace=options["replace"], log=self.stdout.write)
        except DemoSeedError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(f"Seeded in {result.seconds:.1f} s."))
        for _receiver, outcome in demo_org_seeded.send(
            sender=self.__class__, organization=result.organization
        ):
            if outcome:
                self.stdout.write(f"  {outcome}")
        if not options["no_logins"]:
            self._print_logins(result.organization)

    def _print_logins(self, org) -> None:
        for line in demo_logins_lines(org):
            self.stdout.write(line)
