import hashlib
import secrets

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

#: scopes a token may carry; `admin` implies all of them (sidecar/src/api/auth.ts)
TOKEN_SCOPES = (
    'read:orders', 'read:workcenters', 'read:lots', 'read:quality', 'read:maintenance',
    'read:messages', 'read:health', 'read:machines', 'write:events', 'admin',
)
TOKEN_PREFIX = 'pbt_'


def hash_token(token):
    return hashlib.sha256(token.encode()).hexdigest()


class PlantBridgeApiToken(models.Model):
    """A bearer token for API clients of the sidecar's GraphQL API (MES screens, BI, portals).

    Only the SHA-256 of the token is stored; the token itself is shown once, by the creation
    wizard. Sidecars poll the active tokens (`plant_bridge.api.list_api_tokens`), so a revoked
    or expired token stops working within one poll interval.
    """
    _name = 'plant_bridge.api.token'
    _description = 'Plant Bridge API Token'
    _order = 'id desc'

    name = fields.Char(required=True, help="Who or what uses this token, e.g. 'MES line 2 screen'.")
    token_hash = fields.Char(required=True, readonly=True, copy=False, index=True,
                             help="SHA-256 of the token (hex); the token itself is never stored.")
    token_hint = fields.Char('Token Starts With', readonly=True, copy=False)
    scopes = fields.Char(required=True, default='read:orders',
                         help="Space-separated scopes: " + ' '.join(TOKEN_SCOPES) + ". `admin` implies all.")
    site_ids = fields.Many2many('plant_bridge.site', 'plant_bridge_api_token_site_rel', 'token_id', 'site_id',
                                string='Sites', help="Sites the token may read and write; empty: every site.")
    expires_at = fields.Datetime('Expires', help="Empty: never expires (revoke it when no longer needed).")
    active = fields.Boolean(default=True)
    revoked_at = fields.Datetime(readonly=True, copy=False)
    revoked_by_id = fields.Many2one('res.users', readonly=True, copy=False)
    state = fields.Selection([('valid', 'Valid'), ('expired', 'Expired'), ('revoked', 'Revoked')],
                             compute='_compute_state')

    _token_hash_unique = models.Constraint('unique(token_hash)', 'Token hashes are unique.')

    @api.model_create_multi
    def create(self, vals_list):
        tokens = super().create(vals_list)
        self.env['plant_bridge.audit']._log('token.create', tokens, lambda t: t._audit_vals())
        return tokens

    def write(self, vals):
        res = super().write(vals)
        self.env['plant_bridge.audit']._log('token.revoke' if vals.get('revoked_at') else 'token.write', self,
                                            lambda t: dict(t._audit_vals(), changed=sorted(vals)))
        return res

    def _audit_vals(self):
        """What the audit trail keeps of a token: never the token, only the hash it is known by."""
        self.ensure_one()
        return {'name': self.name, 'scopes': self._scope_list(), 'sites': self.site_ids.mapped('code'),
                'expires_at': self.expires_at, 'active': self.active, 'token_hash': self.token_hash}

    @api.depends('revoked_at', 'expires_at', 'active')
    def _compute_state(self):
        now = fields.Datetime.now()
        for token in self:
            if token.revoked_at or not token.active:
                token.state = 'revoked'
            elif token.expires_at and token.expires_at <= now:
                token.state = 'expired'
            else:
                token.state = 'valid'

    @api.constrains('scopes')
    def _check_scopes(self):
        for token in self:
            words = token._scope_list()
            if not words or set(words) - set(TOKEN_SCOPES):
                raise ValidationError(_("Scopes must be among: %s.", ', '.join(TOKEN_SCOPES)))

    def _scope_list(self):
        self.ensure_one()
        return sorted(set((self.scopes or '').replace(',', ' ').split()))

    @api.model
    def _generate(self, vals):
        """Create a token from `vals` (name, scopes, site_ids, expires_at); returns (record, token)."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        record = self.create(dict(vals, token_hash=hash_token(token), token_hint=token[:8]))
        return record, token

    def action_revoke(self):
        self.filtered(lambda t: not t.revoked_at).write(
            {'revoked_at': fields.Datetime.now(), 'revoked_by_id': self.env.uid})
        return True

    @api.model
    def _list_for_sidecar(self, sites):
        """Valid tokens usable on `sites` (site records): hash, scopes, sites (None: all), expiry."""
        now = fields.Datetime.now()
        tokens = self.sudo().search([('revoked_at', '=', False),
                                     '|', ('expires_at', '=', False), ('expires_at', '>', now)])
        result = []
        for token in tokens:
            allowed = None
            if token.site_ids:
                allowed = sorted((token.site_ids & sites).mapped('code'))
                if not allowed:
                    continue
            result.append({
                'name': token.name,
                'hash': token.token_hash,
                'scopes': token._scope_list(),
                'sites': allowed,
                'expires_at': token.expires_at and token.expires_at.isoformat() + '+00:00' or None,
            })
        return result
