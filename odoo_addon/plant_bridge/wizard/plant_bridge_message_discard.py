from odoo import fields, models


class PlantBridgeMessageDiscard(models.TransientModel):
    """Discard exception-queue messages with a reason (audited in their chatter)."""
    _name = 'plant_bridge.message.discard'
    _description = 'Discard Plant Bridge Messages'

    message_ids = fields.Many2many('plant_bridge.message', required=True)
    reason = fields.Text(required=True)

    def action_discard(self):
        self.message_ids._discard(self.reason)
        return {'type': 'ir.actions.act_window_close'}
