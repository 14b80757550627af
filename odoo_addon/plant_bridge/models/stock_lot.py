from odoo import _, api, fields, models


class StockLot(models.Model):
    _inherit = 'stock.lot'

    plant_bridge_hold = fields.Boolean('Quality Hold', compute='_compute_plant_bridge_hold',
                                       search='_search_plant_bridge_hold', groups='plant_bridge.group_user',
                                       help="Held by a quality hold: the lot is named by the hold, or "
                                            "was produced by an order under a hold.")

    plant_bridge_record_ids = fields.One2many(
        'plant_bridge.record', 'lot_id', 'Compliance Records',
        help="Certificates, test reports, batch records and measurements the plant filed for this lot.")

    def _held_by_holds(self):
        """The lots held by the holds the user may see: the quality results are read under their
        site record rules (no superuser); only the lots their orders produced are then read as
        superuser, the user not needing Manufacturing rights for a hold they may see. The refusals
        themselves (`_holds_on_lots`) apply to everyone, whatever they may see."""
        Result = self.env['plant_bridge.quality.result']
        if not Result.has_access('read'):
            return self.browse()
        holds = Result.search([('hold_state', '=', 'held')])
        return holds.sudo()._held_lots().with_env(self.env)

    @api.depends_context('uid')
    def _compute_plant_bridge_hold(self):
        held = self._held_by_holds()
        for lot in self:
            lot.plant_bridge_hold = lot in held

    def _search_plant_bridge_hold(self, operator, value):
        if operator not in ('=', '!=') or not isinstance(value, bool):
            return NotImplemented
        held = self._held_by_holds()
        positive = (operator == '=') == value
        return [('id', 'in' if positive else 'not in', held.ids)]

    # answers at a glance, on the lot form (Plant Bridge users); no sudo: site record rules decide
    # what a user may count
    plant_bridge_message_count = fields.Integer(
        'Plant Events', compute='_compute_plant_bridge_glance', help="Plant events that named this lot.")
    plant_bridge_exception_count = fields.Integer(
        'Open Plant Exceptions', compute='_compute_plant_bridge_glance',
        help="Events naming this lot waiting in the Exception Queue.")
    plant_bridge_production_ids = fields.Many2many(
        'mrp.production', string='Produced By', compute='_compute_plant_bridge_glance',
        help="The manufacturing orders that produced this lot.")

    def _compute_plant_bridge_glance(self):
        counts, exceptions, productions = {}, {}, {}
        if self.ids and self.env.user.has_group('plant_bridge.group_user'):
            Message = self.env['plant_bridge.message']
            for lot, state, count in Message._read_group(
                    [('lot_id', 'in', self.ids)], ['lot_id', 'state'], ['__count']):
                counts[lot] = counts.get(lot, 0) + count
                if state == 'rejected':
                    exceptions[lot] = count
            if self.env['mrp.production'].has_access('read'):
                for production in self.env['mrp.production'].search([('lot_producing_ids', 'in', self.ids)]):
                    for lot in production.lot_producing_ids:
                        productions.setdefault(lot.id, []).append(production.id)
        for lot in self:
            lot.plant_bridge_message_count = counts.get(lot, 0)
            lot.plant_bridge_exception_count = exceptions.get(lot, 0)
            lot.plant_bridge_production_ids = productions.get(lot.id, [])

    def action_plant_bridge_order_trace(self):
        """The Order Trace of the order that produced this lot; the orders' list when several did."""
        self.ensure_one()
        productions = self.plant_bridge_production_ids
        if len(productions) == 1:
            return productions.action_plant_bridge_order_trace()
        return {
            'type': 'ir.actions.act_window', 'res_model': 'mrp.production', 'name': _("Produced By"),
            'view_mode': 'list,form', 'domain': [('id', 'in', productions.ids)],
        }

    def action_plant_bridge_messages(self):
        """The plant events that named this lot (the message trace)."""
        self.ensure_one()
        action = self.env['ir.actions.actions']._for_xml_id('plant_bridge.action_plant_bridge_message')
        action.update({'name': _("Plant Events: %s", self.display_name),
                       'domain': [('lot_id', '=', self.id)], 'context': {}})
        return action

    def action_plant_bridge_exceptions(self):
        """The Exception Queue, on the events naming this lot."""
        self.ensure_one()
        action = self.env['ir.actions.actions']._for_xml_id('plant_bridge.action_exception_queue')
        action['context'] = {'plant_bridge_lot_id': self.id}
        return action
