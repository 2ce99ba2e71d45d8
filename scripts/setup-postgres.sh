#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 with a database `test` that user
# `postgres` reaches without a password, for the PostgreSQL storage tests: starts the installed
# cluster when it is down, installs Debian's postgresql when there is none. Idempotent. When it
# cannot (not root, no apt), it says so and those tests skip with a printed reason; under CI
# (`CI=true`) it fails instead, as those tests would.
set -uo pipefail

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# give_up REASON: the PostgreSQL tests cannot run here.
give_up() {
  if is_ci; then
    echo "setup-postgres: $1 (CI=true: the PostgreSQL tests must run)" >&2
    exit 1
  fi
  echo "setup-postgres: $1: PostgreSQL tests will be skipped"
  exit 0
}

if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "PostgreSQL answers on 127.0.0.1:5432"
else
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    give_up "PostgreSQL is not running and this script cannot install it (needs root and apt)"
  fi
  if ! command -v pg_ctlcluster >/dev/null; then
    echo "installing PostgreSQL from Debian's packages"
    apt_install postgresql || give_up "PostgreSQL install failed"
  fi
  version=$(ls /etc/postgresql 2>/dev/null | sort -n | tail -n 1)
  if [ -z "$version" ]; then
    give_up "no PostgreSQL cluster found"
  fi
  hba=/etc/postgresql/$version/main/pg_hba.conf
  # Tests connect as postgres over TCP without a password; this machine is a throwaway CI box.
  grep -q '^host all all 127.0.0.1/32 trust' "$hba" 2>/dev/null \
    || sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null \
    || pg_ctlcluster "$version" main start 2>/dev/null || true
  for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p 5432 && break
    sleep 1
  done
fi

if pg_isready -q -h 127.0.0.1 -p 5432; then
  psql -h 127.0.0.1 -U postgres -tAc "select 1 from pg_database where datname = 'test'" 2>/dev/null | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -c 'create database test' >/dev/null 2>&1 \
    || give_up "could not create database test"
else
  give_up "PostgreSQL did not come up"
fi
