import json
from collections import defaultdict

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_is_zero

from ..posting import parse_datetime
from ..exceptions import EventRejected

#: Most legacy total lines in one call.
MAX_LINES = 10000


class PlantBridgeReconciliation(models.Model):
    """A comparison of what a legacy system reports (produced and scrapped quantities per
    manufacturing order and shift, lots consumed) with Odoo, filed by `plant_bridge.api.reconcile`.
    Only the differences become lines; each may propose a correction an operator accepts.
    Legacy quantities are in the product's unit, and so are Odoo's quantities and the differences
    on the lines; a correction is in the unit of the move it corrects (its `uom` says which).
    """
    _name = 'plant_bridge.reconciliation'
    _description = 'Plant Bridge Reconciliation'
    _inherit = ['mail.thread']
    _order = 'date desc, id desc'

    name = fields.Char(required=True, readonly=True)
    key = fields.Char(required=True, readonly=True,
                      help="Idempotency key of the sidecar's call: the same comparison is filed once.")
    site_id = fields.Many2one('plant_bridge.site', required=True, readonly=True, index=True,
                              ondelete='cascade')
    source = fields.Char(readonly=True, help="The legacy connector the totals came from.")
    sidecar = fields.Char(readonly=True)
    date = fields.Datetime(required=True, readonly=True, default=fields.Datetime.now)
    compared_count = fields.Integer('Compared', readonly=True,
                                    help="Quantities compared (order, shift or lot, measure).")
    line_ids = fields.One2many('plant_bridge.reconciliation.line', 'reconciliation_id', string='Difference Lines')
    difference_count = fields.Integer('Differences', compute='_compute_counts', store=True)
    open_count = fields.Integer('To Review', compute='_compute_counts', store=True)
    state = fields.Selection([('open', 'To Review'), ('done', 'Done')], compute='_compute_counts',
                             store=True, tracking=True)

    _site_key_unique = models.Constraint('unique(site_id, key)', 'A reconciliation is filed once.')

    @api.depends('line_ids.state')
    def _compute_counts(self):
        for rec in self:
            rec.difference_count = len(rec.line_ids)
            rec.open_count = len(rec.line_ids.filtered(lambda l: l.state in ('open', 'failed')))
            rec.state = 'open' if rec.open_count else 'done'

    # ------------------------------------------------------------------ comparison
    @api.model
    def _reconcile(self, site, key, source, lines, sidecar=None):
        """Compare legacy totals with Odoo and file the differences (see `plant_bridge.api.reconcile`).

        Runs as superuser on the site's orders; returns the reconciliation (an existing one
        for a key already filed).
        """
        existing = self.search([('site_id', '=', site.id), ('key', '=', key)], limit=1)
        if existing:
            return existing
        totals = self._legacy_totals(lines)
        orders = {name for (name, *_rest) in totals}
        # the legacy side names an order as it was released (its order key), or by its name
        found = self.env['mrp.production'].search([
            '|', ('name', 'in', list(orders)), ('plant_bridge_order_key', 'in', list(orders)),
            ('picking_type_id.warehouse_id', '=', site.warehouse_id.id)], order='id desc')
        productions = {mo.name: mo for mo in found}
        productions.update({mo.plant_bridge_order_key: mo for mo in found if mo.plant_bridge_order_key})
        line_vals, compared = [], 0
        for (order, measure, scope), legacy_qty in sorted(totals.items(), key=str):
            compared += 1
            vals = self._compare(productions.get(order), order, measure, scope, legacy_qty)
            if vals:
                line_vals.append(vals)
        now = fields.Datetime.now()
        return self.create({
            'name': f'{source or _("Legacy")} {fields.Datetime.to_string(now)}',
            'key': key, 'site_id': site.id, 'source': source or False, 'sidecar': sidecar or False,
            'date': now, 'compared_count': compared,
            'line_ids': [Command.create(vals) for vals in line_vals],
        })

    @api.model
    def _legacy_totals(self, lines):
        """{(order, measure, scope): quantity}: scope is (shift, start, end) for produced and
        scrapped (product for scrapped), (product, lot) for consumed; repeated keys are summed."""
        if not isinstance(lines, list) or len(lines) > MAX_LINES:
            raise UserError(_("'lines' must be a list of at most %s objects.", MAX_LINES))
        totals = defaultdict(float)
        for line in lines:
            if not isinstance(line, dict) or not isinstance(line.get('order'), str) or not line['order']:
                raise UserError(_("Each line needs an 'order' (a manufacturing order name)."))
            shift = self._window(line)
            for measure in ('produced', 'scrapped', 'consumed'):
                value = line.get(measure)
                if value is None:
                    continue
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                    raise UserError(_("'%(measure)s' of %(order)s must be a number >= 0.",
                                      measure=measure, order=line['order']))
                if measure == 'consumed':
                    if not isinstance(line.get('product'), str):
                        raise UserError(_("A 'consumed' line needs its 'product'."))
                    scope = ('lot', line['product'], str(line.get('lot') or ''))
                elif measure == 'scrapped':
                    scope = shift + (str(line.get('product') or ''),)
                else:
                    scope = shift
                totals[(line['order'], measure, scope)] += float(value)
        return totals

    @api.model
    def _window(self, line):
        """A shift is compared by its time window; without one, the order's totals are compared
        (the quantities of its shifts summed)."""
        start, end = line.get('shift_start'), line.get('shift_end')
        if bool(start) != bool(end):
            raise UserError(_("'shift_start' and 'shift_end' go together."))
        if not start:
            return ('shift', '', '', '')
        shift = str(line.get('shift') or '')
        try:
            start = fields.Datetime.to_string(parse_datetime(start, 'shift_start')) if start else ''
            end = fields.Datetime.to_string(parse_datetime(end, 'shift_end')) if end else ''
        except EventRejected as e:
            raise UserError(e.message) from None
        return ('shift', shift, start, end)

    @api.model
    def _compare(self, production, order, measure, scope, legacy_qty):
        """The values of a difference line, or None when the quantities agree."""
        vals = {'order': order, 'measure': measure, 'legacy_qty': legacy_qty,
                'production_id': production.id if production else False}
        if scope[0] == 'shift':
            _kind, shift, start, end = scope[:4]
            vals.update(shift=shift or False, shift_start=start or False, shift_end=end or False)
        else:
            vals['lot'] = scope[2] or False
        if not production:
            vals.update(odoo_qty=0.0, difference=legacy_qty, note=_("No such manufacturing order on this site."))
            return vals
        product = self._measure_product(production, measure, scope)
        if product is None:
            vals.update(odoo_qty=0.0, difference=legacy_qty, note=_("Unknown product %s.", scope[-1] if measure == 'scrapped' else scope[1]))
            return vals
        odoo_qty = self._odoo_qty(production, measure, scope, product)
        difference = legacy_qty - odoo_qty
        rounding = product.uom_id.rounding
        if float_is_zero(difference, precision_rounding=rounding):
            return None
        vals.update(product_id=product.id, odoo_qty=odoo_qty, difference=difference)
        vals.update(self._propose(production, measure, scope, product, difference))
        return vals

    @api.model
    def _measure_product(self, production, measure, scope):
        ref = scope[1] if measure == 'consumed' else (scope[-1] if measure == 'scrapped' else '')
        if not ref:
            return production.product_id
        product = self.env['product.product'].search([('default_code', '=', ref)], limit=1)
        return product or None

    @api.model
    def _odoo_qty(self, production, measure, scope, product):
        if measure == 'consumed':
            lot = scope[2]
            move_lines = production.move_raw_ids.filtered(
                lambda m: m.product_id == product and m.state != 'cancel'
                and (m.picked or m.state == 'done')).move_line_ids
            if lot:
                move_lines = move_lines.filtered(lambda ml: ml.lot_id.name == lot)
            return sum(ml.product_uom_id._compute_quantity(ml.quantity, product.uom_id) for ml in move_lines)
        _kind, _shift, start, end = scope[:4]
        if measure == 'scrapped':
            domain = [('production_id', '=', production.id), ('product_id', '=', product.id), ('state', '=', 'done')]
            if start:
                domain += [('date_done', '>=', start), ('date_done', '<', end)]
            scraps = self.env['stock.scrap'].search(domain)
            return sum(s.product_uom_id._compute_quantity(s.scrap_qty, product.uom_id) for s in scraps)
        if start:
            # per shift: what the plant reported through Plant Bridge in that window
            messages = self.env['plant_bridge.message'].search([
                ('production_id', '=', production.id), ('event_type', '=', 'production'),
                ('state', '=', 'applied'), ('occurred_at', '>=', start), ('occurred_at', '<', end)])
            total = 0.0
            for message in messages:
                event = message._get_event()
                quantity = event.get('quantity')
                if isinstance(quantity, (int, float)) and not isinstance(quantity, bool):
                    # in the event's unit when it named one (it applied: a known, compatible unit)
                    uom = self._uom_named(event.get('uom')) or production.product_uom_id
                    total += uom._compute_quantity(quantity, product.uom_id, round=False)
            return total
        produced = production.qty_produced if production.state == 'done' else production.qty_producing
        return production.product_uom_id._compute_quantity(produced, product.uom_id, round=False)

    @api.model
    def _uom_named(self, name):
        if not isinstance(name, str) or not name:
            return self.env['uom.uom']
        return self.env['uom.uom'].search([('name', '=', name)], limit=1)

    @api.model
    def _correction_uom(self, production, measure, product):
        """The unit of the move a correction lands on: the order's for produced, the component
        move's for consumed (the one a consumption event would take), the product's for scrap."""
        if measure == 'produced':
            return production.product_uom_id
        if measure == 'consumed':
            move = production.move_raw_ids.filtered(
                lambda m: m.product_id == product and m.state not in ('done', 'cancel'))[:1]
            return move.product_uom or product.uom_id
        return product.uom_id

    @api.model
    def _propose(self, production, measure, scope, product, difference):
        """The correction of a difference, or a note saying why there is none."""
        if difference < 0:
            return {'note': _("Odoo has more than the legacy side reports: check and correct in Odoo.")}
        if production.state in ('done', 'cancel') and measure != 'scrapped':
            return {'note': _("%(order)s is %(state)s: correct it in Odoo.", order=production.name,
                              state=production.state)}
        # the difference is in the product's unit (as the legacy totals); the correction is in
        # the unit of the move it corrects, and names it
        uom = self._correction_uom(production, measure, product)
        qty = product.uom_id._compute_quantity(difference, uom, rounding_method='HALF-UP')
        ref = product.default_code or product.display_name
        if measure == 'produced':
            event = {'type': 'production', 'order': production.name, 'quantity': qty, 'uom': uom.name}
            if product.tracking == 'serial':
                return {'note': _("Serial-tracked: report each serial from the plant.")}
            if product.tracking == 'lot':
                if not production.lot_producing_ids:
                    return {'note': _("Lot-tracked and no lot on the order yet.")}
                event['lot'] = production.lot_producing_ids[:1].name
            summary = _("Produce %(qty)s %(uom)s %(product)s on %(order)s", qty=qty, uom=uom.name, product=ref,
                        order=production.name)
        elif measure == 'scrapped':
            event = {'type': 'scrap', 'order': production.name, 'product': ref, 'quantity': qty, 'uom': uom.name,
                     'reason': _("Reconciliation with the legacy side")}
            if product.tracking != 'none':
                return {'note': _("Tracked product: scrap it in Odoo with its lot.")}
            summary = _("Scrap %(qty)s %(uom)s %(product)s of %(order)s", qty=qty, uom=uom.name, product=ref,
                        order=production.name)
        else:
            event = {'type': 'consumption', 'order': production.name, 'product': ref, 'quantity': qty,
                     'uom': uom.name}
            if scope[2]:
                event['lot'] = scope[2]
            elif product.tracking != 'none':
                return {'note': _("Tracked component without a lot.")}
            summary = _("Consume %(qty)s %(uom)s %(product)s%(lot)s on %(order)s", qty=qty, uom=uom.name, product=ref,
                        lot=f" ({scope[2]})" if scope[2] else '', order=production.name)
        return {'correction': json.dumps(event), 'correction_summary': summary}

    def action_accept_all(self):
        """Apply every proposed correction of these reconciliations."""
        self.check_access('write')
        self.line_ids.filtered(lambda l: l.state in ('open', 'failed') and l.correction).action_accept()


