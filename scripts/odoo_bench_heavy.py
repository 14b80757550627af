# Run inside `odoo-bin shell -d <db>` (env is given); PB_SCRIPT_ARGS="setup SCALE ROUNDS PACED PLAN.json"
# or "ceiling PLAN.json OUT.json a|b ROUNDS [OPS]".
#
# The heavy-operation benchmark (scripts/odoo-bench-heavy.sh), Odoo side:
#   setup   - products, BOMs, lots and serials, work centers and confirmed manufacturing orders
#             for every operation, one set per contender (ceiling, json2, naive) and round, so
#             that each contender starts from the same state; the plan (the steps of every
#             operation, as plain data) is written to PLAN.json.
#   ceiling - Odoo's own in-process loop for the same steps: the ORM calls Odoo's screens end in
#             (link a serial, set the lot, the quantity producing and its proposal, Mark as Done,
#             reserve a component lot, validate a scrap, the work order's Start / Done, a
#             downtime interval, a work center's fields), no lookups by name, no trace, no
#             savepoints; flush + one commit per operation and round. Writes the rates to OUT.json.
import json
import os
import statistics
import time
from datetime import datetime, timedelta

from odoo import Command

args = os.environ['PB_SCRIPT_ARGS'].split()
mode = args[0]
CONTENDERS = ('ceiling', 'json2', 'naive')
BASE = datetime(2033, 1, 1)
#: per operation: orders per contender and round, steps per order (times SCALE orders)
OPS = {
    'production-serial': (2, 5),   # 5 serials per order, the last one with `finish`
    'production-lot': (3, 4),      # 4 increments under one lot, the last one with `finish`
    'consumption-lot': (3, 4),     # 4 consumptions of one component lot
    'scrap': (3, 4),               # 4 scraps of a component of the order
    'workorder': (6, 2),           # Start, then Done
}
#: the mixed stream, per minute of plant time
MIX = {'machines': 20, 'orders': 20, 'production': 100, 'consumption': 100, 'scrap': 10, 'downtime': 5}


def product(code, name, tracking='none'):
    Product = env['product.product']  # noqa: F821 - given by odoo-bin shell
    found = Product.search([('default_code', '=', code)], limit=1)
    return found or Product.create({'name': name, 'default_code': code, 'is_storable': True, 'tracking': tracking})


