#!/usr/bin/env bash
# The system packages `make test` needs beyond Python: PostgreSQL 15 (the test run starts a
# throwaway cluster), redis-server (a throwaway broker), chromium (browser tests) and gettext (msgfmt, the
# translation catalogues).
# As root on Debian/Ubuntu, installs what is missing with apt-get (running `apt-get update`
# only then); otherwise prints exactly what to install and fails.
set -euo pipefail

PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"

missing=()
# A DATABASE_URL or REDIS_URL set means the tests use that running server instead.
if [ -z "${DATABASE_URL:-}" ] && ! { [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ]; }; then
	missing+=(postgresql-15)
fi
if [ -z "${REDIS_URL:-}" ] && ! command -v redis-server >/dev/null; then
	missing+=(redis-server)
fi
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || missing+=(chromium)
# msgfmt compiles the translation catalogues (make messages)
command -v msgfmt >/dev/null || missing+=(gettext)

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
	echo "system-deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	exit 0
fi

{
	echo "system-deps: missing system packages: ${missing[*]}"
	if command -v apt-get >/dev/null; then
		echo "  install them with:  sudo apt-get install ${missing[*]}"
	else
		echo "  install PostgreSQL 15 server binaries (initdb, pg_ctl; or set PG_BIN to their folder),"
		echo "  redis-server and chromium with your system's package manager"
	fi
	echo "  (or point the tests at running servers with DATABASE_URL and REDIS_URL)"
} >&2
exit 1
