# Run inside `odoo-bin shell -d <db>` (env is given); PB_SCRIPT_ARGS="N ROUNDS OUT.json".
#
# Odoo's own ceiling for the downtime benchmark: the same mrp.workcenter.productivity rows
# created in-process by the ORM, as one create(vals_list) per round (+ flush + commit), and
# once as a loop of single creates - with Odoo's stock duration compute (context key
# plant_bridge_stock_duration), and once more as create(vals_list) with plant_bridge's batch
# duration compute. Writes the timings as JSON to OUT.json.
import json
import os
import statistics
import time
from datetime import datetime, timedelta

n, rounds, out = os.environ['PB_SCRIPT_ARGS'].split()
n, rounds = int(n), int(rounds)
Productivity = env['mrp.workcenter.productivity'].with_context(plant_bridge_stock_duration=True)  # noqa: F821
workcenter = env.ref('mrp.mrp_workcenter_2')  # noqa: F821
loss = env.ref('mrp.block_reason1')  # noqa: F821
base = datetime(2031, 1, 1)


def vals_list(offset_days, count):
    start = base + timedelta(days=offset_days)
    return [{
        'workcenter_id': workcenter.id, 'company_id': workcenter.company_id.id, 'loss_id': loss.id,
        'date_start': start + timedelta(minutes=10 * i), 'date_end': start + timedelta(minutes=10 * i + 5),
        'description': 'orm-bench',
    } for i in range(count)]


Productivity.create(vals_list(0, 20))  # warm-up
Productivity.env.flush_all()
env.cr.commit()  # noqa: F821
batch = []
for r in range(rounds):
    vals = vals_list(10 + 10 * r, n)
    t0 = time.perf_counter()
    Productivity.create(vals)
    Productivity.env.flush_all()  # recomputes with this env's context: Odoo's stock compute
    env.cr.commit()  # noqa: F821
    batch.append(n / (time.perf_counter() - t0))
vals = vals_list(10 + 10 * rounds, n)
t0 = time.perf_counter()
for v in vals:
    Productivity.create(v)
Productivity.env.flush_all()
env.cr.commit()  # noqa: F821
loop = n / (time.perf_counter() - t0)
vals = vals_list(20 + 10 * rounds, n)
t0 = time.perf_counter()
batch_env = Productivity.with_context(plant_bridge_stock_duration=False)
batch_env.create(vals)
batch_env.env.flush_all()
env.cr.commit()  # noqa: F821
batch_compute = n / (time.perf_counter() - t0)
with open(out, 'w') as f:
    json.dump({'batch_rates': batch, 'batch_median': statistics.median(batch), 'loop_rate': loop,
               'batch_compute_rate': batch_compute}, f)
print(f'ORM create(vals_list), stock compute: {statistics.median(batch):.0f} records/s '
      f'(rounds {[round(x) for x in batch]}); ORM create loop: {loop:.0f} records/s; '
      f'ORM create(vals_list) with the batch duration compute: {batch_compute:.0f} records/s')
