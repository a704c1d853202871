#!/usr/bin/env bash
# Install (Debian package) and start a PostgreSQL server on 127.0.0.1:5432 for the test suite,
# then create the role and database the tests use. Idempotent; prints the URL on its last line.
set -euo pipefail
DB=${HYGEIA_PG_DB:-hygeia_test}
ROLE=${HYGEIA_PG_USER:-hygeia}
PASS=${HYGEIA_PG_PASSWORD:-hygeia}
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then echo "PostgreSQL is not installed and this is not root: install the 'postgresql' Debian package" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq postgresql >/dev/null
fi
VERSION=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | grep -q "^$VERSION main"; then pg_createcluster "$VERSION" main >/dev/null; fi
pg_lsclusters -h | grep "^$VERSION main" | grep -q online || pg_ctlcluster "$VERSION" main start
for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
psql_admin() { su postgres -c "psql -v ON_ERROR_STOP=1 -qAt -h /var/run/postgresql $*"; }
psql_admin "-c \"SELECT 1 FROM pg_roles WHERE rolname='$ROLE'\"" | grep -q 1 \
  || psql_admin "-c \"CREATE ROLE $ROLE LOGIN PASSWORD '$PASS'\""
psql_admin "-c \"SELECT 1 FROM pg_database WHERE datname='$DB'\"" | grep -q 1 \
  || psql_admin "-c \"CREATE DATABASE $DB OWNER $ROLE\""
echo "postgresql+psycopg://$ROLE:$PASS@127.0.0.1:5432/$DB"
