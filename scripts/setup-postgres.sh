#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 with a database `test` that user
# `postgres` reaches without a password, for the PostgreSQL storage tests. Best effort: when it
# cannot (not root, no apt), it says so and those tests skip with a printed reason.
set -uo pipefail

if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "PostgreSQL answers on 127.0.0.1:5432"
else
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "PostgreSQL is not running and this script cannot install it (needs root and apt): PostgreSQL tests will be skipped"
    exit 0
  fi
  if ! command -v pg_ctlcluster >/dev/null; then
    echo "installing PostgreSQL from Debian's packages"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
      || { echo "PostgreSQL install failed: PostgreSQL tests will be skipped"; exit 0; }
  fi
  version=$(ls /etc/postgresql 2>/dev/null | sort -n | tail -n 1)
  if [ -z "$version" ]; then
    echo "no PostgreSQL cluster found: PostgreSQL tests will be skipped"
    exit 0
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
    || echo "could not create database test"
else
  echo "PostgreSQL did not come up: PostgreSQL tests will be skipped"
fi
