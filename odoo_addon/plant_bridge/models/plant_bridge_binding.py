import json

from odoo import _, api, fields, models
from odoo.exceptions import UserError

#: Most births accepted in one `report_bindings` call.
MAX_BIRTHS = 1000


class PlantBridgeBinding(models.Model):
    """A Sparkplug B edge node or device bound to a work center.

    Sidecars report the birth certificates they see (`report_bindings`); each new node or device
    becomes a *proposed* binding, with the work center whose code (or name) is the device's
    (or the edge node's) name when there is one. Once a manager confirms it, sidecars get it
    with the configuration and mappings of Sparkplug topics see the work center as
    `$workcenter`. Births only refresh the metric list: they never bump the configuration
    revision; confirming, ignoring or re-binding does.
    """
    _name = 'plant_bridge.binding'
    _description = 'Plant Bridge Sparkplug Binding'
    _order = 'site_id, group_id, edge_node, device'
    _rec_name = 'source'
    _check_company_auto = True

    site_id = fields.Many2one('plant_bridge.site', required=True, ondelete='cascade', index=True, readonly=True)
    company_id = fields.Many2one(related='site_id.company_id')
    group_id = fields.Char('Group', required=True, readonly=True, help="Sparkplug group id.")
    edge_node = fields.Char(required=True, readonly=True, help="Sparkplug edge node id.")
    device = fields.Char(default='', readonly=True,
                         help="Sparkplug device id; empty when the edge node itself is the machine.")
    source = fields.Char(compute='_compute_source', store=True, help="group/edge node[/device]")
    workcenter_id = fields.Many2one('mrp.workcenter', string='Work Center', check_company=True)
    equipment_id = fields.Many2one(
        'maintenance.equipment', string='Equipment', check_company=True,
        domain="[('plant_bridge_workcenter_id', '=', workcenter_id)]",
        help="The machine's equipment, when its work center has several: maintenance requests "
             "reported for the work center are made for this equipment.")
    state = fields.Selection([
        ('proposed', 'Proposed'),
        ('confirmed', 'Confirmed'),
        ('ignored', 'Ignored'),
    ], default='proposed', required=True, index=True, readonly=True)
    metrics = fields.Text(readonly=True, help="Metrics of the last birth certificate (JSON: name, datatype).")
    metric_count = fields.Integer(compute='_compute_metric_count')
    last_birth = fields.Datetime(readonly=True)
    birth_count = fields.Integer('Births', readonly=True, default=0)

    _source_unique = models.Constraint('unique(site_id, group_id, edge_node, device)',
                                       'A Sparkplug node or device is bound once per site.')

    @api.depends('group_id', 'edge_node', 'device')
    def _compute_source(self):
        for binding in self:
            binding.source = '/'.join(p for p in (binding.group_id, binding.edge_node, binding.device) if p)

    @api.depends('metrics')
    def _compute_metric_count(self):
        for binding in self:
            binding.metric_count = len(json.loads(binding.metrics or '[]'))

    def write(self, vals):
        confirmed = self.filtered(lambda b: b.state == 'confirmed')
        res = super().write(vals)
        # What sidecars apply changed: bump the configuration revision.
        if {'state', 'workcenter_id'} & vals.keys() and (confirmed or self.filtered(lambda b: b.state == 'confirmed')):
            self.env['plant_bridge.config.revision']._bump(self, 'write')
        return res

    def _plant_bridge_revision_site(self):
        self.ensure_one()
        return self.site_id

    def action_confirm(self):
        for binding in self:
            if not binding.workcenter_id:
                raise UserError(_("Choose the work center of %s first.", binding.source))
        self.write({'state': 'confirmed'})

    def action_ignore(self):
        self.write({'state': 'ignored'})

    def action_propose(self):
        self.write({'state': 'proposed'})

    @api.model
    def _propose_workcenter(self, site, name):
        """The work center named like the machine (code first, then exact name), if any."""
        if not name:
            return self.env['mrp.workcenter']
        Workcenter = self.env['mrp.workcenter'].sudo()
        domain = [('company_id', 'in', (site.company_id.id, False))]
        return (Workcenter.search(domain + [('code', '=ilike', name)], limit=1)
                or Workcenter.search(domain + [('name', '=ilike', name)], limit=1))

    def _get_config_vals(self):
        self.ensure_one()
        return {
            'group': self.group_id,
            'edge': self.edge_node,
            'device': self.device or None,
            'workcenter': self.workcenter_id.code or self.workcenter_id.name,
        }


class PlantBridgeApi(models.AbstractModel):
    _inherit = 'plant_bridge.api'

    @api.model
    def report_bindings(self, site, items):
        """Sparkplug birth certificates seen by a sidecar: proposed bindings (docs/odoo-api.md)."""
        self._check_caller()
        site = self._get_site(site)
        if not isinstance(items, list) or len(items) > MAX_BIRTHS or not all(
                isinstance(i, dict) and isinstance(i.get('group'), str) and i['group']
                and isinstance(i.get('edge'), str) and i['edge']
                and isinstance(i.get('device') or '', str) for i in items):
            raise UserError(_("'items' must be a list of at most %s objects with a 'group' and an 'edge'.",
                              MAX_BIRTHS))
        Binding = self.env['plant_bridge.binding'].sudo()
        existing = {(b.group_id, b.edge_node, b.device or ''): b
                    for b in Binding.search([('site_id', '=', site.id)])}
        proposed = updated = 0
        for item in items:
            key = (item['group'][:200], item['edge'][:200], (item.get('device') or '')[:200])
            metrics = [{'name': str(m.get('name'))[:200], 'datatype': m.get('datatype')}
                       for m in (item.get('metrics') or []) if isinstance(m, dict) and m.get('name')][:2000]
            vals = {
                'metrics': json.dumps(metrics),
                'last_birth': self._parse_time(item['at'], 'at') if item.get('at') else fields.Datetime.now(),
            }
            binding = existing.get(key)
            if binding:
                binding.write(dict(vals, birth_count=binding.birth_count + 1))
                updated += 1
                continue
            workcenter = Binding._propose_workcenter(site, key[2] or key[1])
            existing[key] = Binding.create(dict(
                vals, site_id=site.id, group_id=key[0], edge_node=key[1], device=key[2], birth_count=1,
                workcenter_id=workcenter.id or False))
            proposed += 1
        return {'proposed': proposed, 'updated': updated}

    @api.model
    def get_config(self, site, known_revision=0, environment=None):
        """Also `bindings`: the site's confirmed Sparkplug bindings."""
        result = super().get_config(site, known_revision=known_revision, environment=environment)
        if result.get('changed'):
            bindings = self.env['plant_bridge.binding'].sudo().search(
                [('site_id.code', '=', result['site']), ('state', '=', 'confirmed')])
            result['bindings'] = [b._get_config_vals() for b in bindings]
        return result