MEASURES = [('produced', 'Produced'), ('scrapped', 'Scrapped'), ('consumed', 'Consumed')]


class PlantBridgeReconciliationLine(models.Model):
    """One difference between the legacy side and Odoo, with the canonical event that would
    correct Odoo (when one can: an increment the posting flow applies). Accepting posts it through
    the same idempotent flow as plant events; the key `reconciliation:<line>` makes a second
    accept a no-op."""
    _name = 'plant_bridge.reconciliation.line'
    _description = 'Plant Bridge Reconciliation Line'
    _order = 'reconciliation_id, order, measure, id'

    reconciliation_id = fields.Many2one('plant_bridge.reconciliation', required=True, readonly=True,
                                        index=True, ondelete='cascade')
    site_id = fields.Many2one(related='reconciliation_id.site_id', store=True)
    production_id = fields.Many2one('mrp.production', readonly=True, index='btree_not_null',
                                    ondelete='set null')
    order = fields.Char(required=True, readonly=True)
    shift = fields.Char(readonly=True)
    shift_start = fields.Datetime(readonly=True)
    shift_end = fields.Datetime(readonly=True)
    measure = fields.Selection(MEASURES, required=True, readonly=True)
    product_id = fields.Many2one('product.product', readonly=True, ondelete='set null')
    lot = fields.Char(readonly=True)
    legacy_qty = fields.Float('Legacy', readonly=True, digits='Product Unit')
    odoo_qty = fields.Float('Odoo', readonly=True, digits='Product Unit')
    difference = fields.Float(readonly=True, digits='Product Unit', help="Legacy minus Odoo.")
    correction = fields.Text(readonly=True, help="The canonical event (JSON) accepting would post.")
    correction_summary = fields.Char('Proposed Correction', readonly=True)
    note = fields.Char(readonly=True, help="Why no correction is proposed.")
    state = fields.Selection([
        ('open', 'To Review'), ('accepted', 'Accepted'), ('dismissed', 'Dismissed'), ('failed', 'Failed'),
    ], required=True, default='open', readonly=True)
    message_id = fields.Many2one('plant_bridge.message', string='Posted Event', readonly=True,
                                 ondelete='set null')
    error = fields.Text(readonly=True)

    def action_accept(self):
        """Post the proposed corrections (one batch) and record each outcome."""
        self.check_access('write')
        lines = self.filtered(lambda l: l.correction and l.state in ('open', 'failed'))
        if not lines:
            return True
        events = []
        for line in lines:
            event = dict(line._get_correction(),
                         id=f'reconciliation:{line.id}', site=line.site_id.code,
                         occurredAt=fields.Datetime.now().isoformat() + '+00:00',
                         origin=f'reconciliation:{line.reconciliation_id.id}')
            events.append(event)
        results = self.env['plant_bridge.api'].sudo()._post(events)
        for line, result in zip(lines, results):
            status = result.get('status')
            vals = {'message_id': result.get('message_id') or False}
            if status in ('applied', 'duplicate', 'deferred'):
                vals.update(state='accepted', error=False)
            else:
                vals.update(state='failed', error=f"{result.get('code')}: {result.get('message')}")
            line.write(vals)
            line.reconciliation_id.message_post(body=_(
                "%(order)s %(measure)s: correction %(status)s", order=line.order,
                measure=dict(MEASURES)[line.measure], status=status))
        return True

    def action_dismiss(self):
        self.check_access('write')
        self.filtered(lambda l: l.state in ('open', 'failed')).write({'state': 'dismissed'})
        return True

    def _get_correction(self):
        self.ensure_one()
        return json.loads(self.correction)
