from odoo import _, fields, models
from odoo.exceptions import UserError


class PlantBridgeMessageDiscard(models.TransientModel):
    """Discard exception-queue messages with a reason (audited in their chatter)."""
    _name = 'plant_bridge.message.discard'
    _description = 'Discard Plant Bridge Messages'

    message_ids = fields.Many2many('plant_bridge.message', required=True)
    reason = fields.Text(required=True)

    def action_discard(self):
        """Discard the messages; from the Exception Queue (`plant_bridge_discard_in_chunks`), only
        check and hand back the reason: the queue discards a long selection in chunks with a
        progress bar, as it retries."""
        self.ensure_one()
        reason = (self.reason or '').strip()
        if not reason:
            raise UserError(_("Say why the messages are discarded."))
        if self.env.context.get('plant_bridge_discard_in_chunks'):
            if not self.env.user.has_group('plant_bridge.group_manager'):
                raise UserError(_("Only Plant Bridge managers can discard messages."))
            return {'type': 'ir.actions.act_window_close',
                    'infos': {'discard_reason': reason, 'message_ids': self.message_ids.ids}}
        self.message_ids._discard(reason)
        return {'type': 'ir.actions.act_window_close'}
