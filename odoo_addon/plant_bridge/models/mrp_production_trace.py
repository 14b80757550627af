from odoo import _, fields, models


class MrpProduction(models.Model):
    """The Order Trace smart button: what the integration did for this order."""
    _inherit = 'mrp.production'

    plant_bridge_message_count = fields.Integer('Plant Bridge Events', compute='_compute_plant_bridge_message_count')
    # answers at a glance, on the MO form (Plant Bridge users)
    plant_bridge_release_state = fields.Selection([
        ('not_released', 'Not Released'), ('released', 'Released'),
        ('acknowledged', 'Acknowledged'), ('failed', 'Release Failed'),
    ], 'Plant Release', compute='_compute_plant_bridge_status',
        help="The last release of this order to the plant and what the plant did with it.")
    plant_bridge_last_event_at = fields.Datetime(
        'Last Plant Event', compute='_compute_plant_bridge_status',
        help="When the last event the plant reported for this order happened (applied ones).")
    plant_bridge_exception_count = fields.Integer(
        'Open Plant Exceptions', compute='_compute_plant_bridge_status',
        help="Events of this order waiting in the Exception Queue.")
    plant_bridge_quality_hold = fields.Boolean(
        'Quality Hold', compute='_compute_plant_bridge_status',
        help="A quality result holds this order or one of its lots.")

    def _plant_bridge_rework_lots(self):
        """The nonconforming lots this order reworks (a nonconformance's rework order): a hold on
        them does not keep them out of it."""
        if not self.ids:
            return self.env['stock.lot']
        return self.env['plant_bridge.nonconformance'].sudo().search(
            [('rework_production_id', 'in', self.ids)]).lot_id

    def _compute_plant_bridge_message_count(self):
        counts = {}
        if self.ids and self.env.user.has_group('plant_bridge.group_user'):
            # no sudo: site record rules decide what this user may count
            counts = dict(self.env['plant_bridge.message']._read_group(
                [('production_id', 'in', self.ids)], ['production_id'], ['__count']))
        for production in self:
            production.plant_bridge_message_count = counts.get(production, 0)

    def _compute_plant_bridge_status(self):
        released, last, exceptions, held = {}, {}, {}, set()
        if self.ids and self.env.user.has_group('plant_bridge.group_user'):
            # no sudo: site record rules decide what this user may see
            for release in self.env['plant_bridge.outbound'].search(
                    [('production_id', 'in', self.ids), ('event_type', '=', 'order_release')], order='id'):
                released[release.production_id] = release.state
            Message = self.env['plant_bridge.message']
            last = dict(Message._read_group(
                [('production_id', 'in', self.ids), ('state', '=', 'applied')],
                ['production_id'], ['occurred_at:max']))
            exceptions = dict(Message._read_group(
                [('production_id', 'in', self.ids), ('state', '=', 'rejected')], ['production_id'], ['__count']))
            Result = self.env['plant_bridge.quality.result']
            for production in self:
                if Result.search_count(Result._held_domain(production, production.lot_producing_ids), limit=1):
                    held.add(production.id)
        for production in self:
            state = released.get(production)
            production.plant_bridge_release_state = {
                'pending': 'released', 'acknowledged': 'acknowledged', 'failed': 'failed',
            }.get(state, 'not_released')
            production.plant_bridge_last_event_at = last.get(production, False)
            production.plant_bridge_exception_count = exceptions.get(production, 0)
            production.plant_bridge_quality_hold = production.id in held

    def action_plant_bridge_order_trace(self):
        self.ensure_one()
        return {
            'type': 'ir.actions.client',
            'tag': 'plant_bridge.order_trace',
            'name': _("Order Trace: %s", self.name),
            'context': {'active_id': self.id, 'active_model': 'mrp.production'},
            'params': {'production_id': self.id},
        }
