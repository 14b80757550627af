from odoo import models

from .plant_bridge_audit import sha256


class ResUsersApikeys(models.Model):
    """API keys of connector (sidecar) accounts go into the audit trail when issued and removed.

    The key itself never does: only its SHA-256, enough to tell later which key a row is about.
    """
    _inherit = 'res.users.apikeys'

    def _generate(self, scope, name, expiration_date):
        key = super()._generate(scope, name, expiration_date)
        user = self.env.user
        if user.has_group('plant_bridge.group_connector'):
            self.env['plant_bridge.audit']._log('apikey.issue', user, {
                'name': name, 'scope': scope, 'expiration_date': expiration_date, 'key_sha256': sha256(key)})
        return key

    def _remove(self):
        for apikey in self.sudo().filtered(lambda k: k.user_id.has_group('plant_bridge.group_connector')):
            self.env['plant_bridge.audit']._log('apikey.revoke', apikey.user_id, {
                'name': apikey.name, 'scope': apikey.scope, 'expiration_date': apikey.expiration_date})
        return super()._remove()
