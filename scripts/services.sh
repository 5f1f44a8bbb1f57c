#!/usr/bin/env bash
# Local PostgreSQL 15 and Redis for development and benchmarks, from the machine's binaries,
# on loopback, with their data under var/services/ (git-ignored). No Docker needed.
#
#   scripts/services.sh start   start both (or reuse what is already running), print the URLs
#   scripts/services.sh stop    stop both
#   scripts/services.sh status  say what is running
#   scripts/services.sh env     print the `export DATABASE_URL=... REDIS_URL=...` lines only
#
# Environment: PG_PORT (54329), REDIS_PORT (63799), PG_BIN (/usr/lib/postgresql/15/bin),
# SERVICES_DIR (var/services of the checkout), PG_DB (csplatform), PG_SHARED_BUFFERS (2GB),
# PG_WORK_MEM (64MB), PG_MAINTENANCE_WORK_MEM (1GB), PG_MAX_WAL_SIZE (4GB),
# PG_EFFECTIVE_CACHE_SIZE (16GB). The defaults suit a 2-core / 24 GB machine.
#
# Dev and benchmarks only: trust authentication on 127.0.0.1, and synchronous_commit=off (a
# crash can lose the last fraction of a second of commits, never corrupts the cluster).
# Redis keeps an append-only file (fsync every second), so queued tasks survive its restart.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVICES_DIR="${SERVICES_DIR:-$ROOT/var/services}"
PG_PORT="${PG_PORT:-54329}"
REDIS_PORT="${REDIS_PORT:-63799}"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_DB="${PG_DB:-csplatform}"
PG_USER=postgres
REDIS_DIR="$SERVICES_DIR/redis"

say() { printf '%s\n' "$*"; }
die() {
	printf 'services: %s\n' "$*" >&2
	exit 1
}

