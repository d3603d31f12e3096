#!/usr/bin/env bash
# Fails when a migration that has landed was edited. migrations/LANDED lists the SHA-256 of every
# migration file as it landed; a changed file, a listed file that is gone, or a file missing
# from the list fails (a new migration is added to the list in the commit that adds it:
# `sha256sum migrations/*/*.sql > migrations/LANDED` only when no listed line changes).
# Databases refuse to start after an applied migration changes (sqlx checks its checksum), so a
# fix is always a new migration.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
while read -r sum path; do
  [ -z "$sum" ] && continue
  if [ ! -f "$path" ]; then
    echo "check-migrations: $path has landed but is gone" >&2; status=1; continue
  fi
  now=$(sha256sum "$path" | cut -d' ' -f1)
  if [ "$now" != "$sum" ]; then
    echo "check-migrations: $path was edited after it landed (add a new migration instead)" >&2; status=1
  fi
done < migrations/LANDED
for f in migrations/*/*.sql; do
  if ! grep -q "  $f\$" migrations/LANDED; then
    echo "check-migrations: $f is not in migrations/LANDED (add its line: sha256sum $f >> migrations/LANDED)" >&2; status=1
  fi
done
[ $status = 0 ] && echo "migrations: $(grep -c . migrations/LANDED) files, none edited"
exit $status
