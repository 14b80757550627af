"""Differential tests: one shop-floor story, told twice on twin manufacturing orders.

Once through what Odoo's own screens call (the MO form through `Form`, its buttons, the
backorder / consumption warning wizards), once as canonical events posted by the connector.
Odoo is the oracle: `snapshot` reduces an order (and its backorders) to what a user would
check - move lines, quants moved, states, quantities, lots and their genealogy, scraps - free of
database ids and of names that differ between the twins, and `assertSameOutcome` requires the
two snapshots to be equal.

Lot and serial names of a story carry a tag (`M-` for the manual twin, `E-` for the event
twin) because a serial can be produced only once; the snapshot replaces the tag by `*`.
"""
from contextlib import contextmanager

from odoo.tests import Form, freeze_time

from .common import PlantBridgeCase

MANUAL, EVENTS = 'M-', 'E-'


@contextmanager
def request_at(env, moment):
    """A request of Odoo's screens at `moment`: Odoo's clock (`fields.Datetime.now()`) and the
    transaction's timestamp (`cr.now()`, which `freeze_time` does not move: Odoo counts a work
    order's running timers up to it) both answer that moment."""
    cr = env.cr
    previous = cr._now
    cr._now = moment
    try:
        with freeze_time(moment):
            yield
    finally:
        cr._now = previous


class DifferentialCase(PlantBridgeCase):

    # ------------------------------------------------------------------ the manual twin
    def form_produce(self, production, quantity=None, serials=(), lot=None):
        """The MO form: type the quantity producing and / or pick the lot or serials."""
        with Form(production) as form:
            if lot:
                form.lot_producing_ids.clear()
                form.lot_producing_ids.add(self.lot(production.product_id, lot))
            for serial in serials:
                form.lot_producing_ids.add(self.lot(production.product_id, serial))
            if quantity is not None:
                form.qty_producing = quantity

    def form_consume(self, production, product_code, quantity, lot=None):
        """The Components tab: the consumed quantity of an untracked component, or the move's
        detailed operations (one line per lot) for a tracked one - replacing what Odoo proposed."""
        index = next(i for i, move in enumerate(production.move_raw_ids)
                     if move.product_id.default_code == product_code)
        move = production.move_raw_ids[index]
        if move.has_tracking == 'none':
            with Form(production) as form, form.move_raw_ids.edit(index) as line:
                line.quantity = quantity
                line.picked = True
            return
        action = move.action_show_details()  # the Details button: its dialog, with its context
        with Form(move.with_context(**action['context']), view=action['views'][0][0]) as form:
            while len(form.move_line_ids):
                form.move_line_ids.remove(0)
            with form.move_line_ids.new() as line:
                line.lot_id = self.lot(move.product_id, lot)
                line.quantity = quantity
                line.picked = True

    def form_scrap(self, production, product_code, quantity):
        """The MO's Scrap button: its wizard, validated."""
        action = production.button_scrap()
        with Form(self.env['stock.scrap'].with_context(**action['context']), view=action['views'][0][0]) as form:
            form.product_id = self.env['product.product'].search([('default_code', '=', product_code)], limit=1)
            form.scrap_qty = quantity
        scrap = production.scrap_ids.sorted('id')[-1:]
        self.assertIs(scrap.action_validate(), True)

    def mark_done(self, production, backorder=True):
        """Produce / Mark as done, answering the wizards as a person who accepts the
        consumption and chooses (or not) a backorder."""
        action = production.button_mark_done()
        while isinstance(action, dict) and action.get('res_model') in (
                'mrp.consumption.warning', 'mrp.production.backorder'):
            wizard = Form(self.env[action['res_model']].with_context(**action['context'])).save()
            if action['res_model'] == 'mrp.consumption.warning':
                action = wizard.action_confirm()
            else:
                action = wizard.action_backorder() if backorder else wizard.action_close_mo()
        return action

    def lot(self, product, name):
        Lot = self.env['stock.lot']
        return (Lot.search([('name', '=', name), ('product_id', '=', product.id)], limit=1)
                or Lot.create({'name': name, 'product_id': product.id}))

    # ------------------------------------------------------------------ the event twin
    def post_story(self, production, *events):
        """Post events for this order one call each, as they arrive; all must apply."""
        results = []
        for event_type, fields_ in events:
            event = self.event(event_type, **dict({'order': production.name}, **fields_))
            result = self.post(event)[0]
            self.assertEqual(result['status'], 'applied', f"{event_type} {fields_}: {result.get('message')}")
            results.append(result)
        return results

    # ------------------------------------------------------------------ comparing
    def twin_orders(self, product_code, quantity, operation=None):
        """Two confirmed MOs of the product (internal reference), made in the MO form; with
        `operation` (name, work center) a work order added in its Work Orders tab - on a work
        center per twin when the work center is a pair (see `twin_workcenters`)."""
        product = self.env['product.product'].search([('default_code', '=', product_code)], limit=1)
        orders = self.env['mrp.production']
        for twin in range(2):
            form = Form(self.env['mrp.production'])
            form.product_id = product
            form.product_qty = quantity
            orders |= form.save()
            if operation:
                name, workcenter = operation
                with Form(orders[-1]) as mo_form, mo_form.workorder_ids.new() as workorder:
                    workorder.name = name
                    workorder.workcenter_id = workcenter if len(workcenter) == 1 else workcenter[twin]
        orders.action_confirm()
        return orders[0], orders[1]

    def twin_workcenters(self, workcenter):
        """Two copies of a work center (same calendar, costs, automatic downtime setting), one
        per twin: time logs and the blocked state belong to a work center, so the twins of a
        time story cannot share one. Named with the twin's tag (`M-Assembly 1`, `E-Assembly 1`)."""
        return tuple(workcenter.copy({'name': tag + workcenter.name, 'code': False}) for tag in (MANUAL, EVENTS))

    def block(self, workcenter, loss, description=None):
        """The work center's Block button: its dialog (a time log form), saved, then Block."""
        action = self.env.ref('mrp.act_mrp_block_workcenter')
        with Form(self.env['mrp.workcenter.productivity'].with_context(default_workcenter_id=workcenter.id),
                  view=action.view_id) as form:
            form.loss_id = loss
            if description:
                form.description = description
        form.record.button_block()
        return form.record

    @contextmanager
    def story(self, production, tag):
        """Runs a story on `production`; afterwards `.snapshot` holds its outcome."""
        record = _Story()
        before = self._quants(tag)
        yield record
        self.env.flush_all()
        self.env.invalidate_all()
        record.snapshot = snapshot(production, tag)
        after = self._quants(tag)
        record.snapshot['quant_deltas'] = sorted(
            (key, round(after.get(key, 0.0) - before.get(key, 0.0), 6))
            for key in set(before) | set(after)
            if abs(after.get(key, 0.0) - before.get(key, 0.0)) > 1e-9)

    def _quants(self, tag):
        quants = {}
        for quant in self.env['stock.quant'].search([]):
            key = (_product(quant.product_id), quant.location_id.complete_name, _lot(quant.lot_id, tag))
            quants[key] = quants.get(key, 0.0) + quant.quantity
        return quants

    def assertSameOutcome(self, manual, events):
        """`manual` and `events`: the records yielded by `story` (or two snapshots)."""
        manual = getattr(manual, 'snapshot', manual)
        events = getattr(events, 'snapshot', events)
        self.maxDiff = None
        for key in manual:
            self.assertEqual(events.get(key), manual[key], f"{key} differs (first: events, second: manual)")
        self.assertEqual(set(events), set(manual))


