#!/usr/bin/env bash
# The addon's translation template, odoo_addon/plant_bridge/i18n/plant_bridge.pot, exported by
# Odoo itself (`odoo-bin i18n export`) from a database where plant_bridge is installed: Python
# _() / env._(), field strings and help, views, data, and the OWL screens' _t() and templates.
#
# Usage: scripts/odoo-pot.sh [--check] [--db DB]
#   --check   exit 1 when the committed .pot differs from a fresh export (the creation and
#             revision dates of the header are ignored); without it, write the .pot
#   --db DB   export from DB, where plant_bridge is installed (odoo-test.sh passes its no-demo
#             database); default: a fresh install on a clone of the no-demo base, dropped after
# Run it under the shared lock when others use this Odoo: flock /tmp/pb-odoo.lock bash scripts/odoo-pot.sh
set -euo pipefail
source "$(dirname "$0")/odoo-common.sh"
pb_require_odoo
pb_ensure_role
check=0 db=""
while [ $# -gt 0 ]; do
    case "$1" in
        --check) check=1; shift ;;
        --db) db="$2"; shift 2 ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
pot="$PB_REPO/odoo_addon/plant_bridge/i18n/plant_bridge.pot"
work="$(mktemp -d)"
own_db=0
if [ -z "$db" ]; then
    db="pb_pot_$(pb_random_suffix)" own_db=1
fi
cleanup() { [ "$own_db" = 0 ] || pb_dropdb "$db" || true; rm -rf "$work"; }
trap cleanup EXIT

if [ "$own_db" = 1 ]; then
    pb_clonedb "$(pb_base_template nodemo)" "$db"
    pb_odoo -d "$db" -i plant_bridge --stop-after-init --log-level=warn > "$work/install.log" 2>&1 \
        || { cat "$work/install.log"; exit 1; }
fi
# `i18n export` reads the connection from a config file only
cat > "$work/odoo.conf" <<CONF
[options]
db_host = $PGHOST
db_port = $PGPORT
db_user = $ODOO_DB_USER
addons_path = $ODOO_SRC/addons,$ODOO_SRC/odoo/addons,$PB_REPO/odoo_addon
data_dir = $PB_ODOO_DATA_DIR
CONF
"$ODOO_PYTHON" "$ODOO_SRC/odoo-bin" i18n export -c "$work/odoo.conf" -d "$db" -o "$work/plant_bridge.pot" \
    plant_bridge > "$work/export.log" 2>&1 || { cat "$work/export.log"; exit 1; }

strip_dates() { grep -vE '^"(POT-Creation-Date|PO-Revision-Date): ' "$1"; }
if [ "$check" = 1 ]; then
    if [ ! -f "$pot" ] || ! diff -u <(strip_dates "$pot") <(strip_dates "$work/plant_bridge.pot") > "$work/diff"; then
        head -40 "$work/diff" 2>/dev/null || true
        echo "odoo-pot: $pot is out of date: run bash scripts/odoo-pot.sh"
        exit 1
    fi
    echo "odoo-pot: OK ($(grep -c '^msgid ' "$pot") strings)"
else
    mkdir -p "$(dirname "$pot")"
    cp "$work/plant_bridge.pot" "$pot"
    echo "odoo-pot: wrote $pot ($(grep -c '^msgid ' "$pot") strings)"
fi
