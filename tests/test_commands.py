"""Operators' commands: bad arguments give a one-line reason; a run does what it says."""

import datetime as dt
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from health.models import HealthScore
from orgs.models import Organization
from tests import factories as f
from tests.builders import active_days, simple_model, template
from triggers.models import Firing, Trigger

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("command", ["score_health", "run_nightly"])
@pytest.mark.parametrize(
    "args, words",
    [
        (["--org", "nope"], "--org: no organization with slug 'nope'"),
        (["--org", "acme", "--date", "yesterday"], "--date: 'yesterday' is not a date"),
        (["--org", "acme", "--from", "2024-02-01", "--to", "2024-01-01"], "is after --to"),
        (["--org", "acme", "--date", "2024-01-01", "--from", "2024-01-01"], "either --date"),
    ],
)
def test_bad_arguments_are_one_line_errors(org, command, args, words):
    with pytest.raises(CommandError) as exc:
        call_command(command, *args)
    assert words in str(exc.value) and "\n" not in str(exc.value)


def test_health_fitness_and_demo_backfill_refuse_unknown_orgs(org):
    with pytest.raises(CommandError, match="--org: no organization"):
        call_command("health_fitness", "--org", "nope")
    with pytest.raises(CommandError, match="run seed_demo"):
        call_command("demo_backfill", "--org", "nope")
    with pytest.raises(CommandError, match="--daily"):
        call_command("demo_backfill", "--org", "acme", "--days", "10", "--daily", "20")


def test_run_nightly_runs_the_chain_for_each_day(org):
    org.timezone = "UTC"
    org.save(update_fields=["timezone"])
    day = dt.date(2024, 6, 30)
    accounts = [
        f.AccountFactory(organization=org, customer_since=dt.date(2020, 1, 1)) for _ in range(3)
    ]
    for i, account in enumerate(accounts):
        active_days(org, account, i * 5, end=day)  # scores 0, 50, 100
    simple_model(org)
    Trigger.all_objects.create(
        organization=org,
        name="Red",
        kind="retention",
        action="alert",
        template=template(org, "Save", "retention"),
        cooldown_days=30,
        condition={"field": "health_colour", "op": "=", "value": "red"},
    )
    out = io.StringIO()
    call_command(
        "run_nightly",
        "--org",
        "acme",
        "--from",
        "2024-06-29",
        "--to",
        "2024-06-30",
        "--json",
        stdout=out,
    )
    lines = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
    assert [line["day"] for line in lines] == ["2024-06-29", "2024-06-30"]
    assert HealthScore.all_objects.filter(date=day).count() == 3
    # 0 and 50 are red on the 29th; the cool-down keeps them from firing again on the 30th
    assert lines[0]["alerts"] == 2 and lines[1]["alerts"] == 0
    assert Firing.all_objects.count() == 2
    out = io.StringIO()
    call_command("health_fitness", "--org", "acme", stdout=out)
    assert json.loads(out.getvalue())["organization"] == "acme"


# -- bad days, ranges and unreachable services: one line, non-zero, never a traceback ------

ROOT = Path(__file__).resolve().parent.parent
UNREACHABLE = "postgres://postgres@127.0.0.1:1/x"


def tomorrow_in(zone: str) -> str:
    return (timezone.now().astimezone(ZoneInfo(zone)).date() + dt.timedelta(days=1)).isoformat()


def one_line_error(command, *args) -> str:
    with pytest.raises(CommandError) as exc:
        call_command(command, *args, stdout=io.StringIO(), stderr=io.StringIO())
    message = str(exc.value)
    assert "\n" not in message and "Traceback" not in message
    return message


