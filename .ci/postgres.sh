#!/usr/bin/env bash
# Starts the local PostgreSQL 15 server if it is not running, sets the postgres user's password, and creates
# the test database. Idempotent: safe to run again. Prints the TEST_DATABASE_URL to use.
# Used by .ci/run; a developer can run it too: `eval "$(.ci/postgres.sh)"` then `npm test`.
set -euo pipefail
PGPASSWORD_VALUE="${PGPASSWORD_VALUE:-postgres}"
DB_NAME="${TEST_DB_NAME:-fanpin_test}"
as_postgres() { if [[ $(id -un) == postgres ]]; then "$@"; else runuser -u postgres -- "$@"; fi; }

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if ! command -v pg_ctlcluster >/dev/null; then
    echo "PostgreSQL is not running and pg_ctlcluster is not installed (apt-get install postgresql)." >&2
    exit 1
  fi
  pg_ctlcluster 15 main start >&2
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  pg_isready -h 127.0.0.1 -p 5432 >&2 || { echo "PostgreSQL did not start on 127.0.0.1:5432." >&2; exit 1; }
fi
as_postgres psql -q -v ON_ERROR_STOP=1 -c "ALTER USER postgres PASSWORD '${PGPASSWORD_VALUE}'" >&2
if ! as_postgres psql -tAc "SELECT 1 FROM pg_database WHERE datname = '${DB_NAME}'" | grep -q 1; then
  as_postgres createdb "${DB_NAME}" >&2
fi
# Prove a password login over TCP works, as the tests will make it.
if ! PGPASSWORD="${PGPASSWORD_VALUE}" psql -q -h 127.0.0.1 -U postgres -d "${DB_NAME}" -tAc 'SELECT 1' >/dev/null; then
  echo "PostgreSQL is running but a password login to ${DB_NAME} over TCP failed." >&2
  exit 1
fi
echo "export TEST_DATABASE_URL=postgresql://postgres:${PGPASSWORD_VALUE}@127.0.0.1:5432/${DB_NAME}"
