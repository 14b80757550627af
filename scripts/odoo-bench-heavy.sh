#!/usr/bin/env bash
# Benchmark: the heavy operations (production with serials and with lots including the finish,
# consumption of lot-tracked components, scrap, work order start/finish) and a mixed stream,
# each posted by the connector user over JSON-2 (`post_events`), side by side in one run with
# Odoo's own in-process loop of the same operations on the same database (the ceiling) and
# with a naive per-event JSON-2 connector. Writes bench/results/odoo-heavy-<op>.json.
# Usage: scripts/odoo-bench-heavy.sh [SCALE=1] [ROUNDS=2] [OPS=all, comma-separated]
#   SCALE multiplies the orders per operation and round; PB_BENCH_SPEED (default 2) is how many
#   times the plant's pace the mixed stream is replayed at to measure its lag.
set -euo pipefail
source "$(dirname "$0")/odoo-common.sh"
pb_require_odoo
pb_ensure_role
scale="${1:-1}" rounds="${2:-2}" only="${3:-}"
paced="${PB_BENCH_PACED_MINUTES:-3}"
port="${PB_BENCH_PORT:-$(pb_free_port)}"
db="pb_bench_heavy_$(pb_random_suffix)"
work="$(mktemp -d)"
server_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
    pb_dropdb "$db" || true
    rm -rf "$work"
}
trap cleanup EXIT

# PB_BENCH_TEMPLATE: a database to start from instead of the addon template (e.g. one kept aside)
template="${PB_BENCH_TEMPLATE:-$(pb_addon_template)}"
pb_clonedb "$template" "$db"
keys="$(PB_ADMIN_KEY=1 pb_odoo_shell "$db" "$PB_REPO/scripts/odoo_pb_setup.py" pb_bench_sidecar 1)"
key="$(sed -n 's/^PB_API_KEY=//p' <<<"$keys")"
admin_key="$(sed -n 's/^PB_ADMIN_API_KEY=//p' <<<"$keys")"
[ -n "$key" ] && [ -n "$admin_key" ] || { echo "could not create the API keys"; exit 1; }

pb_log "fixtures (scale $scale, $rounds rounds)"
pb_odoo_shell "$db" "$PB_REPO/scripts/odoo_bench_heavy.py" setup "$scale" "$rounds" "$paced" "$work/plan.json" | grep -v '^$' || true
[ -s "$work/plan.json" ] || { echo "fixtures failed"; exit 1; }

ceiling() {  # a: before the JSON-2 contenders, b: after them
    pb_log "Odoo's in-process ceiling ($1)"
    pb_odoo_shell "$db" "$PB_REPO/scripts/odoo_bench_heavy.py" ceiling "$work/plan.json" "$work/ceiling-$1.json" "$1" "$rounds" $only | grep -v '^$' || true
    [ -s "$work/ceiling-$1.json" ] || { echo "ceiling failed"; exit 1; }
}
ceiling a

export PG_SUPERUSER
pb_log "JSON-2 server on 127.0.0.1:$port"
pb_odoo_argv -d "$db" --db-filter="^$db\$" --http-port="$port" --workers=0 \
    --max-cron-threads=0 --log-level=warn
"${PB_ODOO_ARGV[@]}" > "$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 120); do
    curl -sf "http://127.0.0.1:$port/web/health" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; exit 1; }
    sleep 0.5
done

python3 "$PB_REPO/scripts/odoo_bench_heavy_client.py" --url "http://127.0.0.1:$port" --db "$db" \
    --key "$key" --naive-key "$admin_key" --plan "$work/plan.json" --speed "${PB_BENCH_SPEED:-2}" \
    --server-pid "$server_pid" \
    --only "$only" --out "$work/contenders.json" || { tail -50 "$work/server.log"; exit 1; }
kill "$server_pid" && wait "$server_pid" 2>/dev/null || true
server_pid=""
ceiling b
python3 "$PB_REPO/scripts/odoo_bench_heavy_client.py" --report "$work/contenders.json" \
    --ceiling "$work/ceiling-a.json" "$work/ceiling-b.json" --out-dir "$PB_REPO/bench/results"