@pytest.mark.parametrize("command", ["score_health", "run_nightly"])
@pytest.mark.parametrize(
    "args, words",
    [
        (["--date", "0001-01-01"], "--date: 0001-01-01 is before 2000-01-01"),
        (["--date", "1999-12-31"], "--date: 1999-12-31 is before 2000-01-01"),
        (["--date", "9999-12-31"], "--date: 9999-12-31 is in the future (today is "),
        (["--date", "10000-01-01"], "--date: '10000-01-01' is not a date"),
        (["--from", "0001-01-01", "--to", "9999-12-31"], "--from: 0001-01-01 is before"),
        (["--from", "2024-01-01", "--to", "9999-12-31"], "--to: 9999-12-31 is in the future"),
        (["--from", "1925-01-01", "--to", "2024-12-31"], "--from: 1925-01-01 is before"),
        (["--from", "2010-01-01", "--to", "2024-12-31"], "is 5,479 days; a run covers at most"),
        (["--to", "2024-01-01"], "--to: give --from too"),
        (["--date", "x" * 5000], "--date: 'xxxxx"),
    ],
)
def test_days_out_of_bounds_are_refused_naming_the_option(org, command, args, words):
    message = one_line_error(command, "--org", "acme", *args)
    assert words in message
    assert len(message) < 200


@pytest.mark.parametrize("command", ["score_health", "run_nightly"])
def test_the_future_is_counted_in_the_organizations_zone(org, command):
    # Pago Pago (UTC-11) is always a day or two behind Kiritimati (UTC+14)
    org.timezone = "Pacific/Pago_Pago"
    org.save(update_fields=["timezone"])
    day = tomorrow_in("Pacific/Pago_Pago")
    assert tomorrow_in("Pacific/Kiritimati") > day
    message = one_line_error(command, "--org", "acme", "--date", day)
    assert f"--date: {day} is in the future" in message and "in Pacific/Pago_Pago" in message


def test_today_and_the_earliest_day_are_accepted(org):
    today = timezone.now().astimezone(ZoneInfo(org.timezone)).date()
    out = io.StringIO()
    call_command("score_health", "--org", "acme", "--date", today.isoformat(), stdout=out)
    call_command("run_nightly", "--org", "acme", "--from", "2000-01-01", "--to", "2000-01-02")
    assert f"acme {today}: done, 0 accounts" in out.getvalue()


def test_a_range_is_at_most_ten_years():
    from orgs.cli import MAX_RANGE_DAYS, check_range

    first = dt.date(2010, 1, 1)
    check_range(first, first + dt.timedelta(days=MAX_RANGE_DAYS - 1))
    with pytest.raises(CommandError, match="3,661 days; a run covers at most 3,660"):
        check_range(first, first + dt.timedelta(days=MAX_RANGE_DAYS))


@pytest.mark.parametrize(
    "args, words",
    [
        (["--today", "0001-01-01"], "--today: 0001-01-01 is before 2000-01-01"),
        (["--today", "9999-12-31"], "--today: 9999-12-31 is in the future"),
        (["--today", tomorrow_in("America/Sao_Paulo")], "in the future (today is "),
        (["--today", "2000-06-01", "--months", "12"], "starts the data on 1999-06-02"),
        (["--today", "31/12/2024"], "--today: '31/12/2024' is not a date"),
        (["--months", "1200"], "--months must be between 1 and 36"),
    ],
)
def test_seed_demo_refuses_days_out_of_bounds(db, args, words):
    assert words in one_line_error("seed_demo", "--org", "demo2", "--accounts", "5", *args)
    assert not Organization.objects.filter(slug="demo2").exists()


@pytest.mark.parametrize(
    "command, args, words",
    [
        ("demo_backfill", ["--days", "36525"], "--days must be between 1 and 3,660"),
        ("demo_backfill", ["--days", "0"], "--days must be between 1 and 3,660"),
        ("bench_nightly", ["--date", "0001-01-01"], "--date: 0001-01-01 is before 2000-01-01"),
        ("bench_nightly", ["--date", "9999-12-31"], "--date: 9999-12-31 is in the future"),
        ("bench_workspace", ["prepare", "--days", "36500"], "--days must be between 1 and 730"),
    ],
)
def test_the_benchmarks_and_the_backfill_refuse_days_out_of_bounds(org, command, args, words):
    org_args = ["--org", "acme"]
    argv = [*args[:1], *org_args, *args[1:]] if command == "bench_workspace" else [*org_args, *args]
    assert words in one_line_error(command, *argv)
    assert not HealthScore.all_objects.exists()


