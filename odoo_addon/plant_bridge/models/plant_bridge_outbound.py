import json

from odoo import fields, models


class PlantBridgeOutbound(models.Model):
    """Releases to the plant (order_release / order_change / order_cancel / order_done), fetched and
    acknowledged by sidecars; `key` is the idempotency key on the plant side."""
    _name = 'plant_bridge.outbound'
    _description = 'Plant Bridge Outbound Event'
    _order = 'id'
    _rec_name = 'key'

    key = fields.Char(required=True, readonly=True)
    site_id = fields.Many2one('plant_bridge.site', required=True, readonly=True, index=True,
                              ondelete='cascade')
    event_type = fields.Selection([
        ('order_release', 'Order Release'),
        ('order_change', 'Order Change'),
        ('order_cancel', 'Order Cancel'),
        ('order_done', 'Order Done'),
    ], string='Type', required=True, readonly=True)
    production_id = fields.Many2one('mrp.production', readonly=True, index=True, ondelete='set null')
    order = fields.Char(readonly=True)
    payload = fields.Text(readonly=True)
    state = fields.Selection([
        ('pending', 'Pending'), ('acknowledged', 'Acknowledged'), ('failed', 'Failed'),
    ], default='pending', required=True, readonly=True, index=True)
    sink = fields.Char(readonly=True)
    ack_message = fields.Text(readonly=True)
    ack_date = fields.Datetime(readonly=True)

    _key_unique = models.Constraint('unique(site_id, key)', 'Outbound keys are unique per site.')

    def _get_fetch_vals(self):
        self.ensure_one()
        return {
            'id': self.id,
            'type': self.event_type,
            'order': self.order,
            'created': self.create_date.isoformat() + '+00:00',
            'payload': json.loads(self.payload or '{}'),
        }

    def action_requeue(self):
        self.write({'state': 'pending', 'ack_message': False, 'ack_date': False})
