"""`bench_ingest`: how fast data comes in, on PostgreSQL. Prints JSON.

1. CSV import of --accounts accounts (a Brazilian file: `;`, Windows-1252, dd/mm/aaaa,
   R$ 1.234,56 not needed for accounts), through `manage.py import_csv` in a child process.
2. CSV import of --usage-rows usage rows (those accounts × days, `1.234,5` values), the same.
   The children's peak memory (ru_maxrss) is reported: the import streams the file.
3. Bulk usage through the REST API: gunicorn on loopback (--workers), one client sending
   --requests requests of --batch rows (JSON), then the same requests again (all unchanged),
   with the CPU time a request costs gunicorn's workers and PostgreSQL's backends (read from
   /proc where they run on this machine): on a loaded machine the wall clock mostly measures
   the wait for a core, these do not.

Targets (issue 13): API ≥ 50,000 rows/s; 100,000 accounts ≤ 30 s; 1,000,000 usage rows
≤ 60 s; import peak memory < 1 GiB. The organization `--org` (default bench-ingest) is
created, and its accounts and usage replaced (`--keep` leaves them for a second run).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.core.management.base import CommandError
from django.db import connection

from accounts.models import Account, UsageMetric
from api.services import token_create
from orgs.cli import ProjectCommand, whole_number
from orgs.models import Membership, Organization, Role, User

ROOT = Path(__file__).resolve().parents[3]
TARGETS = {"api_rows_per_s": 50_000, "accounts_s": 30, "usage_s": 60, "peak_mb": 1024}


class Command(ProjectCommand):
    help = "Benchmark CSV imports and the bulk usage API on PostgreSQL (JSON on stdout)."

    def add_arguments(self, parser):
        parser.add_argument("--org", default="bench-ingest")
        parser.add_argument("--accounts", default="100000")
        parser.add_argument("--usage-rows", default="1000000")
        parser.add_argument("--requests", default="20", help="API requests (each --batch rows)")
        parser.add_argument("--batch", default="10000")
        parser.add_argument("--workers", default="2", help="gunicorn workers")
        parser.add_argument("--keep", action="store_true", help="keep the data afterwards")

    def handle(self, *args, **opts):
        if connection.vendor != "postgresql":
            raise CommandError("bench_ingest runs on PostgreSQL: set DATABASE_URL")
        n_accounts = whole_number("--accounts", opts["accounts"], 1, 2_000_000)
        n_usage = whole_number("--usage-rows", opts["usage_rows"], 1, 50_000_000)
        n_requests = whole_number("--requests", opts["requests"], 1, 10_000)
        batch = whole_number("--batch", opts["batch"], 1, 10_000)
        workers = whole_number("--workers", opts["workers"], 1, 16)
        org, _ = Organization.objects.get_or_create(
            slug=opts["org"], defaults={"name": "Bench ingest"}
        )
        admin, _ = User.objects.get_or_create(username=f"{org.slug}-admin")
        Membership.objects.get_or_create(
            user=admin, organization=org, defaults={"role": Role.ADMIN}
        )
        self._clear(org)
        workdir = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
        result = {"load_before": _load(), "postgres": connection.pg_version}

        accounts_csv = workdir / "contas.csv"
        with accounts_csv.open("w", encoding="cp1252", newline="") as out:
            out.write("Código;Razão social;Nível;Cliente desde;Região\r\n")
            for i in range(n_accounts):
                out.write(f"B{i:07d};Empresa {i} Ltda;Ouro;{1 + i % 28:02d}/03/2021;São Paulo\r\n")
        result["accounts_import"] = self._import(accounts_csv, org, "accounts", n_accounts)
        accounts_csv.unlink()  # each run's files went on filling /tmp (40 MB a default run)

        days = max(1, -(-n_usage // n_accounts))
        usage_csv = workdir / "uso.csv"
        start = dt.date(2024, 1, 1)
        written = 0
        with usage_csv.open("w", encoding="utf-8", newline="") as out:
            out.write("conta;métrica;data;valor\r\n")
            for d in range(days):
                day = (start + dt.timedelta(days=d)).strftime("%d/%m/%Y")
                for i in range(n_accounts):
                    if written >= n_usage:
                        break
                    out.write(f"B{i:07d};logins;{day};{i % 1000},{d % 10}\r\n")
                    written += 1
        result["usage_import"] = self._import(usage_csv, org, "usage", written)
        usage_csv.unlink()
        workdir.rmdir()
        result["import_peak_memory_mb"] = round(
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1
        )

        result["api_bulk_usage"] = self._api(org, admin, n_requests, batch, workers, n_accounts)
        result["load_after"] = _load()
        result["targets"] = TARGETS
        result["pass"] = {
            "api": result["api_bulk_usage"]["new_rows_per_s"] >= TARGETS["api_rows_per_s"],
            "accounts": result["accounts_import"]["seconds"] <= TARGETS["accounts_s"],
            "usage": result["usage_import"]["seconds"] <= TARGETS["usage_s"],
            "memory": result["import_peak_memory_mb"] < TARGETS["peak_mb"],
        }
        if not opts["keep"]:
            self._clear(org)
        self.stdout.write(json.dumps(result, indent=2))

    def _clear(self, org):
        UsageMetric.all_objects.filter(organization=org).delete()
        Account.all_objects.filter(organization=org).delete()

    def _import(self, path: Path, org, kind: str, rows: int) -> dict:
        env = {**os.environ, "LOG_LEVEL": "WARNING"}
        started = time.monotonic()
        done = subprocess.run(
            [
                sys.executable,
                "manage.py",
                "import_csv",
                str(path),
                "--org",
                org.slug,
                "--kind",
                kind,
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        seconds = time.monotonic() - started
        if done.returncode != 0:
            raise CommandError(f"import_csv {kind} failed: {done.stderr[-2000:]}")
        summary = json.loads(done.stdout.strip().splitlines()[-1])
        return {
            "rows": rows,
            "file_mb": round(path.stat().st_size / 2**20, 1),
            "seconds": round(seconds, 1),
            "rows_per_s": round(rows / seconds),
            "created": summary["created"],
        }

    def _api(self, org, admin, n_requests, batch, workers, n_accounts) -> dict:
        secret = token_create(org=org, name="bench", scope="write", created_by=admin).secret
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "csplatform.settings.local",
            "DJANGO_DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "CSPLATFORM_API_RATE_PER_MINUTE": "1000000",
        }
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "csplatform.wsgi",
                "-w",
                str(workers),
                "-b",
                f"127.0.0.1:{port}",
                "--timeout",
                "120",
            ],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait(f"{base}/healthz", server)
            start = dt.date(2025, 1, 1)
            bodies = []
            for r in range(n_requests):
                records = []
                for j in range(batch):
                    k = r * batch + j
                    day = start + dt.timedelta(days=k // n_accounts)
                    records.append(
                        {
                            "account": f"B{k % n_accounts:07d}",
                            "metric": "api",
                            "date": day.isoformat(),
                            "value": k % 97,
                        }
                    )
                bodies.append(json.dumps({"records": records}).encode())
            timings, cpu = {}, {}
            for label in ("new", "resent"):
                web, db = _children(server.pid), _backends()
                web_cpu, db_cpu = _cpu_seconds(web), _cpu_seconds(db)
                started = time.monotonic()
                for body in bodies:
                    _post(f"{base}/api/v1/usage/bulk/", body, secret)
                timings[label] = time.monotonic() - started
                # backends that connected during the run started at no CPU time
                db_after = _cpu_seconds(db | _backends())
                cpu[label] = {
                    "gunicorn": _per_request_ms(web_cpu, _cpu_seconds(web), n_requests),
                    "postgres": _per_request_ms(db_cpu, db_after, n_requests),
                }
            rows = n_requests * batch
            return {
                "requests": n_requests,
                "rows_per_request": batch,
                "gunicorn_workers": workers,
                "new_seconds": round(timings["new"], 2),
                "new_rows_per_s": round(rows / timings["new"]),
                "resent_seconds": round(timings["resent"], 2),
                "resent_rows_per_s": round(rows / timings["resent"]),
                "request_kb": round(len(bodies[0]) / 1024),
                # CPU time a request costs the server, which the machine's load does not
                # stretch as it does the wall clock (null where /proc cannot tell)
                "cpu_ms_per_request": cpu,
            }
        finally:
            server.terminate()
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()


def _post(url: str, body: bytes, secret: str) -> dict:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise CommandError(f"the API answered {exc.code}: {exc.read()[:500]!r}") from None


def _wait(url: str, server, timeout=60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise CommandError(f"gunicorn exited ({server.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise CommandError(f"gunicorn did not answer {url} within {timeout} s")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> set[int]:
    """The processes whose parent is `pid` (gunicorn's workers), from /proc; none elsewhere."""
    found = set()
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(entry.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def _backends() -> set[int]:
    """This database's other PostgreSQL backends (the workers' connections) when PostgreSQL
    runs on this machine; none when it does not (their /proc entries are not here)."""
    if connection.settings_dict.get("HOST") not in ("", "127.0.0.1", "localhost", "::1"):
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        return {pid for (pid,) in cursor.fetchall()}


def _cpu_seconds(pids: set[int]) -> float | None:
    """User and system CPU time of `pids` (from /proc; a process gone counts nothing)."""
    if not pids:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def _per_request_ms(before: float | None, after: float | None, n: int) -> float | None:
    if after is None:
        return None
    return round(((after - (before or 0)) / n) * 1000, 1)


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]
