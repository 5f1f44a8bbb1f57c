"""Hand-written, not pytest-postgresql: its executor (10.0.0) runs initdb and pg_ctl as the test
process's own user, with no option to run them as another, so as root (CI) they refuse ("pg_ctl:
cannot be run as root"); it also puts the cluster under pytest's basetemp, which the `postgres`
user cannot enter.

A throwaway PostgreSQL for the test run, started from the machine's binaries: as root the cluster
is created and run as the unprivileged `postgres` system user. fsync and synchronous_commit are
off: the data is thrown away at the end of the run. Redis comes from pytest-redis (its redis_proc
runs redis-server as root without trouble; see tests/conftest.py).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

PG_BIN_DIRS = [
    "/usr/lib/postgresql/15/bin",
    "/usr/lib/postgresql/16/bin",
    "/usr/local/bin",
    "/usr/bin",
]


class ServiceMissing(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bin(name: str) -> str:
    for d in PG_BIN_DIRS:
        candidate = Path(d) / name
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    raise ServiceMissing(
        f"PostgreSQL's {name} was not found; install PostgreSQL 15 "
        "(Debian: apt-get install postgresql-15) or set DATABASE_URL to a running server"
    )


def _as_pg_user(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@dataclass
class PostgresServer:
    datadir: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    @classmethod
    def start(cls) -> PostgresServer:
        base = Path(tempfile.mkdtemp(prefix="csplatform-pg-"))
        datadir = base / "data"
        if os.geteuid() == 0:
            shutil.chown(base, user="postgres")
        port = free_port()
        subprocess.run(
            _as_pg_user(
                [
                    _pg_bin("initdb"),
                    "-D",
                    str(datadir),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--no-locale",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
        )
        opts = (
            f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
            "-c shared_buffers=256MB"
        )
        subprocess.run(
            _as_pg_user(
                [
                    _pg_bin("pg_ctl"),
                    "-D",
                    str(datadir),
                    "-o",
                    opts,
                    "-l",
                    str(base / "log"),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
        )
        return cls(datadir=datadir, port=port)

    def stop(self) -> None:
        subprocess.run(
            _as_pg_user([_pg_bin("pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


@dataclass
class RedisServer:
    """A redis-server for one test, on a free port, with an append-only file (fsync every
    second, as `make services` and docker-compose run it), stopped and started again at will
    on the same port and data."""

    datadir: Path
    port: int
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @classmethod
    def start(cls, datadir: Path) -> RedisServer:
        datadir.mkdir(parents=True, exist_ok=True)
        server = cls(datadir=datadir, port=free_port())
        server.resume()
        return server

    def resume(self) -> None:
        import time

        import redis

        binary = shutil.which("redis-server")
        if binary is None:
            raise ServiceMissing("redis-server was not found (Debian: apt-get install redis)")
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.datadir),
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--save",
                "",
            ],
            stdout=(self.datadir / "redis.log").open("a"),
            stderr=subprocess.STDOUT,
        )
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=1)
        for _ in range(100):
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None
