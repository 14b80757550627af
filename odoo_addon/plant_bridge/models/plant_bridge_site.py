import re

import pytz

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from .. import reading
from .plant_bridge_sor import DEFAULT_SOR_OWNERS

SITE_CODE_RE = re.compile(r'^[a-z0-9][a-z0-9_-]{0,31}$')


def _tz_selection(self):
    return [(tz, tz) for tz in pytz.all_timezones]


class PlantBridgeSite(models.Model):
    """A plant: the unit of configuration, idempotency (keys are unique per site) and access."""
    _name = 'plant_bridge.site'
    _description = 'Plant Bridge Site'
    _inherit = ['plant_bridge.config.mixin', 'mail.thread']
    _order = 'code'
    _check_company_auto = True

    name = fields.Char(required=True, tracking=True)
    code = fields.Char(required=True, tracking=True,
                       help="Short plant code used in topics and events (`site` field), e.g. `main`.")
    active = fields.Boolean(default=True)
    company_id = fields.Many2one('res.company', required=True, default=lambda self: self.env.company,
                                 index=True)
    warehouse_id = fields.Many2one('stock.warehouse', required=True, check_company=True, tracking=True)
    maintenance_team_id = fields.Many2one(
        'maintenance.team', check_company=True, tracking=True,
        help="Team of the maintenance requests the plant reports for equipment without a team of its own; "
             "empty: the first team of the site's company, as Odoo's request form proposes.")
    timezone = fields.Selection(
        _tz_selection, compute='_compute_timezone', store=True, readonly=False, precompute=True,
        required=True,
        help="Local time of the plant: legacy timestamps without an offset are read in it. Proposed "
             "from the warehouse's address, else the company's, else yours.")
    user_ids = fields.Many2many('res.users', 'plant_bridge_site_res_users_rel', 'site_id', 'user_id',
                                string='Allowed Users',
                                help="Plant Bridge users and connector accounts allowed on this site.")
    connector_ids = fields.One2many('plant_bridge.connector', 'site_id')
    mapping_ids = fields.One2many('plant_bridge.mapping', 'site_id')
    sidecar_ids = fields.One2many('plant_bridge.sidecar', 'site_id')
    sor_ids = fields.One2many('plant_bridge.sor', 'site_id', string='System of Record')
    posting_window_ids = fields.One2many(
        'plant_bridge.posting.window', 'site_id', string='Posting Windows',
        help="When each class of events posts to Odoo: real time without a window, batched to daily "
             "times, or held (period close, maintenance).")
    message_failed_count = fields.Integer(compute='_compute_counts')
    sidecar_stale_count = fields.Integer(compute='_compute_counts')

    _code_unique = models.Constraint('unique(code)', 'The site code must be unique.')

    @api.constrains('code')
    def _check_code(self):
        for site in self:
            if not SITE_CODE_RE.match(site.code or ''):
                raise ValidationError(_("Site code %(code)s must be lowercase letters, digits, - or _.",
                                        code=site.code))

    @api.depends('warehouse_id', 'company_id')
    def _compute_timezone(self):
        """Where the plant is says its time: the warehouse's address, then the company's; the
        admin's own zone and UTC only when no address tells (a site in UTC while its plant is
        elsewhere reads every local legacy timestamp wrong)."""
        for site in self:
            site.timezone = (site.warehouse_id.partner_id.tz or site.company_id.partner_id.tz
                             or self.env.user.tz or site.timezone or 'UTC')

    def _sor_owner(self, domain):
        """Who owns `domain` at this site, 'odoo' or 'plant', per its system-of-record matrix
        (the default matrix's owner when the site has no row for it)."""
        self.ensure_one()
        row = self.sor_ids.filtered(lambda r: r.domain == domain)[:1]
        return row.owner or DEFAULT_SOR_OWNERS.get(domain, 'odoo')

    def _compute_counts(self):
        failed = dict(self.env['plant_bridge.message']._read_group(
            [('site_id', 'in', self.ids), ('state', '=', 'rejected')], ['site_id'], ['__count']))
        stale = dict(self.env['plant_bridge.sidecar']._read_group(
            [('site_id', 'in', self.ids), ('is_stale', '=', True)], ['site_id'], ['__count']))
        for site in self:
            site.message_failed_count = failed.get(site, 0)
            site.sidecar_stale_count = stale.get(site, 0)

    def _plant_bridge_revision_site(self):
        return self

    @api.model
    def _ensure_main_site(self):
        """Create the default site `main` on the main warehouse of the main company."""
        Site = self.sudo().with_context(active_test=False)
        site = Site.search([('code', '=', 'main')], limit=1)
        if site:
            return site
        company = self.env.ref('base.main_company', raise_if_not_found=False) or self.env.company
        warehouse = self.env['stock.warehouse'].sudo().search([('company_id', '=', company.id)], limit=1)
        if not warehouse:
            return Site
        site = Site.create({
            'name': warehouse.name,
            'code': 'main',
            'company_id': company.id,
            'warehouse_id': warehouse.id,
        })
        site.sor_ids = self.env['plant_bridge.sor']._default_matrix_commands()
        return site

    @api.model
    def read_oee(self, date_from, date_to):
        """The Dashboard's OEE: Odoo's OEE figures of the work centers of every site the user
        may see, for the period [`date_from`, `date_to`) (ISO-8601) - the same rows as the
        connector's `plant_bridge.api.read_oee` (GraphQL `oee(from, to)`), each with its site."""
        rows = []
        for site in self.search([]):
            rows += [dict(row, site=site.code) for row in
                     reading.read_oee(self.env(su=True), site.sudo(), None, date_from, date_to)]
        return rows

    def action_connect_sidecar(self):
        """The *Connect a Sidecar* wizard for these sites."""
        action = self.env['ir.actions.actions']._for_xml_id('plant_bridge.action_plant_bridge_sidecar_connect')
        action['context'] = {'active_model': self._name, 'active_ids': self.ids}
        return action

    def action_view_failed_messages(self):
        self.ensure_one()
        action = self.env['ir.actions.actions']._for_xml_id('plant_bridge.action_exception_queue')
        action['context'] = {'plant_bridge_site_id': self.id}
        return action
