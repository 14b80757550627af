from odoo import _, fields, models


class MrpProduction(models.Model):
    """The Order Trace smart button: what the integration did for this order."""
    _inherit = 'mrp.production'

    plant_bridge_message_count = fields.Integer('Plant Bridge Events', compute='_compute_plant_bridge_message_count')

    def _compute_plant_bridge_message_count(self):
        counts = {}
        if self.ids and self.env.user.has_group('plant_bridge.group_user'):
            # no sudo: site record rules decide what this user may count
            counts = dict(self.env['plant_bridge.message']._read_group(
                [('production_id', 'in', self.ids)], ['production_id'], ['__count']))
        for production in self:
            production.plant_bridge_message_count = counts.get(production, 0)

    def action_plant_bridge_order_trace(self):
        self.ensure_one()
        return {
            'type': 'ir.actions.client',
            'tag': 'plant_bridge.order_trace',
            'name': _("Order Trace: %s", self.name),
            'context': {'active_id': self.id, 'active_model': 'mrp.production'},
            'params': {'production_id': self.id},
        }
