from odoo import _, api, fields, models
from odoo.exceptions import UserError

#: What a new version may change (the rest is copied from the version it derives from).
NEW_VERSION_FIELDS = {'name', 'selector', 'event_type', 'expression', 'key_expression', 'sample_payload',
                      'aggregation', 'connector_id'}


class PlantBridgeMapping(models.Model):
    """Versions as records, for the Mapping Studio: a new version is a draft copy, activating it
    archives the active version of the same selector (kept for a roll back), shadow runs it
    without posting. The history of one mapping is its `origin_id` lineage."""
    _inherit = 'plant_bridge.mapping'

    origin_id = fields.Many2one('plant_bridge.mapping', string='First Version', readonly=True, index=True,
                                ondelete='set null', help="The first version of this mapping (empty on it).")
    previous_id = fields.Many2one('plant_bridge.mapping', string='Derived From', readonly=True,
                                  ondelete='set null')
    replaced_id = fields.Many2one('plant_bridge.mapping', string='Replaced Version', readonly=True,
                                  ondelete='set null',
                                  help="The version that was active before this one was activated: "
                                       "what a roll back re-activates.")

    def _lineage_domain(self):
        self.ensure_one()
        origin = self.origin_id or self
        return ['|', ('id', '=', origin.id), ('origin_id', '=', origin.id)]

    def _check_manager(self):
        if not self.env.user.has_group('plant_bridge.group_manager'):
            raise UserError(_("Only Plant Bridge managers can change mapping versions."))

    def action_new_version(self, values=None):
        """A draft copy with `values` applied and the next version number of the lineage;
        returns its id."""
        self.ensure_one()
        self._check_manager()
        values = dict(values or {})
        if unknown := set(values) - NEW_VERSION_FIELDS:
            raise UserError(_("A new version cannot set %s.", ', '.join(sorted(unknown))))
        last = self.search(self._lineage_domain(), order='version desc', limit=1)
        new = self.copy(dict(values, state='draft', version=last.version + 1, origin_id=(self.origin_id or self).id,
                             previous_id=self.id, replaced_id=False, name=values.get('name', self.name)))
        new.message_post(body=_("Version %(new)s derived from version %(old)s.", new=new.version, old=self.version))
        return new.id

    def _active_clashes(self):
        """Active mappings this one would replace: same lineage, or same site/connector/selector."""
        self.ensure_one()
        return self.search([('id', '!=', self.id), ('state', '=', 'active'), '|', '&', '&',
                            ('site_id', '=', self.site_id.id), ('connector_id', '=', self.connector_id.id),
                            ('selector', '=', self.selector)] + self._lineage_domain())

    def action_activate(self):
        """Activate; the version it replaces is archived and remembered for a roll back."""
        self._check_manager()
        for mapping in self.filtered(lambda m: m.state != 'active'):
            replaced = mapping._active_clashes()
            if replaced:
                replaced.write({'state': 'archived'})
                mapping.replaced_id = replaced[:1]
        return super().action_activate()

    def action_rollback(self):
        """Archive this active version and re-activate the one it replaced."""
        self._check_manager()
        for mapping in self:
            if mapping.state != 'active' or not mapping.replaced_id:
                raise UserError(_("%s has no previous version to roll back to.", mapping.display_name))
            previous = mapping.replaced_id
            mapping.state = 'archived'
            previous.state = 'active'
            previous.message_post(body=_("Re-activated by a roll back of version %s.", mapping.version))
        return True

    @api.model
    def get_lineage(self, mapping_id):
        """Versions of the mapping's lineage, newest first (for the Studio's version list)."""
        mapping = self.browse(mapping_id)
        return self.search_read(mapping._lineage_domain(), ['version', 'state', 'expression', 'key_expression',
                                                            'write_date', 'write_uid'], order='version desc')

    def _get_config_vals(self):
        """Also the lineage's first version: the sidecar derives idempotency keys from it, so that
        a new version (a new record) does not post a redelivered message again."""
        vals = super()._get_config_vals()
        vals['origin_id'] = (self.origin_id or self).id
        return vals
