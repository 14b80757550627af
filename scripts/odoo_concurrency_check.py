# Run inside `odoo-bin shell -d <db>` (see scripts/odoo-test.sh): `env` is given.
#
# Two real PostgreSQL transactions post the same event keys at the same time, each through
# Odoo's own retry loop (odoo.service.model.retrying, what JSON-2 and JSON-RPC use). The
# first one holds its transaction open for a while after posting; the second one must block
# on the unique (site, key) index, fail, be retried by Odoo, and answer "duplicate" - and
# the business records must exist once.
import sys
import threading
import time
from datetime import datetime, timedelta

from odoo import Command, api
from odoo.modules.registry import Registry
from odoo.service.model import retrying

N = 50
HOLD_SECONDS = 2.0
registry = Registry(env.cr.dbname)  # noqa: F821 - given by odoo-bin shell
run = datetime.now().strftime('%H%M%S%f')

group = env.ref('plant_bridge.group_connector')  # noqa: F821
site = env.ref('plant_bridge.site_main')  # noqa: F821
user = env['res.users'].create({  # noqa: F821
    'name': f'Concurrency check {run}', 'login': f'pb_concurrency_{run}',
    'group_ids': [Command.set(group.ids)], 'plant_bridge_site_ids': [Command.set(site.ids)]})
workcenter = env.ref('mrp.mrp_workcenter_2')  # noqa: F821
env.cr.commit()  # noqa: F821

start = datetime(2030, 1, 1) + timedelta(days=int(run[-5:]) % 3000)
events = [{
    'id': f'concurrency-{run}-{i}', 'type': 'downtime', 'site': 'main',
    'occurredAt': '2030-01-01T00:00:00+00:00', 'workcenter': workcenter.name,
    'reason': 'Equipment Failure', 'description': f'concurrency-{run}',
    'start': (start + timedelta(minutes=10 * i)).isoformat() + '+00:00',
    'end': (start + timedelta(minutes=10 * i + 5)).isoformat() + '+00:00',
} for i in range(N)]

results, errors, attempts = {}, {}, {'A': 0, 'B': 0}


def post(name, hold):
    try:
        with registry.cursor() as cr:
            thread_env = api.Environment(cr, user.id, {})

            def call():
                attempts[name] += 1
                answer = thread_env['plant_bridge.api'].post_events(events, sidecar=name)
                if hold:
                    time.sleep(hold)  # keep the transaction (and its new keys) uncommitted
                return answer
            results[name] = retrying(call, thread_env)
    except Exception as e:  # noqa: BLE001
        errors[name] = repr(e)


a = threading.Thread(target=post, args=('A', HOLD_SECONDS))
b = threading.Thread(target=post, args=('B', 0))
a.start()
time.sleep(0.5)  # B starts while A's transaction is open
b.start()
a.join()
b.join()

env.invalidate_all()  # noqa: F821
env.cr.rollback()  # noqa: F821 - a fresh snapshot
posted = env['mrp.workcenter.productivity'].search_count([('description', '=', f'concurrency-{run}')])  # noqa: F821
messages = env['plant_bridge.message'].search_count([('key', 'like', f'concurrency-{run}-')])  # noqa: F821
statuses = {name: sorted({r['status'] for r in answer}) for name, answer in results.items()}
print(f"concurrency: {N} events posted by A and B at once; A attempts={attempts['A']} "
      f"B attempts={attempts['B']} statuses={statuses} errors={errors} "
      f"downtime rows={posted} trace rows={messages}")
ok = (not errors and posted == N and messages == N and statuses.get('A') == ['applied']
      and statuses.get('B') == ['duplicate'] and attempts['B'] >= 2
      and all(r['original_status'] == 'applied' for r in results['B']))
print('PASS: one posting, the loser answered duplicate after Odoo retried it' if ok else 'FAIL')
if not ok:
    sys.exit(1)
