import json

from odoo import _, fields, models
from odoo.exceptions import UserError

from ..posting import utc_iso

#: a change of one of these on a released order is sent to the plant as order_change
CHANGE_FIELDS = ('product_qty', 'date_start', 'date_finished', 'date_deadline')
#: how many successors (backorders, merges) an order key is followed through at most
MAX_SUCCESSORS = 100


#: what says where a release came from or which message it is, not what the order is
RELEASE_ENVELOPE = ('type', 'id', 'site', 'backorder_of', 'split_from', 'merged_from')


def _release_content(payload):
    return {k: v for k, v in payload.items() if k not in RELEASE_ENVELOPE}


class MrpProduction(models.Model):
    _inherit = 'mrp.production'

    plant_bridge_qty_reported = fields.Float(
        'Quantity Reported by the Plant', digits='Product Unit', readonly=True, copy=False,
        help="Sum of the `production` quantities the plant reported. The quantity producing is "
             "set from it, not added to whatever Odoo proposed (starting a work order proposes "
             "the whole remaining quantity).")
    plant_bridge_qty_workorder = fields.Float(
        'Quantity Reported by a Work Order', digits='Product Unit', readonly=True, copy=False,
        help="The quantity the plant reported with its last work order end (a count of the same "
             "units as the `production` reports, not more of them).")
    plant_bridge_order_key = fields.Char(
        'Plant Order Key', readonly=True, copy=False, index='btree_not_null',
        help="The name the plant knows this order by: its name when it was released, or when Odoo "
             "first renamed it if that came first. Odoo renaming the order for a "
             "backorder or a split (-001) does not change it; releases, changes and cancellations "
             "carry it as `order`, and the plant's events name the order by it.")
    plant_bridge_successor_id = fields.Many2one(
        'mrp.production', 'Continued By', readonly=True, copy=False, index='btree_not_null',
        help="Where the plant's events for this order go once it is closed: the backorder a short "
             "finish made for its remaining quantity, or the order it was merged into.")

    # ------------------------------------------------------------------ order key
    def _plant_bridge_key(self):
        self.ensure_one()
        return self.plant_bridge_order_key or self.name

    def _plant_bridge_open_successor(self):
        """This order, or, once it is done or cancelled, the open order that carries on with it
        (its backorder, the backorder's backorder..., the order it was merged into)."""
        self.ensure_one()
        production = self
        for _step in range(MAX_SUCCESSORS):
            if production.state not in ('done', 'cancel') or not production.plant_bridge_successor_id:
                break
            production = production.plant_bridge_successor_id
        return production

    def _plant_bridge_qty_produced(self):
        """The order's quantity produced as the plant reported it: its `production` reports
        and its work orders' finished quantities count the same units, so the larger one
        stands - neither adds to nor overwrites the other."""
        self.ensure_one()
        return max(self.plant_bridge_qty_reported, self.plant_bridge_qty_workorder)

    # ------------------------------------------------------------------ outbound
    def _plant_bridge_sites(self):
        """{production: site} for orders whose warehouse is a Plant Bridge site."""
        warehouses = self.picking_type_id.warehouse_id
        if not warehouses:
            return {}
        sites = self.env['plant_bridge.site'].sudo().search([('warehouse_id', 'in', warehouses.ids)])
        by_warehouse = {site.warehouse_id.id: site for site in sites}
        return {mo: by_warehouse[mo.picking_type_id.warehouse_id.id]
                for mo in self if mo.picking_type_id.warehouse_id.id in by_warehouse}

    def _plant_bridge_release_payload(self, site, event_type, key):
        """What a plant's execution system needs to run the order (docs/odoo-api.md
        `fetch_outbound`): quantities, components with the operation consuming them and the
        reserved stock, work orders with their dates and work centers, by-products."""
        self.ensure_one()
        payload = {'type': event_type, 'site': site.code, 'id': key, 'order': self._plant_bridge_key(),
                   'name': self.name}
        if event_type == 'order_cancel':
            return payload
        if event_type == 'order_done':
            successor = self.plant_bridge_successor_id
            payload.update({
                'product': self._plant_bridge_code(self.product_id),
                'quantity': self.product_qty,
                'produced': self.qty_produced,
                'uom': self.product_uom_id.name,
                'state': self.state,
                'finished': utc_iso(self.date_finished),
                'lots': sorted(self.lot_producing_ids.mapped('name')),
                'backorder': successor._plant_bridge_key() if successor and successor.backorder_sequence else None,
            })
            return payload
        payload.update({
            'product': self._plant_bridge_code(self.product_id),
            'quantity': self.product_qty,
            'remaining': self._get_quantity_to_backorder(),
            'uom': self.product_uom_id.name,
            'tracking': self.product_id.tracking,
            'due': utc_iso(self.date_deadline or self.date_finished),
            'start': utc_iso(self.date_start),
            'state': self.state,
            'priority': int(self.priority or 0),
            'origin': self.origin or None,
            'components': [{
                'product': self._plant_bridge_code(move.product_id),
                'quantity': move.product_uom_qty,
                'uom': move.product_uom.name,
                'operation': move.operation_id.name or None,
                'tracking': move.product_id.tracking,
                'lots': sorted(set(move.move_line_ids.lot_id.mapped('name'))),
                'reserved': self._plant_bridge_reserved(move),
            } for move in self.move_raw_ids.filtered(lambda m: m.state != 'cancel')],
            'operations': [{
                'name': workorder.name,
                'workcenter': workorder.workcenter_id.code or workorder.workcenter_id.name,
                'sequence': workorder.operation_id.sequence or index,
                'duration_expected': workorder.duration_expected,
                'start': utc_iso(workorder.date_start),
                'end': utc_iso(workorder.date_finished),
                'state': workorder.state,
            } for index, workorder in enumerate(self.workorder_ids, start=1)],
            'byproducts': [{
                'product': self._plant_bridge_code(move.product_id),
                'quantity': move.product_uom_qty,
                'uom': move.product_uom.name,
                'operation': (move.byproduct_id.operation_id or move.operation_id).name or None,
            } for move in self.move_byproduct_ids.filtered(lambda m: m.state != 'cancel')],
        })
        return payload

    @staticmethod
    def _plant_bridge_code(product):
        return product.default_code or product.display_name

    @staticmethod
    def _plant_bridge_reserved(move):
        """The component's stock set aside for the order: one entry per lot, location and
        package, in the move's unit (its move lines: reserved, or picked when the quantity was
        recorded)."""
        entries = {}
        for line in move.move_line_ids:
            where = (line.lot_id.name or None, line.location_id.complete_name, line.package_id.name or None)
            entries[where] = entries.get(where, 0.0) + line.product_uom_id._compute_quantity(
                line.quantity, move.product_uom, rounding_method='HALF-UP')
        return [{'lot': lot, 'quantity': move.product_uom.round(quantity), 'location': location, 'package': package}
                for (lot, location, package), quantity in sorted(
                    entries.items(), key=lambda item: tuple(v or '' for v in item[0]))]

    def _plant_bridge_outbound(self, event_type, extra=None):
        """Queue an outbound event per order that belongs to a site (released ones only for
        change and cancel), under the order's key; `extra`: {production id: payload fields}."""
        Outbound = self.env['plant_bridge.outbound'].sudo()
        sites = self._plant_bridge_sites()
        if not sites:
            return Outbound
        if event_type == 'order_release':
            # the name the plant will know the order by, whoever releases it
            for production in sites:
                if not production.plant_bridge_order_key:
                    production.plant_bridge_order_key = production.name
        counts = dict(Outbound._read_group([('production_id', 'in', [mo.id for mo in sites])],
                                           ['production_id'], ['__count']))
        released = set(Outbound.search([('production_id', 'in', [mo.id for mo in sites]),
                                        ('event_type', '=', 'order_release')]).production_id.ids)
        vals_list = []
        for production, site in sites.items():
            if event_type != 'order_release' and production.id not in released:
                continue
            if event_type == 'order_release' and site._sor_owner('order_release') == 'plant':
                # the plant releases its own orders (system-of-record matrix); changes and
                # cancellations of an order Odoo did release still go out
                continue
            sequence = counts.get(production, 0) + 1
            order = production._plant_bridge_key()
            key = f'{event_type}:{order}:{sequence}'
            payload = production._plant_bridge_release_payload(site, event_type, key)
            payload.update((extra or {}).get(production.id, {}))
            vals_list.append({
                'key': key,
                'site_id': site.id,
                'event_type': event_type,
                'production_id': production.id,
                'order': order,
                'payload': json.dumps(payload),
            })
        return Outbound.create(vals_list)

    def action_confirm(self):
        drafts = self.filtered(lambda mo: mo.state == 'draft')
        res = super(MrpProduction, self.with_context(plant_bridge_no_change=True)).action_confirm()
        confirmed = drafts.filtered(lambda mo: mo.state not in ('draft', 'cancel'))
        if confirmed:
            if not self.env.context.get('plant_bridge_merging'):
                # a merged order is released once merged, with the keys it replaces (action_merge)
                confirmed._plant_bridge_outbound('order_release')
            confirmed._plant_bridge_apply_deferred()
        return res

    def _action_cancel(self):
        """Where a cancellation really happens: the Cancel button, a merge (which cancels the
        merged orders without action_cancel), all components cancelled upstream."""
        open_orders = self.filtered(lambda mo: mo.state not in ('done', 'cancel'))
        res = super(MrpProduction, self.with_context(plant_bridge_no_change=True))._action_cancel()
        open_orders.filtered(lambda mo: mo.state == 'cancel')._plant_bridge_outbound('order_cancel')
        return res

    def _split_productions(self, amounts=False, cancel_remaining_qty=False, set_consumed_qty=False):
        """Backorders (Mark as Done) and splits (the Split wizard) rename the order -001: the
        plant keeps the name it knew as the order key. A backorder carries on with the order:
        the plant's events under the order's key go to it once the order is done; it is released
        after Mark as Done (button_mark_done). A split's new orders are released here."""
        for production in self.filtered(lambda mo: not mo.plant_bridge_order_key):
            # even a draft: the plant's events for it may be waiting under that name
            production.plant_bridge_order_key = production.name
        to_backorder = set(self.env.context.get('mo_ids_to_backorder') or [])
        productions = super()._split_productions(
            amounts=amounts, cancel_remaining_qty=cancel_remaining_qty, set_consumed_qty=set_consumed_qty)
        split_from, parent = {}, None
        for production in productions:  # [original, its new orders..., next original, ...]
            if production in self:
                parent = production
            elif parent.id in to_backorder:
                if not parent.plant_bridge_successor_id:
                    parent.plant_bridge_successor_id = production
            elif production.state != 'draft':
                split_from[production.id] = {'split_from': parent._plant_bridge_key()}
        if split_from:
            self.browse(list(split_from))._plant_bridge_outbound('order_release', extra=split_from)
        return productions

    def action_merge(self):
        keys = sorted(mo._plant_bridge_key() for mo in self)
        action = super(MrpProduction, self.with_context(plant_bridge_merging=True)).action_merge()
        merged = self.browse(action.get('res_id')).exists() if isinstance(action, dict) else self.browse()
        if merged:
            self.plant_bridge_successor_id = merged
            if merged.state not in ('draft', 'cancel'):
                merged._plant_bridge_outbound('order_release', extra={merged.id: {'merged_from': keys}})
        return action

    def write(self, vals):
        watched = [f for f in CHANGE_FIELDS if f in vals] if not self.env.context.get('plant_bridge_no_change') else []
        before = {mo.id: [mo[f] for f in watched] for mo in self} if watched else {}
        res = super().write(vals)
        if watched:
            # only what really changed (the Split wizard writes each part's unchanged start)
            self.filtered(lambda mo: mo.state in ('confirmed', 'progress', 'to_close')
                          and [mo[f] for f in watched] != before[mo.id])._plant_bridge_outbound('order_change')
        return res

    def _plant_bridge_mark_changed(self):
        """Components, reservations or work orders of these orders changed: once the
        transaction is complete (pre-commit, so that one edit sends one change with the final
        state), each released open order whose release content differs from the last one sent
        gets an order_change. What the plant's own events change is not marked (no echo)."""
        if self.env.context.get('plant_bridge_no_change'):
            return
        productions = self.filtered(lambda mo: mo.id and mo.state in ('confirmed', 'progress', 'to_close'))
        if not productions:
            return
        data = self.env.cr.precommit.data
        if 'plant_bridge.changed' not in data:
            data['plant_bridge.changed'] = set()
            env = self.env(su=True)
            self.env.cr.precommit.add(
                lambda: env['mrp.production'].browse(sorted(data.pop('plant_bridge.changed', ())))
                .exists()._plant_bridge_send_changes())
        data['plant_bridge.changed'].update(productions.ids)

    def _plant_bridge_send_changes(self):
        open_orders = self.filtered(lambda mo: mo.state in ('confirmed', 'progress', 'to_close'))
        sites = open_orders._plant_bridge_sites()
        if not sites:
            return
        Outbound = self.env['plant_bridge.outbound'].sudo()
        changed = self.browse()
        for production, site in sites.items():
            last = Outbound.search([('production_id', '=', production.id),
                                    ('event_type', 'in', ('order_release', 'order_change'))],
                                   order='id desc', limit=1)
            if not last:
                continue  # never released: nothing to change
            now = production._plant_bridge_release_payload(site, 'order_change', last.key)
            if _release_content(now) != _release_content(json.loads(last.payload or '{}')):
                changed |= production
        changed._plant_bridge_outbound('order_change')

    # ------------------------------------------------------------------ inbound
    def _plant_bridge_apply_deferred(self):
        """Events deferred because these orders were not confirmed apply now, in order."""
        messages = self.env['plant_bridge.message'].sudo().search(
            [('production_id', 'in', self.ids), ('state', '=', 'deferred')], order='occurred_at, id')
        if messages:
            events = []
            for message in messages:
                event = message._get_event()
                event['id'], event['site'] = message.key, message.site_id.code
                events.append(event)
            self.env['plant_bridge.api'].sudo()._post(events, source='replay')

    def button_mark_done(self):
        held = self.env['plant_bridge.quality.result'].sudo().search(
            self.env['plant_bridge.quality.result']._held_domain(self, self.lot_producing_ids), limit=1)
        if held:
            raise UserError(_("Quality hold (%(test)s) on %(order)s: a manager must release it first.",
                              test=held.name, order=held.production_id.name or held.lot_id.name))
        continued = self.plant_bridge_successor_id
        open_orders = self.filtered(lambda mo: mo.state not in ('done', 'cancel'))
        # what closing writes on the order (its end date, a backorder's reduced quantity) is told
        # by order_done, not by order_change
        res = super(MrpProduction, self.with_context(plant_bridge_no_change=True)).button_mark_done()
        if not self.env.context.get('plant_bridge_no_change'):
            if isinstance(res, dict) and isinstance(res.get('context'), dict):
                # a wizard (backorder, consumption) finishes the closing as the person's own action
                res['context'] = {k: v for k, v in res['context'].items() if k != 'plant_bridge_no_change'}
            # closed in Odoo (the plant's own finish is not echoed): the plant stops running it
            open_orders.filtered(lambda mo: mo.state == 'done')._plant_bridge_outbound('order_done')
        # the backorders this made (_split_productions), released once their reservation is done
        backorders = self.plant_bridge_successor_id - continued
        if backorders:
            backorders.filtered(lambda mo: mo.state not in ('draft', 'done', 'cancel'))._plant_bridge_outbound(
                'order_release', extra={mo.plant_bridge_successor_id.id: {'backorder_of': mo._plant_bridge_key()}
                                        for mo in self if mo.plant_bridge_successor_id in backorders})
        return res