class _Story:
    snapshot = None


def _product(product):
    return product.default_code or product.display_name


def _lot(lot, tag):
    if not lot:
        return False
    return lot.name.replace(tag, '*', 1) if lot.name.startswith(tag) else lot.name


def _family(production):
    """The order and its backorders (WH/MO/00007 -> WH/MO/00007-001, -002, ...)."""
    root = production.name.split('-')[0]
    return production.search([('name', '=like', f'{root}-%')]) | production.search([('name', '=', root)])


def snapshot(production, tag):
    """Everything a user would compare after a story, without ids or twin-specific names."""
    family = _family(production).sorted(lambda mo: (mo.backorder_sequence, mo.id))
    root = production.name.split('-')[0]

    def line_key(line):
        return (_product(line.product_id), _lot(line.lot_id, tag))

    def move_lines(moves):
        return sorted(
            (_product(line.product_id), _lot(line.lot_id, tag), round(line.quantity, 6), line.product_uom_id.name,
             line.location_id.complete_name, line.location_dest_id.complete_name, line.state, line.picked)
            for line in moves.move_line_ids)

    orders = []
    for mo in family:
        orders.append({
            'name': mo.name.replace(root, 'MO', 1),
            'state': mo.state,
            'product_qty': mo.product_qty,
            'qty_produced': mo.qty_produced,
            'qty_producing': mo.qty_producing,
            'lots_producing': sorted(_lot(lot, tag) for lot in mo.lot_producing_ids),
            'raw_moves': sorted((_product(move.product_id), move.state, round(move.product_uom_qty, 6),
                                 round(move.quantity, 6), move.picked) for move in mo.move_raw_ids),
            'finished_moves': sorted((_product(move.product_id), move.state, round(move.product_uom_qty, 6),
                                      round(move.quantity, 6)) for move in mo.move_finished_ids),
            'raw_lines': move_lines(mo.move_raw_ids),
            'finished_lines': move_lines(mo.move_finished_ids),
            # genealogy: what each produced line consumed, and what each consumed line went into
            'consumed_by_produced': sorted(
                (line_key(line), sorted(line_key(consumed) for consumed in line.consume_line_ids))
                for line in mo.move_finished_ids.move_line_ids),
            'produced_by_consumed': sorted(
                (line_key(line), sorted(line_key(produced) for produced in line.produce_line_ids))
                for line in mo.move_raw_ids.move_line_ids),
            'scraps': sorted(
                (_product(scrap.product_id), _lot(scrap.lot_id, tag), scrap.scrap_qty, scrap.product_uom_id.name,
                 scrap.location_id.complete_name, scrap.scrap_location_id.complete_name, scrap.state,
                 tuple(sorted(scrap.scrap_reason_tag_ids.mapped('name'))))
                for scrap in mo.scrap_ids),
            'scrap_lines': move_lines(mo.scrap_ids.move_ids),
        })
    return {'orders': orders}


def time_snapshot(workcenter, productions=()):
    """What a person checks after a time story: the work center's time logs (loss, dates,
    duration, which work order), its state, and per order its start and the dates, durations and
    cost of its work orders - everything free of ids, users and descriptions."""
    def moment(value):
        return value and value.isoformat(sep=' ')

    return {
        'working_state': workcenter.working_state,
        'time_logs': sorted(
            (log.loss_id.name, log.loss_type, moment(log.date_start), moment(log.date_end), round(log.duration, 2),
             log.workorder_id.name or False)
            for log in workcenter.env['mrp.workcenter.productivity'].search([('workcenter_id', '=', workcenter.id)])),
        'orders': [{
            'state': production.state,
            'date_start': moment(production.date_start),
            'workorders': [
                (wo.name, wo.state, moment(wo.date_start), moment(wo.date_finished), round(wo.duration, 2),
                 wo.qty_produced, wo.costs_hour, round(wo._cal_cost(), 2))
                for wo in production.workorder_ids],
        } for production in productions],
    }
