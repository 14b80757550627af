from odoo import fields, models


class PlantBridgeReplay(models.Model):
    """A replay of a sidecar-side rejection, handed to the sidecar by `heartbeat`."""
    _name = 'plant_bridge.replay'
    _description = 'Plant Bridge Replay Request'
    _order = 'id'

    message_id = fields.Many2one('plant_bridge.message', required=True, ondelete='cascade', index=True)
    site_id = fields.Many2one(related='message_id.site_id', store=True, index=True)
    fingerprint = fields.Char(related='message_id.fingerprint')
    payload = fields.Text(required=True)
    edited = fields.Boolean(help="The payload was changed in Odoo: it replaces the sidecar's copy.")
    code = fields.Char(related='message_id.error_code')
    state = fields.Selection([('pending', 'Pending'), ('done', 'Done'), ('failed', 'Failed')],
                             default='pending', required=True, index=True)
    result_code = fields.Char()
    done_at = fields.Datetime()
