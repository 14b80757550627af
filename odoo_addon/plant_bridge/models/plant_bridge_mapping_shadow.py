import json

from odoo import _, api, fields, models
from odoo.exceptions import UserError

#: Largest difference kept (the comparison of one message), in characters of JSON.
MAX_DIFFERENCE_CHARS = 64 * 1024


class PlantBridgeMappingShadow(models.Model):
    """What a mapping version in shadow would have done: sidecars evaluate it on the same
    messages as the active version, compare, post nothing, and report the counts and the latest
    difference here (`report_shadow`). One row per shadow version; counts add up across
    sidecars and reports. Kept apart from the mapping so that reports never bump the
    configuration revision."""
    _name = 'plant_bridge.mapping.shadow'
    _description = 'Plant Bridge Mapping Shadow Results'
    _order = 'reported_at desc, id desc'
    _rec_name = 'mapping_id'

    mapping_id = fields.Many2one('plant_bridge.mapping', string='Shadow Version', required=True,
                                 ondelete='cascade', index=True, readonly=True)
    site_id = fields.Many2one(related='mapping_id.site_id', store=True, index=True)
    version = fields.Integer(readonly=True)
    compared = fields.Integer(readonly=True, help="Messages evaluated by both versions.")
    equal = fields.Integer(readonly=True, help="Messages for which both produced the same events.")
    different = fields.Integer(readonly=True)
    errors = fields.Integer(readonly=True, help="Messages the shadow version failed on.")
    last_difference = fields.Text(readonly=True,
                                  help="The latest message on which the versions differ: topic, both outputs "
                                       "and the paths that differ (JSON).")
    last_difference_at = fields.Datetime(readonly=True)
    reported_at = fields.Datetime(readonly=True)

    _mapping_unique = models.Constraint('unique(mapping_id)', 'One shadow result per mapping version.')


class PlantBridgeMapping(models.Model):
    _inherit = 'plant_bridge.mapping'

    shadow_result_ids = fields.One2many('plant_bridge.mapping.shadow', 'mapping_id', readonly=True)


class PlantBridgeApi(models.AbstractModel):
    _inherit = 'plant_bridge.api'

    @api.model
    def report_shadow(self, site, items):
        """Counts of shadow comparisons since the sidecar's last report (docs/odoo-api.md)."""
        self._check_caller()
        site = self._get_site(site)
        if not isinstance(items, list) or not all(
                isinstance(i, dict) and isinstance(i.get('mapping_id'), int) for i in items):
            raise UserError(_("'items' must be a list of objects with an integer 'mapping_id'."))
        mappings = self.env['plant_bridge.mapping'].sudo().browse(
            {i['mapping_id'] for i in items}).exists().filtered(lambda m: m.site_id == site)
        Shadow = self.env['plant_bridge.mapping.shadow'].sudo()
        results = {r.mapping_id.id: r for r in Shadow.search([('mapping_id', 'in', mappings.ids)])}
        now = fields.Datetime.now()
        recorded = 0
        for item in items:
            mapping = mappings.filtered(lambda m: m.id == item['mapping_id'])
            if not mapping:
                continue
            counts = {k: max(0, int(item.get(k) or 0)) for k in ('compared', 'equal', 'different', 'errors')}
            result = results.get(mapping.id) or Shadow.create({'mapping_id': mapping.id})
            results[mapping.id] = result
            vals = {k: result[k] + v for k, v in counts.items()}
            vals.update(version=int(item.get('version') or mapping.version), reported_at=now)
            if item.get('last_difference'):
                vals.update(last_difference=json.dumps(item['last_difference'])[:MAX_DIFFERENCE_CHARS],
                            last_difference_at=now)
            result.write(vals)
            recorded += 1
        return {'recorded': recorded}
