import json
import re

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools.translate import LazyTranslate

from ..models.plant_bridge_connector import CONNECTOR_KINDS, TYPED_SECRETS, parse_json_object
from ..models.plant_bridge_site import SITE_CODE_RE, _tz_selection
from ..models.plant_bridge_sor import DEFAULT_SOR_OWNERS, SOR_DOMAINS

_lt = LazyTranslate(__name__)

#: why each domain's recommended owner is the recommended one, shown beside the matrix
SOR_REASONS = {
    'items': _lt("Products are created and priced in Odoo; the plant refers to them by reference."),
    'boms': _lt("Bills of materials are engineered in Odoo: the plant receives them with each release."),
    'routings': _lt("Operations and their work centers are planned in Odoo."),
    'workcenters': _lt("Work centers carry costs and capacity in Odoo; machines are bound to them."),
    'lots': _lt("Lots and serials are born where the goods are made: the plant names them, Odoo records them."),
    'order_release': _lt("Odoo plans and releases manufacturing orders to the plant."),
    'consumption': _lt("What a line really consumed is known on the line: its events are the truth."),
    'confirmation': _lt("Quantities produced are counted by the plant: its confirmations are posted as they are."),
    'quality_hold': _lt("Holds are decided where the measurement is made: the plant's verdict holds the lot."),
    'machine_states': _lt("Machines report their own states: a plant downtime replaces an open manual block."),
}
#: the typed secrets of a connector, by kind: what the admin is asked for on a copied connector
SECRET_KEYS_BY_KIND = {}
for _field, _kinds in TYPED_SECRETS.items():
    for _kind in _kinds:
        SECRET_KEYS_BY_KIND.setdefault(_kind, []).append(_field.removeprefix('secret_'))


