from odoo import fields, models

from ..models.plant_bridge_api_token import TOKEN_SCOPES


class PlantBridgeApiTokenCreate(models.TransientModel):
    """Creates an API token and shows it once; only its hash is kept on the token."""
    _name = 'plant_bridge.api.token.create'
    _description = 'Create a Plant Bridge API Token'

    name = fields.Char(required=True)
    scopes = fields.Char(required=True, default='read:orders',
                         help="Space-separated scopes: " + ' '.join(TOKEN_SCOPES) + ". `admin` implies all.")
    site_ids = fields.Many2many('plant_bridge.site', string='Sites', help="Empty: every site.")
    expires_at = fields.Datetime('Expires')
    token_id = fields.Many2one('plant_bridge.api.token', 'Created Token', readonly=True)
    token = fields.Char(readonly=True, help="Copy it now: it cannot be shown again.")

    def action_create(self):
        self.ensure_one()
        record, token = self.env['plant_bridge.api.token']._generate({
            'name': self.name, 'scopes': self.scopes, 'site_ids': [fields.Command.set(self.site_ids.ids)],
            'expires_at': self.expires_at,
        })
        self.write({'token_id': record.id, 'token': token})
        return {
            'type': 'ir.actions.act_window',
            'res_model': self._name,
            'res_id': self.id,
            'view_mode': 'form',
            'target': 'new',
            'name': self.env._("Your new API token"),
        }

    def action_done(self):
        """Forget the token shown once."""
        self.write({'token': False})
        return {'type': 'ir.actions.act_window_close'}