def test_a_database_error_that_is_not_a_connection_is_one_line_too(org):
    from django.db import connection, transaction

    from orgs.cli import ProjectCommand

    class Broken(ProjectCommand):
        def handle(self, *args, **options):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT * FROM no_such_table_here")

    with pytest.raises(CommandError) as exc:
        call_command(Broken())
    assert str(exc.value).startswith("database at ")
    assert 'relation "no_such_table_here" does not exist. Run `manage.py migrate` first' in str(
        exc.value
    )


def project_commands() -> dict[str, object]:
    from django.apps import apps
    from django.core.management import find_commands, load_command_class

    found = {}
    for app in apps.get_app_configs():
        if Path(app.path).parent != ROOT:
            continue  # Django's and third parties' commands
        for name in find_commands(str(Path(app.path) / "management")):
            found[name] = load_command_class(app.name, name)
    return found


def test_every_project_command_has_the_one_line_base():
    from orgs.cli import ProjectCommand

    commands = project_commands()
    assert {"run_nightly", "score_health", "seed_demo", "check_services"} <= set(commands)
    assert [n for n, c in commands.items() if not isinstance(c, ProjectCommand)] == []


def run_all(argvs: list[list[str]], env: dict) -> list[subprocess.CompletedProcess]:
    """Run manage.py with each argv at once (the machine's cores share the start-up)."""
    procs = [
        subprocess.Popen(
            [sys.executable, "manage.py", *argv],
            cwd=ROOT,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "csplatform.settings.test", **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for argv in argvs
    ]
    done = []
    for proc, argv in zip(procs, argvs, strict=True):
        out, err = proc.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(argv, proc.returncode, out, err))
    return done


# The three commands the issue names and one with subcommands; every other command shares the
# same base (test_every_project_command_has_the_one_line_base), so it behaves the same.
UNREACHABLE_ARGVS = [
    ["run_nightly", "--org", "demo"],
    ["score_health", "--org", "demo", "--date", "2024-06-30"],
    ["seed_demo", "--accounts", "5"],
    ["bench_workspace", "prepare"],
]


def test_an_unreachable_database_is_one_line_and_a_non_zero_exit():
    for proc in run_all(UNREACHABLE_ARGVS, {"DATABASE_URL": UNREACHABLE, "REDIS_URL": ""}):
        assert proc.returncode == 1, (proc.args, proc.stderr)
        assert proc.stderr.splitlines() == [
            "CommandError: database unreachable at 127.0.0.1:1/x: connection to server at "
            '"127.0.0.1", port 1 failed: Connection refused. Start it with `make services` '
            "or fix DATABASE_URL"
        ], proc.args


@pytest.mark.django_db(transaction=True)
def test_bad_days_from_the_command_line_are_one_line_and_a_non_zero_exit(test_database_url):
    from tests.factories import OrganizationFactory

    OrganizationFactory(name="Acme CS", slug="acme")  # committed: the processes must see it
    cases = [
        (["score_health", "--org", "acme", "--date", "0001-01-01"], 1, "--date: 0001-01-01 is"),
        (["run_nightly", "--org", "acme", "--date", "9999-12-31"], 1, "--date: 9999-12-31 is"),
        (["seed_demo", "--today", "9999-12-31"], 1, "--today: 9999-12-31 is in the future"),
        (["score_health", "--date", "2024-06-30"], 2, "required: --org"),
        (["bench_portfolio", "--accounts", "many"], 2, "argument --accounts: invalid int"),
        (["score_health", "--org", "acme", "--queue"], 1, "broker unreachable at 127.0.0.1:1/0"),
    ]
    env = {"DATABASE_URL": test_database_url, "REDIS_URL": "redis://127.0.0.1:1/0"}
    for proc, (argv, code, words) in zip(
        run_all([argv for argv, _, _ in cases], env), cases, strict=True
    ):
        lines = proc.stderr.splitlines()
        assert proc.returncode == code, (argv, proc.stderr)
        assert len(lines) == 1 and lines[0].startswith("CommandError: "), (argv, proc.stderr)
        assert words in lines[0], (argv, lines)
