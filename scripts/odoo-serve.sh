#!/usr/bin/env bash
# Serve a real Odoo 19 with demo data + plant_bridge for end-to-end tests and demos.
#
# Usage: scripts/odoo-serve.sh [--port 8069] [--db NAME] [--prepare-only] [--with-crons] [--admin-key]
# Prints, before serving:
#   PLANT_BRIDGE_ODOO_URL=http://127.0.0.1:<port>
#   PLANT_BRIDGE_ODOO_DB=<db>
#   PLANT_BRIDGE_ODOO_API_KEY=<API key of the connector user, group plant_bridge.group_connector>
# then READY once /web/health answers. SIGTERM/SIGINT stop Odoo; the database is kept
# (drop it with: dropdb -U postgres <db>). The database is cloned from a template keyed by
# a hash of odoo_addon/ (installing mrp with demo data takes minutes, a clone seconds).
# --prepare-only prints the variables and exits without serving. Scheduled actions do not run
# unless --with-crons (Odoo's own crons call odoo.com; this machine has no such network).
# --admin-key also prints PLANT_BRIDGE_TEST_ADMIN_API_KEY (a 1-day key of the admin user) for
# end-to-end tests that check Odoo's records. --reuse serves an existing --db as it is (no clone,
# no new keys): an end-to-end test stops Odoo and starts it again on the same database.
set -euo pipefail
source "$(dirname "$0")/odoo-common.sh"
port=8069 db="" prepare_only=0 cron_threads=0 admin_key=0 reuse=0
while [ $# -gt 0 ]; do
    case "$1" in
        --port) port="$2"; shift 2 ;;
        --db) db="$2"; shift 2 ;;
        --prepare-only) prepare_only=1; shift ;;
        --with-crons) cron_threads=1; shift ;;
        --admin-key) admin_key=1; shift ;;
        --reuse) reuse=1; shift ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
pb_require_odoo
pb_ensure_role
db="${db:-pb_serve_$(pb_random_suffix)}"

if [ "$reuse" -eq 1 ]; then
    pb_db_exists "$db" || { echo "--reuse: no database $db" >&2; exit 1; }
else
    # Worktrees of other addon contents share the server and drop the templates they do not use
    # once they built theirs: ours can vanish between its build and the clone; build it again.
    for attempt in 1 2 3; do
        template="$(pb_addon_template)"
        pb_clonedb "$template" "$db" || true
        pb_db_exists "$db" && break
        [ "$attempt" -lt 3 ] || { echo "could not clone the addon template" >&2; exit 1; }
        pb_log "the template $template vanished before the clone (attempt $attempt): building it again"
    done
    setup="$(PB_ADMIN_KEY=$admin_key pb_odoo_shell "$db" "$PB_REPO/scripts/odoo_pb_setup.py" plant_bridge_sidecar 90)"
    key="$(sed -n 's/^PB_API_KEY=//p' <<<"$setup")"
    [ -n "$key" ] || { echo "could not create the connector API key" >&2; exit 1; }
    echo "PLANT_BRIDGE_ODOO_URL=http://127.0.0.1:$port"
    echo "PLANT_BRIDGE_ODOO_DB=$db"
    echo "PLANT_BRIDGE_ODOO_API_KEY=$key"
    if [ "$admin_key" -eq 1 ]; then
        echo "PLANT_BRIDGE_TEST_ADMIN_API_KEY=$(sed -n 's/^PB_ADMIN_API_KEY=//p' <<<"$setup")"
    fi
fi
[ "$prepare_only" -eq 1 ] && exit 0

log="$PB_ODOO_LOG_DIR/serve-$db.log"
if curl -sf "http://127.0.0.1:$port/web/health" >/dev/null 2>&1; then
    echo "port $port is already serving something: choose another one" >&2
    exit 1
fi
pb_odoo_argv -d "$db" --db-filter="^$db\$" --http-port="$port" --workers=0 \
    --max-cron-threads="$cron_threads" --log-level=info
"${PB_ODOO_ARGV[@]}" > "$log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; exit 0' TERM INT
for _ in $(seq 1 240); do
    if curl -sf "http://127.0.0.1:$port/web/health" >/dev/null 2>&1; then
        echo "READY (log: $log)"
        wait "$server_pid"
        exit $?
    fi
    kill -0 "$server_pid" 2>/dev/null || { echo "Odoo exited, see $log" >&2; tail -20 "$log" >&2; exit 1; }
    sleep 0.5
done
echo "Odoo did not answer on port $port, see $log" >&2
kill "$server_pid"
exit 1