is_root() { [ "$(id -u)" -eq 0 ]; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# initdb and pg_ctl refuse to run as root: as root the cluster belongs to the `postgres` user.
as_pg() {
	if is_root; then
		(cd / && runuser -u "$PG_USER" -- "$@")
	else
		"$@"
	fi
}

# Where the cluster lives: var/services/pg, unless (as root) the `postgres` user cannot reach
# that folder, for example a checkout under /root; then a world-traversable folder under
# /var/tmp named after the checkout, so each checkout keeps its own cluster.
pg_base() {
	local base="$SERVICES_DIR/pg"
	if is_root; then
		mkdir -p "$SERVICES_DIR"
		if ! runuser -u "$PG_USER" -- test -x "$SERVICES_DIR" 2>/dev/null; then
			local tag
			tag="$(printf '%s' "$SERVICES_DIR" | sha1sum | cut -c1-12)"
			base="/var/tmp/csplatform-services-$tag/pg"
		fi
	fi
	printf '%s\n' "$base"
}

require_pg() {
	[ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ] && [ -x "$PG_BIN/psql" ] ||
		die "PostgreSQL 15 binaries not found in $PG_BIN. Install them (Debian: apt-get install postgresql-15) or set PG_BIN."
	if is_root; then
		id -u "$PG_USER" >/dev/null 2>&1 ||
			die "running as root needs the '$PG_USER' system user to own the cluster (Debian: apt-get install postgresql-15 creates it)"
	fi
}

require_redis() {
	command -v redis-server >/dev/null ||
		die "redis-server not found. Install it (Debian: apt-get install redis-server)."
	command -v redis-cli >/dev/null ||
		die "redis-cli not found. Install it (Debian: apt-get install redis-tools)."
}

pg_running() { as_pg "$PG_BIN/pg_ctl" -D "$1/data" status >/dev/null 2>&1; }

# The port a running cluster actually listens on (line 4 of postmaster.pid).
pg_running_port() { sed -n 4p "$1/data/postmaster.pid" 2>/dev/null || true; }

pg_write_conf() {
	local data="$1/data"
	cat >"$data/csplatform.conf" <<EOF
# Written by scripts/services.sh at every start; edit the script or its variables instead.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = ''
max_connections = 100
shared_buffers = ${PG_SHARED_BUFFERS:-2GB}
effective_cache_size = ${PG_EFFECTIVE_CACHE_SIZE:-16GB}
work_mem = ${PG_WORK_MEM:-64MB}
maintenance_work_mem = ${PG_MAINTENANCE_WORK_MEM:-1GB}
max_wal_size = ${PG_MAX_WAL_SIZE:-4GB}
min_wal_size = 1GB
checkpoint_completion_target = 0.9
random_page_cost = 1.1
# Dev and benchmarks only: a crash may lose the last commits, never corrupts the cluster.
synchronous_commit = off
log_min_duration_statement = 1000
EOF
	if is_root; then chown "$PG_USER:" "$data/csplatform.conf"; fi
}

pg_start() {
	require_pg
	local base
	base="$(pg_base)"
	if [ "$base" != "$SERVICES_DIR/pg" ]; then
		say "note: the '$PG_USER' user cannot traverse $SERVICES_DIR, so the cluster lives in $base"
	fi
	if pg_running "$base"; then
		PG_PORT="$(pg_running_port "$base")"
		say "postgresql: already running on 127.0.0.1:$PG_PORT (data: $base/data)"
	else
		if port_open "$PG_PORT"; then
			die "port $PG_PORT is taken by another process; choose another with PG_PORT=..."
		fi
		mkdir -p "$base"
		if is_root; then
			chown "$PG_USER:" "$base"
			chmod 700 "$base"
		fi
		if [ ! -f "$base/data/PG_VERSION" ]; then
			say "postgresql: creating a cluster in $base/data"
			as_pg "$PG_BIN/initdb" -D "$base/data" -U "$PG_USER" -A trust -E UTF8 \
				--locale=C.UTF-8 >"$base/initdb.log" 2>&1 ||
				die "initdb failed, see $base/initdb.log"
			printf "\ninclude_if_exists = 'csplatform.conf'\n" >>"$base/data/postgresql.conf"
		fi
		pg_write_conf "$base"
		as_pg "$PG_BIN/pg_ctl" -D "$base/data" -l "$base/postgresql.log" -w -t 60 start >/dev/null ||
			die "PostgreSQL did not start, see $base/postgresql.log"
		say "postgresql: started on 127.0.0.1:$PG_PORT (data: $base/data, log: $base/postgresql.log)"
	fi
	local psql=("$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -X -q -t -A)
	if [ -z "$("${psql[@]}" -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" ]; then
		"${psql[@]}" -d postgres -c "CREATE DATABASE \"$PG_DB\"" >/dev/null
		say "postgresql: created database $PG_DB"
	fi
}

pg_stop() {
	[ -x "$PG_BIN/pg_ctl" ] || return 0
	local base
	base="$(pg_base)"
	if [ -f "$base/data/PG_VERSION" ] && pg_running "$base"; then
		as_pg "$PG_BIN/pg_ctl" -D "$base/data" -m fast -w stop >/dev/null
		say "postgresql: stopped"
	else
		say "postgresql: not running"
	fi
}

redis_ping() { [ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = "PONG" ]; }

redis_pid() {
	local pid
	pid="$(cat "$REDIS_DIR/redis.pid" 2>/dev/null || true)"
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then printf '%s\n' "$pid"; fi
}

redis_start() {
	require_redis
	if redis_ping "$REDIS_PORT"; then
		if [ -n "$(redis_pid)" ]; then
			say "redis: already running on 127.0.0.1:$REDIS_PORT (data: $REDIS_DIR)"
		else
			say "redis: reusing a server already answering on 127.0.0.1:$REDIS_PORT (not started here)"
		fi
		return 0
	fi
	if port_open "$REDIS_PORT"; then
		die "port $REDIS_PORT is taken by another process; choose another with REDIS_PORT=..."
	fi
	mkdir -p "$REDIS_DIR"
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$REDIS_DIR" \
		--daemonize yes --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log" \
		--save 300 100 --appendonly yes --appendfsync everysec >/dev/null
	for _ in $(seq 100); do
		redis_ping "$REDIS_PORT" && break
		sleep 0.1
	done
	redis_ping "$REDIS_PORT" || die "Redis did not start, see $REDIS_DIR/redis.log"
	say "redis: started on 127.0.0.1:$REDIS_PORT (data: $REDIS_DIR, log: $REDIS_DIR/redis.log)"
}

redis_stop() {
	local pid
	pid="$(redis_pid)"
	if [ -z "$pid" ]; then
		say "redis: not running"
		return 0
	fi
	kill "$pid"
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then die "redis (pid $pid) did not stop"; fi
	say "redis: stopped"
}

print_env() {
	say "export DATABASE_URL=postgres://$PG_USER@127.0.0.1:$PG_PORT/$PG_DB"
	say "export REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
}

status() {
	local base
	base="$(pg_base)"
	if [ -x "$PG_BIN/pg_ctl" ] && [ -f "$base/data/PG_VERSION" ] && pg_running "$base"; then
		say "postgresql: running on 127.0.0.1:$(pg_running_port "$base") (data: $base/data)"
	else
		say "postgresql: not running"
	fi
	if [ -n "$(redis_pid)" ]; then
		say "redis: running on 127.0.0.1:$REDIS_PORT (data: $REDIS_DIR)"
	else
		say "redis: not running"
	fi
}

case "${1:-}" in
start)
	pg_start
	redis_start
	say ""
	say "# Point the app at them (make stack does this by itself):"
	print_env
	;;
stop)
	redis_stop
	pg_stop
	;;
status) status ;;
env) print_env ;;
*) die "usage: $0 start|stop|status|env" ;;
esac
