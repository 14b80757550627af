from odoo import api, fields, models


class PlantBridgeConfigRevision(models.Model):
    """Append-only log of configuration changes; the current revision is the highest id.

    Appending a row (instead of incrementing a counter) keeps concurrent configuration
    edits from fighting over one hot row, and tells operators what changed when.
    """
    _name = 'plant_bridge.config.revision'
    _description = 'Plant Bridge Configuration Revision'
    _order = 'id desc'
    _rec_name = 'id'

    site_id = fields.Many2one('plant_bridge.site', ondelete='set null', index=True,
                              help="Empty when the change concerns every site.")
    model = fields.Char(required=True)
    res_ids = fields.Char('Records')
    operation = fields.Selection([('create', 'Created'), ('write', 'Updated'), ('unlink', 'Deleted')],
                                 required=True)
    user_id = fields.Many2one('res.users', default=lambda self: self.env.uid, readonly=True)

    @api.model
    def _current(self):
        self.env.cr.execute("SELECT COALESCE(MAX(id), 0) FROM plant_bridge_config_revision")
        return self.env.cr.fetchone()[0]

    @api.model
    def _bump(self, records, operation):
        vals_list = []
        by_site = {}
        for record in records:
            site = record._plant_bridge_revision_site()
            by_site.setdefault(site.id, []).append(record.id)
        for site_id, ids in by_site.items():
            vals_list.append({
                'site_id': site_id or False,
                'model': records._name,
                'res_ids': ','.join(map(str, ids)),
                'operation': operation,
            })
        return self.sudo().create(vals_list)
