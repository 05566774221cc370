#!/usr/bin/env bash
# Generate and load the size of the 2024 breach (750,000 patients, 5 establishments) into a
# fresh PostgreSQL database, and print how the time splits.
#   bench/generate_750k.sh [PATIENTS] [DBNAME]
set -euo pipefail
cd "$(dirname "$0")/.."
patients=${1:-750000}
name=${2:-hygie_bench}
admin=${HYGIE_BENCH_PG:-postgresql://root@127.0.0.1:5432/postgres}
psql "$admin" -qc "DROP DATABASE IF EXISTS $name WITH (FORCE)" -c "CREATE DATABASE $name"
export HYGIE_DATABASE_URL="postgresql+psycopg://root@127.0.0.1:5432/$name"
export HYGIE_KEY_FILE="bench/results/$name.keys"
mkdir -p bench/results
rm -f "$HYGIE_KEY_FILE"
.venv/bin/hygie keys init
.venv/bin/hygie db upgrade
start=$(date +%s)
.venv/bin/hygie generate --establishments 5 --patients "$patients" --seed 1 --workers 2
echo "wall clock: $(( $(date +%s) - start )) s for $patients patients"
psql "$admin" -qtAc "SELECT pg_size_pretty(pg_database_size('$name'))" | sed 's/^/database size: /'