def setup(scale, rounds, paced, plan_path):
    stock = env.ref('stock.warehouse0').lot_stock_id  # noqa: F821
    Quant, Lot = env['stock.quant'], env['stock.lot']  # noqa: F821
    comp = product('PBB_COMP', 'PB Bench Component')
    lotc = product('PBB_LOTC', 'PB Bench Lot Component', 'lot')
    fin = {
        'production-serial': product('PBB_SER', 'PB Bench Serial Unit', 'serial'),
        'production-lot': product('PBB_LOT', 'PB Bench Lot Unit', 'lot'),
        'consumption-lot': product('PBB_UNT', 'PB Bench Unit'),
        'scrap': product('PBB_UNT', 'PB Bench Unit'),
        'workorder': product('PBB_WO', 'PB Bench Routed Unit'),
    }
    Workcenter = env['mrp.workcenter']  # noqa: F821
    wc = Workcenter.search([('code', '=', 'PBB_WC')], limit=1) or Workcenter.create(
        {'name': 'PB Bench Cell', 'code': 'PBB_WC'})
    Bom = env['mrp.bom']  # noqa: F821
    boms = {}
    for op, fp in fin.items():
        bom = Bom.search([('product_tmpl_id', '=', fp.product_tmpl_id.id)], limit=1)
        if not bom:
            lines = [Command.create({'product_id': comp.id, 'product_qty': 1})]
            if fp.default_code == 'PBB_UNT':
                lines.append(Command.create({'product_id': lotc.id, 'product_qty': 1}))
            vals = {'product_tmpl_id': fp.product_tmpl_id.id, 'product_qty': 1, 'bom_line_ids': lines}
            if op == 'workorder':
                vals['operation_ids'] = [Command.create({'name': 'Assemble', 'workcenter_id': wc.id,
                                                         'time_cycle_manual': 1})]
            bom = Bom.create(vals)
        boms[op] = bom
    Quant._update_available_quantity(comp, stock, 1_000_000)
    run = datetime.now().strftime('%m%d%H%M%S')
    Production = env['mrp.production']  # noqa: F821

    def order(op, qty):
        production = Production.create({'product_id': fin[op].id, 'product_qty': qty, 'bom_id': boms[op].id,
                                        'product_uom_id': fin[op].uom_id.id})
        production.action_confirm()
        return production

    plan = {'run': run, 'ops': {}, 'mixed': {}}
    lots_to_stock = []
    minute = 0
    for op, (orders, steps) in OPS.items():
        plan['ops'][op] = {}
        for contender in CONTENDERS:
            plan['ops'][op][contender] = []
            for r in range(rounds + 2):  # + warm-ups (see ceiling() and the client)
                round_steps = []
                for o in range(orders * scale):
                    tag = f'{contender[0].upper()}{run}-{r}-{o}'
                    at = lambda s: (BASE + timedelta(minutes=minute, seconds=s)).isoformat() + '+00:00'  # noqa: E731
                    minute += 1
                    if op == 'production-serial':
                        production = order(op, steps)
                        for s in range(steps):
                            serial = Lot.create({'name': f'{tag}-S{s}', 'product_id': fin[op].id}).name
                            round_steps.append({'type': 'production', 'order': production.name, 'lot': serial,
                                                'quantity': 1, 'finish': s == steps - 1, 'at': at(s)})
                    elif op == 'production-lot':
                        production = order(op, 10)
                        lot = Lot.create({'name': f'{tag}-L', 'product_id': fin[op].id}).name
                        for s in range(steps):
                            round_steps.append({'type': 'production', 'order': production.name, 'lot': lot,
                                                'quantity': 10 / steps, 'finish': s == steps - 1, 'at': at(s)})
                    elif op == 'consumption-lot':
                        production = order(op, steps)
                        lot = Lot.create({'name': f'{tag}-C', 'product_id': lotc.id})
                        lots_to_stock.append((lot, steps))
                        for s in range(steps):
                            round_steps.append({'type': 'consumption', 'order': production.name,
                                                'product': 'PBB_LOTC', 'lot': lot.name, 'quantity': 1, 'at': at(s)})
                    elif op == 'scrap':
                        production = order(op, steps)
                        for s in range(steps):
                            round_steps.append({'type': 'scrap', 'order': production.name, 'product': 'PBB_COMP',
                                                'quantity': 1, 'at': at(s)})
                    elif op == 'workorder':
                        production = order(op, 1)
                        for s, status in enumerate(('started', 'finished')):
                            round_steps.append({'type': 'workorder_status', 'order': production.name,
                                                'operation': 'Assemble', 'status': status, 'at': at(60 * s)})
                plan['ops'][op][contender].append(round_steps)
    # the mixed stream: per contender its own machines and orders, a minute of plant time per round
    for contender in CONTENDERS:
        tag = f'{contender[0].upper()}{run}'
        machines = [Workcenter.create({'name': f'PB Bench {tag} M{m:02d}', 'code': f'PBB{tag}M{m:02d}'}).code
                    for m in range(MIX['machines'])]
        orders, lots = [], []
        for o in range(MIX['orders']):
            orders.append(order('consumption-lot', 1000).name)
            lot = Lot.create({'name': f'{tag}-MIX{o}', 'product_id': lotc.id})
            lots_to_stock.append((lot, 1000))
            lots.append(lot.name)
        minutes = []
        # JSON-2 gets PACED more minutes: the stream posted at the plant's pace (lag)
        count = {'ceiling': rounds + 2, 'json2': rounds + 2 + paced, 'naive': 2}[contender]
        for m in range(count):
            start = BASE + timedelta(days=30, minutes=m)
            steps = []
            for k in range(60):  # one slice a second: what arrives in that second
                at = (start + timedelta(seconds=k)).isoformat() + '+00:00'
                if k % 3 == 0:  # 20 machines' states with their counters
                    i = k // 3
                    steps.append({'type': 'machine_status', 'workcenter': machines[i % MIX['machines']],
                                  'status': ('running', 'idle')[(m + i) % 2],
                                  'counters': {'good': 100 * m + i, 'reject': m}, 'at': at})
                for j in range(MIX['production'] // 60 + (1 if k < MIX['production'] % 60 else 0)):
                    o = (k * 2 + j) % MIX['orders']
                    steps.append({'type': 'production', 'order': orders[o], 'quantity': 1, 'at': at})
                for j in range(MIX['consumption'] // 60 + (1 if k < MIX['consumption'] % 60 else 0)):
                    o = (k * 2 + j + 1) % MIX['orders']
                    steps.append({'type': 'consumption', 'order': orders[o], 'product': 'PBB_LOTC', 'lot': lots[o],
                                  'quantity': 1, 'at': at})
                if k % 6 == 5:  # 10 scraps
                    steps.append({'type': 'scrap', 'order': orders[k % MIX['orders']], 'product': 'PBB_COMP',
                                  'quantity': 1, 'at': at})
                if k % 12 == 11:  # 5 downtime intervals, 20 s each, ending now
                    steps.append({'type': 'downtime', 'workcenter': machines[k // 12], 'reason': 'Equipment Failure',
                                  'start': (start + timedelta(seconds=k - 20)).isoformat() + '+00:00',
                                  'end': at, 'at': at})
            minutes.append(steps)
        plan['mixed'][contender] = minutes
    # component lots in stock only now: confirming the orders reserved nothing of them
    for lot, qty in lots_to_stock:
        Quant._update_available_quantity(lotc, stock, qty, lot_id=lot)
    env.cr.commit()  # noqa: F821
    with open(plan_path, 'w') as f:
        json.dump(plan, f)
    print(f'bench fixtures ready: {sum(len(s) for o in plan["ops"].values() for rs in o.values() for s in rs)} '
          f'operation steps, {sum(len(s) for m in plan["mixed"].values() for s in m)} mixed-stream steps')


# ---------------------------------------------------------------------- ceiling
def parse(at):
    return datetime.fromisoformat(at).replace(tzinfo=None)


class Ceiling:
    """Odoo's own calls for each step, on records found once (by name, cached)."""

    def __init__(self):
        self.orders, self.lots, self.products, self.workcenters = {}, {}, {}, {}
        self.consumed = set()
        self.loss = env.ref('mrp.block_reason1')  # noqa: F821 - Equipment Failure

    def order(self, name):
        if name not in self.orders:
            self.orders[name] = env['mrp.production'].search([('name', '=', name)], limit=1)  # noqa: F821
        return self.orders[name]

    def product(self, code):
        if code not in self.products:
            self.products[code] = env['product.product'].search([('default_code', '=', code)], limit=1)  # noqa: F821
        return self.products[code]

    def lot(self, name, product):
        if (name, product.id) not in self.lots:
            self.lots[name, product.id] = env['stock.lot'].search(  # noqa: F821
                [('name', '=', name), ('product_id', '=', product.id)], limit=1)
        return self.lots[name, product.id]

    def workcenter(self, code):
        if code not in self.workcenters:
            self.workcenters[code] = env['mrp.workcenter'].search([('code', '=', code)], limit=1)  # noqa: F821
        return self.workcenters[code]

    def run(self, step):
        getattr(self, step['type'])(step)

    def production(self, step):
        production = self.order(step['order'])
        product = production.product_id
        if product.tracking == 'serial':
            production.lot_producing_ids = [Command.link(self.lot(step['lot'], product).id)]
            production.qty_producing = len(production.lot_producing_ids)
        else:
            if step.get('lot'):
                lot = self.lot(step['lot'], product)
                if production.lot_producing_ids != lot:
                    production.lot_producing_ids = [Command.set(lot.ids)]
            production.qty_producing += step['quantity']
        production._set_qty_producing(False)
        if step.get('finish'):
            production.with_context(skip_consumption=True, skip_redirection=True, skip_backorder=True,
                                    mo_ids_to_backorder=[]).button_mark_done()

    def consumption(self, step):
        production = self.order(step['order'])
        product = self.product(step['product'])
        move = production.move_raw_ids.filtered(lambda m: m.product_id == product)[:1]
        if move.id not in self.consumed:
            move.move_line_ids.unlink()
            self.consumed.add(move.id)
        move._update_reserved_quantity(step['quantity'], move.location_id, lot_id=self.lot(step['lot'], product),
                                       strict=False)
        move.write({'picked': True, 'manual_consumption': True})

    def scrap(self, step):
        production = self.order(step['order'])
        product = self.product(step['product'])
        scrap = env['stock.scrap'].create({  # noqa: F821
            'product_id': product.id, 'product_uom_id': product.uom_id.id, 'scrap_qty': step['quantity'],
            'company_id': production.company_id.id, 'location_id': production.location_src_id.id,
            'production_id': production.id, 'origin': production.name,
        })
        if scrap.action_validate() is not True:
            scrap.do_scrap()

    def workorder_status(self, step):
        workorder = self.order(step['order']).workorder_ids.filtered(lambda w: w.name == step['operation'])[:1]
        if step['status'] == 'started':
            workorder.button_start()
        else:
            workorder.button_finish()

    def machine_status(self, step):
        workcenter = self.workcenter(step['workcenter'])
        at = parse(step['at'])
        vals = {'plant_bridge_status': step['status'], 'plant_bridge_status_at': at,
                'plant_bridge_counters': json.dumps(step['counters'], sort_keys=True)}
        if step['status'] != workcenter.plant_bridge_status:
            vals['plant_bridge_status_since'] = at
        workcenter.write(vals)

    def downtime(self, step):
        workcenter = self.workcenter(step['workcenter'])
        env['mrp.workcenter.productivity'].create({  # noqa: F821
            'workcenter_id': workcenter.id, 'company_id': workcenter.company_id.id or env.company.id,  # noqa: F821
            'loss_id': self.loss.id, 'date_start': parse(step['start']), 'date_end': parse(step['end']),
        })


def cpu_seconds(pids):
    """{pid: CPU seconds (user + system) so far} of these processes (Linux /proc)."""
    tick, seconds = os.sysconf('SC_CLK_TCK'), {}
    for pid in pids:
        try:
            with open(f'/proc/{pid}/stat') as f:
                fields = f.read().rsplit(')', 1)[1].split()
            seconds[pid] = (int(fields[11]) + int(fields[12])) / tick
        except OSError:
            pass
    return seconds


def ceiling(plan_path, out, part, rounds, only=()):
    """Half of the ceiling's rounds: part `a` before the JSON-2 contenders run, part `b` after
    them, so that the ceiling and JSON-2 see the machine's load of the same minutes. Each part
    starts with a warm-up round (a new process: Odoo's caches are cold), not counted."""
    with open(plan_path) as f:
        plan = json.load(f)
    half = (rounds + 1) // 2
    warm, measured = (0, range(1, half + 1)) if part == 'a' else (half + 1, range(half + 2, rounds + 2))
    results = {}
    env.cr.execute('SELECT pg_backend_pid()')  # noqa: F821
    pids = [os.getpid(), env.cr.fetchone()[0]]  # noqa: F821 - this process and its PostgreSQL backend
    groups = [(op, contenders['ceiling']) for op, contenders in plan['ops'].items()]
    groups.append(('mixed', plan['mixed']['ceiling']))  # one minute of plant traffic per round
    for name, all_rounds in groups:
        if only and name not in only:
            continue
        rates, cpu = [], []
        for r in (warm, *measured):
            steps = all_rounds[r]
            runner = Ceiling()
            env.invalidate_all()  # noqa: F821
            cpu0 = cpu_seconds(pids)
            t0 = time.perf_counter()
            for step in steps:
                runner.run(step)
            env.flush_all()  # noqa: F821
            env.cr.commit()  # noqa: F821
            seconds = time.perf_counter() - t0
            if r != warm:
                rates.append(len(steps) / seconds)
                cpu1 = cpu_seconds(pids)
                cpu.append(sum(cpu1[p] - cpu0.get(p, 0) for p in cpu1) / len(steps))
        results[name] = {'rates': rates, 'cpu_per_event': cpu, 'events': len(all_rounds[0])}
        print(f'ceiling ({part}) {name}: {[round(x, 1) for x in rates]} steps/s')
    with open(out, 'w') as f:
        json.dump(results, f)


def profile(plan_path, op, index, out=None):
    """Round `index` of `op`: the ceiling's steps by Odoo's own loop, then the naive contender's
    steps (unused by profiling) posted in-process with post_events by a connector user, under
    cProfile, with their SQL query counts; prints the top functions of the post_events call."""
    import cProfile
    import io
    import pstats
    with open(plan_path) as f:
        plan = json.load(f)
    rounds = plan['ops'][op] if op != 'mixed' else {'ceiling': plan['mixed']['ceiling'],
                                                    'naive': plan['mixed']['naive']}
    user = env['res.users'].search([('login', '=', 'pb_bench_sidecar')])  # noqa: F821
    Api = env['plant_bridge.api'].with_user(user)  # noqa: F821
    figures, sql = {}, {}
    import collections
    import re
    execute = type(env.cr).execute  # noqa: F821
    for name, steps in (('ceiling', rounds['ceiling'][index]), ('post_events', rounds['naive'][index])):
        counter = sql[name] = collections.Counter()

        def counting(cr, query, params=None, log_exceptions=True, counter=counter):
            text = query.code if hasattr(query, 'code') else str(query)
            counter[re.sub(r'\s+', ' ', text)[:160]] += 1
            return execute(cr, query, params, log_exceptions)
        type(env.cr).execute = counting  # noqa: F821
        env.invalidate_all()  # noqa: F821
        queries = env.cr.sql_log_count  # noqa: F821
        profiler = cProfile.Profile()
        profiler.enable()
        t0 = time.perf_counter()
        if name == 'ceiling':
            runner = Ceiling()
            for step in steps:
                runner.run(step)
        else:
            events = [{**{k: v for k, v in step.items() if k != 'at'}, 'id': f'profile-{plan["run"]}-{op}-{index}-{i}',
                       'site': 'main', 'source': 'sim', 'occurredAt': step['at']} for i, step in enumerate(steps)]
            results = Api.post_events(events, sidecar='profile')
            bad = [r for r in results if r['status'] != 'applied']
            assert not bad, bad[0]
        env.flush_all()  # noqa: F821
        env.cr.commit()  # noqa: F821
        profiler.disable()
        type(env.cr).execute = execute  # noqa: F821
        seconds = time.perf_counter() - t0
        figures[name] = (len(steps) / seconds, (env.cr.sql_log_count - queries) / len(steps))  # noqa: F821
        print(f'{op} {name}: {len(steps)} steps in {seconds:.2f} s = {figures[name][0]:.1f} steps/s, '
              f'{figures[name][1]:.1f} queries/step')
        if name == 'post_events':
            if out:
                profiler.dump_stats(out)
            stream = io.StringIO()
            stats = pstats.Stats(profiler, stream=stream)
            stats.sort_stats('cumulative').print_stats(60)
            print(stream.getvalue())
    print(f"{op}: post_events / ceiling = {figures['post_events'][0] / figures['ceiling'][0]:.2f}")
    if os.environ.get('PB_PROFILE_SQL'):
        print('queries post_events runs more often than the ceiling (per step):')
        n = len(rounds['naive'][index])
        for text, count in (sql['post_events'] - sql['ceiling']).most_common(40):
            print(f"  {count / n:5.2f}  {text}")


if mode == 'profile':
    profile(args[1], args[2], int(args[3]), args[4] if len(args) > 4 else None)
elif mode == 'setup':
    setup(int(args[1]), int(args[2]), int(args[3]), args[4])
else:
    ceiling(args[1], args[2], args[3], int(args[4]), args[5].split(',') if len(args) > 5 else ())
