#!/usr/bin/env bash
# Benchmark: a batch of 1,000 downtime events posted in one JSON-2 call by the connector
# user, side by side with the same rows created in-process by the ORM (Odoo's own ceiling).
# Prints both figures and the ratio; writes bench/results/odoo-post-downtime.json.
# Usage: scripts/odoo-bench-post.sh [EVENTS=1000] [ROUNDS=3]
set -euo pipefail
source "$(dirname "$0")/odoo-common.sh"
pb_require_odoo
pb_ensure_role
events="${1:-1000}" rounds="${2:-3}"
port="${PB_BENCH_PORT:-18169}"
db="pb_bench_$(pb_random_suffix)"
work="$(mktemp -d)"
server_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
    pb_dropdb "$db" || true
    rm -rf "$work"
}
trap cleanup EXIT

template="$(pb_addon_template)"
pb_clonedb "$template" "$db"
key="$(pb_odoo_shell "$db" "$PB_REPO/scripts/odoo_pb_setup.py" pb_bench_sidecar 1 | sed -n 's/^PB_API_KEY=//p')"
[ -n "$key" ] || { echo "could not create the connector API key"; exit 1; }

pb_log "ORM baseline ($events rows x $rounds rounds, in-process)"
pb_odoo_shell "$db" "$PB_REPO/scripts/odoo_bench_orm.py" "$events" "$rounds" "$work/orm.json" | grep -v '^$' || true
[ -s "$work/orm.json" ] || { echo "ORM baseline failed"; exit 1; }

pb_log "JSON-2 server on 127.0.0.1:$port"
if curl -sf "http://127.0.0.1:$port/web/health" >/dev/null 2>&1; then
    echo "port $port is already serving something: choose another one" >&2
    exit 1
fi
pb_odoo_argv -d "$db" --db-filter="^$db\$" --http-port="$port" --workers=0 \
    --max-cron-threads=0 --log-level=warn
"${PB_ODOO_ARGV[@]}" > "$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 120); do
    curl -sf "http://127.0.0.1:$port/web/health" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; exit 1; }
    sleep 0.5
done

python3 "$PB_REPO/scripts/odoo_bench_post.py" --url "http://127.0.0.1:$port" --db "$db" --key "$key" \
    --events "$events" --rounds "$rounds" --orm "$work/orm.json" \
    --out "$PB_REPO/bench/results/odoo-post-downtime.json"