class PlantBridgeSiteOnboard(models.TransientModel):
    """A new plant in minutes: its warehouse (an existing one or a new one), its time zone (from
    the warehouse's address, else the company's, else yours), its system-of-record matrix (the
    recommended owners, explained), and the connectors, mappings, Sparkplug bindings and schedules
    of another plant as a template — never its secrets: the admin types them for the new plant.
    Ends in *Connect a Sidecar* for the new site."""
    _name = 'plant_bridge.site.onboard'
    _description = 'New Plant'

    step = fields.Selection([('plant', 'Plant'), ('matrix', 'System of Record'), ('template', 'Configuration')],
                            default='plant', required=True)
    name = fields.Char('Plant Name', required=True)
    code = fields.Char(compute='_compute_code', store=True, readonly=False, required=True,
                       help="Short plant code used in topics and events (`site` field): lowercase letters, "
                            "digits, - or _.")
    company_id = fields.Many2one('res.company', required=True, default=lambda self: self.env.company)
    warehouse_mode = fields.Selection([('existing', 'An existing warehouse'), ('new', 'A new warehouse')],
                                      'Warehouse', default='existing', required=True)
    warehouse_id = fields.Many2one('stock.warehouse', 'Existing Warehouse',
                                   domain="[('company_id', '=', company_id)]")
    warehouse_name = fields.Char('New Warehouse', compute='_compute_warehouse_name', store=True, readonly=False)
    warehouse_short = fields.Char('Short Name', size=5, compute='_compute_warehouse_short', store=True,
                                  readonly=False, help="Odoo's warehouse code: prefixes its locations and transfers.")
    partner_id = fields.Many2one('res.partner', 'Plant Address',
                                 help="The new warehouse's address; its time zone is the plant's.")
    timezone = fields.Selection(_tz_selection, compute='_compute_timezone', store=True, readonly=False,
                                required=True,
                                help="Legacy timestamps without an offset are read in this zone.")
    timezone_origin = fields.Char(compute='_compute_timezone', store=True)
    sor_line_ids = fields.One2many('plant_bridge.site.onboard.sor', 'wizard_id', string='System of Record',
                                   default=lambda self: self._default_sor_lines())
    template_site_id = fields.Many2one('plant_bridge.site', 'Copy From',
                                       help="A plant whose connectors, mappings, Sparkplug bindings and schedules "
                                            "the new plant starts with. Secrets are not copied: type them below.")
    template_summary = fields.Char(compute='_compute_template_summary')
    secret_line_ids = fields.One2many('plant_bridge.site.onboard.secret', 'wizard_id', string='Secrets',
                                      compute='_compute_secret_line_ids', store=True, readonly=False)

    def _default_sor_lines(self):
        return [Command.create({'domain': domain, 'owner': DEFAULT_SOR_OWNERS.get(domain, 'odoo')})
                for domain, _label in SOR_DOMAINS]

    @api.depends('name')
    def _compute_code(self):
        for wizard in self:
            if wizard.name and not wizard.code:
                wizard.code = re.sub(r'[^a-z0-9_-]+', '-', wizard.name.lower()).strip('-_')[:32] or False

    @api.depends('name', 'warehouse_mode')
    def _compute_warehouse_name(self):
        for wizard in self:
            if wizard.warehouse_mode == 'new' and not wizard.warehouse_name:
                wizard.warehouse_name = wizard.name

    @api.depends('code', 'warehouse_mode')
    def _compute_warehouse_short(self):
        for wizard in self:
            if wizard.warehouse_mode == 'new' and not wizard.warehouse_short and wizard.code:
                wizard.warehouse_short = re.sub(r'[^A-Za-z0-9]', '', wizard.code).upper()[:5] or False

    @api.depends('warehouse_mode', 'warehouse_id', 'partner_id', 'company_id')
    def _compute_timezone(self):
        """The plant's address tells its time: the warehouse's, then the company's; the admin's
        own zone only when no address does."""
        for wizard in self:
            address = wizard.warehouse_id.partner_id if wizard.warehouse_mode == 'existing' else wizard.partner_id
            if address.tz:
                zone, origin = address.tz, _("from the warehouse's address (%s)", address.display_name)
            elif wizard.company_id.partner_id.tz:
                zone, origin = wizard.company_id.partner_id.tz, _("from the company (%s)", wizard.company_id.name)
            elif self.env.user.tz:
                zone, origin = self.env.user.tz, _("your own time zone: no address gives one")
            else:
                zone, origin = 'UTC', _("UTC: no address gives one")
            wizard.timezone, wizard.timezone_origin = zone, origin

    @api.depends('template_site_id')
    def _compute_template_summary(self):
        for wizard in self:
            site = wizard.template_site_id.sudo().with_context(active_test=False)  # as copied
            wizard.template_summary = site and _(
                "%(connectors)s connector(s), %(mappings)s mapping(s), %(bindings)s binding(s), "
                "%(schedules)s schedule(s)", connectors=len(site.connector_ids), mappings=len(site.mapping_ids),
                bindings=len(self._template_bindings(site)), schedules=len(self._template_schedules(site)))

    @api.depends('template_site_id')
    def _compute_secret_line_ids(self):
        """One line per secret of the template's connectors: the key is shown, never the value."""
        for wizard in self:
            lines = [Command.clear()]
            for connector in wizard.template_site_id.sudo().with_context(active_test=False).connector_ids:
                secrets = parse_json_object(self.env, connector.secrets, 'secrets')
                keys = [k for k in SECRET_KEYS_BY_KIND.get(connector.kind, []) if secrets.get(k)]
                keys += [k for k, v in secrets.items() if v and k not in keys]
                lines += [Command.create({'connector_name': connector.name, 'kind': connector.kind, 'key': key})
                          for key in keys]
            wizard.secret_line_ids = lines

    @api.onchange('template_site_id')
    def _onchange_template_site_id(self):
        """The template's matrix is proposed with it (the recommended owner stays shown)."""
        if self.template_site_id:
            owners = {row.domain: row.owner for row in self.template_site_id.sor_ids}
            for line in self.sor_line_ids:
                line.owner = owners.get(line.domain, line.owner)

    # ------------------------------------------------------------------ steps

    def _reopen(self):
        return {'type': 'ir.actions.act_window', 'res_model': self._name, 'res_id': self.id,
                'view_mode': 'form', 'target': 'new', 'name': _("New Plant"), 'context': self.env.context}

    def action_next(self):
        self.ensure_one()
        if self.step == 'plant':
            self._check_plant()
        steps = [s for s, _label in self._fields['step'].selection]
        self.step = steps[min(steps.index(self.step) + 1, len(steps) - 1)]
        return self._reopen()

    def action_back(self):
        self.ensure_one()
        steps = [s for s, _label in self._fields['step'].selection]
        self.step = steps[max(steps.index(self.step) - 1, 0)]
        return self._reopen()

    def _check_plant(self):
        if not SITE_CODE_RE.match(self.code or ''):
            raise UserError(_("Site code %(code)s must be lowercase letters, digits, - or _.", code=self.code))
        if self.env['plant_bridge.site'].sudo().with_context(active_test=False).search_count(
                [('code', '=', self.code)]):
            raise UserError(_("A site with the code %(code)s exists already.", code=self.code))
        if self.warehouse_mode == 'existing' and not self.warehouse_id:
            raise UserError(_("Choose the plant's warehouse, or make a new one."))
        if self.warehouse_mode == 'new' and not (self.warehouse_name and self.warehouse_short):
            raise UserError(_("Give the new warehouse a name and a short name."))

    # ------------------------------------------------------------------ create

    def action_create(self):
        """Create the plant, then open *Connect a Sidecar* for it."""
        self.ensure_one()
        self._check_plant()
        site = self._create_site()
        copied = self._copy_template(site) if self.template_site_id else {}
        self.env['plant_bridge.audit']._log('site.onboard', site, {
            'code': site.code, 'warehouse': site.warehouse_id.name, 'timezone': site.timezone,
            'template': self.template_site_id.code or None, 'copied': copied,
            'secrets_given': sorted(f'{line.connector_name}.{line.key}' for line in self.secret_line_ids
                                    if line.value),
        })
        action = site.action_connect_sidecar()
        # closing the next dialog opens the new plant: the list behind it does not reload
        action['context']['plant_bridge_onboarded_site_id'] = site.id
        return action

    def _create_site(self):
        warehouse = self.warehouse_id
        if self.warehouse_mode == 'new':
            warehouse = self.env['stock.warehouse'].create({
                'name': self.warehouse_name, 'code': self.warehouse_short, 'company_id': self.company_id.id,
                'partner_id': self.partner_id.id,
            })
        return self.env['plant_bridge.site'].create({
            'name': self.name,
            'code': self.code,
            'company_id': self.company_id.id,
            'warehouse_id': warehouse.id,
            'timezone': self.timezone,
            'user_ids': [Command.link(self.env.user.id)],
            'sor_ids': [Command.create({'domain': line.domain, 'owner': line.owner, 'note': line.note})
                        for line in self.sor_line_ids],
        })

    def _template_bindings(self, template):
        return self.env['plant_bridge.binding'].sudo().search(
            [('site_id', '=', template.id), ('state', '!=', 'ignored')])

    def _template_schedules(self, template):
        return self.env['plant_bridge.schedule'].sudo().with_context(active_test=False).search(
            [('site_id', '=', template.id)])

    def _copy_template(self, site):
        """The template's configuration on the new site, pointing at the new site's records. Secrets
        are the ones typed in the wizard, never the template's. Sparkplug bindings keep their
        source but not their work center (the template plant's machine): they are proposed again."""
        template = self.template_site_id.sudo()
        given = {}
        for line in self.secret_line_ids.filtered('value'):
            given.setdefault(line.connector_name, {})[line.key] = line.value
        connectors = {}
        for connector in template.with_context(active_test=False).connector_ids:
            connectors[connector] = self.env['plant_bridge.connector'].create({
                'name': connector.name, 'site_id': site.id, 'kind': connector.kind, 'active': connector.active,
                'params': connector.params, 'secrets': json.dumps(given.get(connector.name, {}), indent=2),
            })
        mappings = {}
        for mapping in template.mapping_ids:
            mappings[mapping] = self.env['plant_bridge.mapping'].create({
                'name': mapping.name, 'sequence': mapping.sequence, 'site_id': site.id,
                'connector_id': connectors.get(mapping.connector_id, mapping.connector_id.browse()).id,
                'selector': mapping.selector, 'event_type': mapping.event_type, 'expression': mapping.expression,
                'key_expression': mapping.key_expression, 'sample_payload': mapping.sample_payload,
                'aggregation': mapping.aggregation, 'state': mapping.state,
            })
        bindings = self._template_bindings(template)
        Binding = self.env['plant_bridge.binding'].sudo()  # made by sidecars' births, not by hand
        Binding.create([{
            'site_id': site.id, 'group_id': b.group_id, 'edge_node': b.edge_node, 'device': b.device,
            'metrics': b.metrics, 'state': 'proposed',
            'workcenter_id': Binding._propose_workcenter(site, b.device or b.edge_node).id,
        } for b in bindings])
        schedules = self._template_schedules(template)
        self.env['plant_bridge.schedule'].create([{
            'name': s.name, 'site_id': site.id, 'connector_id': connectors[s.connector_id].id,
            'mapping_id': mappings.get(s.mapping_id, s.mapping_id.browse()).id, 'cron': s.cron,
            'active': s.active,
        } for s in schedules if s.connector_id in connectors])
        return {'connectors': len(connectors), 'mappings': len(mappings), 'bindings': len(bindings),
                'schedules': len(schedules)}


