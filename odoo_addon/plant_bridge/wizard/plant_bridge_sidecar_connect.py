import json
import os
from datetime import timedelta

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError

#: the environment the sidecar reads (ARCHITECTURE.md "Sidecar environment")
ENV_KEYS = ('PLANT_BRIDGE_ODOO_URL', 'PLANT_BRIDGE_ODOO_DB', 'PLANT_BRIDGE_ODOO_API_KEY',
            'PLANT_BRIDGE_SITE', 'PLANT_BRIDGE_SITES', 'PLANT_BRIDGE_ENVIRONMENT',
            'PLANT_BRIDGE_LEGACY_ROOTS')
# folders a file drop or file sink names: the sidecar refuses them outside PLANT_BRIDGE_LEGACY_ROOTS
FOLDER_KINDS = ('file_drop', 'sink_file')
FOLDER_PARAMS = ('path', 'directory', 'archivePath', 'errorPath')
KEY_NAME = 'plant-bridge sidecar'


class PlantBridgeSidecarConnect(models.TransientModel):
    """Connect a sidecar in one step: the service account (connector group only, allowed on the
    chosen sites), an API key with an expiry, and the environment to paste, shown once.

    Run again for the same account to rotate its key with overlap: the earlier keys stay valid
    until the sidecar runs on the new one, then *Revoke Earlier Keys* removes them."""
    _name = 'plant_bridge.sidecar.connect'
    _description = 'Connect a Plant Bridge Sidecar'

    def _default_site_ids(self):
        if self.env.context.get('active_model') == 'plant_bridge.site' and self.env.context.get('active_ids'):
            return self.env['plant_bridge.site'].browse(self.env.context['active_ids'])
        sites = self.env['plant_bridge.site'].search([], limit=2)
        return sites if len(sites) == 1 else sites.browse()

    def _selection_duration(self):
        max_days = int(self.env.ref('plant_bridge.group_connector').sudo().api_key_duration or 1)
        choices = [('30', _("1 Month")), ('90', _("3 Months")), ('180', _("6 Months")), ('365', _("1 Year"))]
        return [c for c in choices if int(c[0]) <= max_days] or [(str(max_days), _("%s Days", max_days))]

    site_ids = fields.Many2many('plant_bridge.site', string='Sites', required=True, default=_default_site_ids,
                                help="The sites this sidecar serves; the first is its default site.")
    user_id = fields.Many2one(
        'res.users', string='Service Account', domain="[('share', '=', True)]",
        compute='_compute_user_id', store=True, readonly=False,
        help="The sidecar's account: reused when it exists (a new key for it), else created "
             "with the login below, in the Plant Bridge Connector group only.")
    login = fields.Char(compute='_compute_login', store=True, readonly=False,
                        help="Login of the service account to create (or reuse).")
    duration = fields.Selection('_selection_duration', string='Key Lifetime', required=True,
                                default=lambda self: self._selection_duration()[-1][0],
                                help="Rotate before it ends: run this wizard again, switch the "
                                     "sidecar to the new key, then revoke the earlier one.")
    odoo_url = fields.Char('Odoo URL', required=True,
                           default=lambda self: self.env['ir.config_parameter'].sudo().get_param('web.base.url'),
                           help="The address the sidecar reaches this Odoo at.")
    database = fields.Char(required=True, default=lambda self: self.env.cr.dbname)
    # shown once, after Connect
    api_key = fields.Char('API Key', readonly=True)
    expiration_date = fields.Datetime('Key Expires', readonly=True)
    env_text = fields.Text('Environment', readonly=True)
    config_json = fields.Text('Config File', readonly=True)
    previous_key_count = fields.Integer('Earlier Keys', readonly=True)
    onboarded_site_id = fields.Many2one(
        'plant_bridge.site', readonly=True,
        default=lambda self: self.env.context.get('plant_bridge_onboarded_site_id'),
        help="The plant *New Plant* just created: closing this dialog opens it (the Sites list "
             "behind the dialogs does not reload by itself).")

    @api.depends('site_ids')
    def _compute_login(self):
        for wizard in self:
            if not wizard.login:
                code = wizard.site_ids[:1].code
                wizard.login = f'plant-bridge-{code}' if code else False

    @api.depends('login')
    def _compute_user_id(self):
        for wizard in self:
            if wizard.login and not wizard.user_id:
                wizard.user_id = self.env['res.users'].sudo().with_context(active_test=False).search(
                    [('login', '=', wizard.login), ('share', '=', True)], limit=1)

    def _service_account(self):
        """The account, created if new; refused when it is more than a connector (an internal
        user must never carry the sidecar's key)."""
        Users = self.env['res.users'].sudo().with_context(active_test=False)
        connector = self.env.ref('plant_bridge.group_connector')
        user = self.user_id.sudo() or Users.search([('login', '=', self.login)], limit=1)
        if not user:
            if not self.login:
                raise UserError(_("Give the service account a login."))
            return Users.create({
                'name': _("Plant Bridge Sidecar (%s)", ', '.join(self.site_ids.mapped('code'))),
                'login': self.login,
                'group_ids': [Command.set(connector.ids)],
            })
        if user._is_internal() or user.all_group_ids - connector - connector.all_implied_ids:
            raise UserError(_(
                "%(login)s is not a service account (it has other rights than Plant Bridge Connector): "
                "choose another login.", login=user.login))
        if connector not in user.group_ids:
            user.group_ids = [Command.link(connector.id)]
        return user

    def action_connect(self):
        self.ensure_one()
        if not self.site_ids:
            raise UserError(_("Choose the sites this sidecar serves."))
        user = self._service_account()
        user.write({'active': True, 'plant_bridge_site_ids': [Command.link(s.id) for s in self.site_ids]})
        # the audit trail names the manager who connected the sidecar, not the service account
        Keys = self.env['res.users.apikeys'].with_user(user).sudo().with_context(
            plant_bridge_audit_uid=self.env.uid)
        previous = Keys.search([('user_id', '=', user.id)])
        expiration = fields.Datetime.now() + timedelta(days=int(self.duration))
        # as superuser (sudo): the caller is not the account; the lifetime is bounded by the
        # connector group's api_key_duration through the duration choices
        key = Keys._generate(None, f'{KEY_NAME} {fields.Datetime.to_string(fields.Datetime.now())}', expiration)
        codes = self.site_ids.mapped('code')
        env = {
            'PLANT_BRIDGE_ODOO_URL': self.odoo_url.rstrip('/'),
            'PLANT_BRIDGE_ODOO_DB': self.database,
            'PLANT_BRIDGE_ODOO_API_KEY': key,
            'PLANT_BRIDGE_SITE': codes[0],
        }
        if len(codes) > 1:
            env['PLANT_BRIDGE_SITES'] = ','.join(codes)
        # the sidecar declares this database's environment: Odoo refuses it anywhere else
        env['PLANT_BRIDGE_ENVIRONMENT'] = self.env['plant_bridge.api']._environment()
        # without roots the sidecar refuses the folders configured here (roots_required)
        if roots := self._legacy_roots():
            env['PLANT_BRIDGE_LEGACY_ROOTS'] = ','.join(roots)
        self.write({
            'user_id': user.id,
            'api_key': key,
            'expiration_date': expiration,
            'previous_key_count': len(previous),
            'env_text': ''.join(f'{name}={env[name]}\n' for name in ENV_KEYS if name in env),
            'config_json': json.dumps(env, indent=2) + '\n',
        })
        return self._reopen()

    def _legacy_roots(self):
        """The absolute folders the chosen sites' file drops and file sinks name (drop, archive,
        error and release folders): what the sidecar must be allowed to touch, no more.
        Relative folders are the sidecar's own business (its working directory) and left out."""
        connectors = self.env['plant_bridge.connector'].sudo().search([
            ('site_id', 'in', self.site_ids.ids), ('kind', 'in', FOLDER_KINDS)])
        roots = set()
        for connector in connectors:
            try:
                params = json.loads(connector.params or '{}')
            except ValueError:
                continue
            for name in FOLDER_PARAMS:
                value = params.get(name) if isinstance(params, dict) else None
                if isinstance(value, str) and os.path.isabs(value):
                    roots.add(os.path.normpath(value))
        # a folder inside another root adds nothing
        return sorted(r for r in roots if not any(r != o and r.startswith(o.rstrip('/') + '/') for o in roots))

    def action_revoke_previous_keys(self):
        """After the sidecar runs on the new key: remove the account's other keys."""
        self.ensure_one()
        Keys = self.env['res.users.apikeys'].sudo()
        # the newest key is the one this wizard issued
        Keys.search([('user_id', '=', self.user_id.id)], order='id desc')[1:]._remove()
        self.previous_key_count = 0
        return self._reopen()

    def action_done(self):
        """Forget the key shown once."""
        self.write({'api_key': False, 'env_text': False, 'config_json': False})
        return self.action_later()

    def action_later(self):
        """Close the dialog; after *New Plant*, on the new plant's form."""
        self.ensure_one()
        if not self.onboarded_site_id:
            return {'type': 'ir.actions.act_window_close'}
        return {
            'type': 'ir.actions.act_window', 'res_model': 'plant_bridge.site', 'res_id': self.onboarded_site_id.id,
            'view_mode': 'form', 'views': [(False, 'form')], 'target': 'current',
            'name': self.onboarded_site_id.display_name,
        }

    def _reopen(self):
        return {
            'type': 'ir.actions.act_window',
            'res_model': self._name,
            'res_id': self.id,
            'view_mode': 'form',
            'target': 'new',
            'name': self.env._("Connect a Sidecar"),
        }
