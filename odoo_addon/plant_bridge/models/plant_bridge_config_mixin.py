from odoo import api, models


class PlantBridgeConfigMixin(models.AbstractModel):
    """Configuration models: every change bumps the configuration revision sidecars pull."""
    _name = 'plant_bridge.config.mixin'
    _description = 'Plant Bridge Configuration Mixin'

    def _plant_bridge_revision_site(self):
        self.ensure_one()
        return self['site_id'] if 'site_id' in self._fields else self.env['plant_bridge.site']

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        self.env['plant_bridge.config.revision']._bump(records, 'create')
        self.env['plant_bridge.audit']._log('config.create', records, lambda r: vals_list[records.ids.index(r.id)])
        return records

    def write(self, vals):
        res = super().write(vals)
        if vals:
            self.env['plant_bridge.config.revision']._bump(self, 'write')
            self.env['plant_bridge.audit']._log('config.write', self, vals)
        return res

    def unlink(self):
        self.env['plant_bridge.config.revision']._bump(self, 'unlink')
        self.env['plant_bridge.audit']._log('config.unlink', self)
        return super().unlink()