class PlantBridgeSiteOnboardSor(models.TransientModel):
    """One row of the new plant's system-of-record matrix, with the recommended owner and why."""
    _name = 'plant_bridge.site.onboard.sor'
    _description = 'New Plant: System of Record'

    wizard_id = fields.Many2one('plant_bridge.site.onboard', required=True, ondelete='cascade')
    domain = fields.Selection(SOR_DOMAINS, required=True)
    owner = fields.Selection([('odoo', 'Odoo'), ('plant', 'Plant')], required=True, default='odoo')
    recommended = fields.Selection([('odoo', 'Odoo'), ('plant', 'Plant')], compute='_compute_recommended')
    reason = fields.Char('Why', compute='_compute_recommended')
    note = fields.Char()

    @api.depends('domain')
    def _compute_recommended(self):
        for line in self:
            line.recommended = DEFAULT_SOR_OWNERS.get(line.domain, 'odoo')
            line.reason = str(SOR_REASONS[line.domain]) if line.domain in SOR_REASONS else False


class PlantBridgeSiteOnboardSecret(models.TransientModel):
    """A secret a copied connector needs: the template's value is never copied, the admin types it."""
    _name = 'plant_bridge.site.onboard.secret'
    _description = 'New Plant: Connector Secret'

    wizard_id = fields.Many2one('plant_bridge.site.onboard', required=True, ondelete='cascade')
    connector_name = fields.Char('Connector', required=True)
    kind = fields.Selection(CONNECTOR_KINDS)
    key = fields.Char('Secret', required=True)
    value = fields.Char(help="Empty: the connector is created without it; set it on the connector later.")
