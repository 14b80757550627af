import json

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from .plant_bridge_connector import parse_json_object

EVENT_TYPES = [
    ('production', 'Production'),
    ('consumption', 'Consumption'),
    ('scrap', 'Scrap'),
    ('downtime', 'Downtime'),
    ('workorder_status', 'Work Order Status'),
    ('labor', 'Labor'),
    ('machine_status', 'Machine Status'),
    ('quality', 'Quality'),
    ('nonconformance', 'Nonconformance'),
    ('maintenance', 'Maintenance'),
    ('record', 'Compliance Record'),
]

#: A change of one of these fields makes a new mapping version.
VERSIONED_FIELDS = {'selector', 'event_type', 'expression', 'key_expression', 'aggregation'}


class PlantBridgeMapping(models.Model):
    """Turns a source message (a topic, a file line, a row) into canonical events (JSONata).

    The sidecar evaluates the expression; Odoo stores it, versions it and says which
    mappings are live (`active`), evaluated without posting (`shadow`), or not used.
    """
    _name = 'plant_bridge.mapping'
    _description = 'Plant Bridge Mapping'
    _inherit = ['plant_bridge.config.mixin', 'mail.thread']
    _order = 'site_id, sequence, id'

    name = fields.Char(required=True, tracking=True)
    sequence = fields.Integer(default=10)
    site_id = fields.Many2one('plant_bridge.site', required=True, ondelete='cascade', index=True)
    connector_id = fields.Many2one('plant_bridge.connector', ondelete='set null',
                                   domain="[('site_id', '=', site_id)]")
    selector = fields.Char(required=True, tracking=True,
                           help="Topic pattern (+/# wildcards, named segments like "
                                "plant/{site}/{line}/{machine}/status), file glob or table name.")
    event_type = fields.Selection(EVENT_TYPES, string='Target Event Type', required=True, tracking=True)
    expression = fields.Text('JSONata Expression', required=True)
    key_expression = fields.Char('Key Expression',
                                 help="JSONata giving the idempotency key; empty: derived from the source "
                                      "(topic + payload hash + sequence, file + line, table + key).")
    sample_payload = fields.Text(help="A source message to try the expression on (JSON).")
    aggregation = fields.Text('Aggregation', help="JSON object, e.g. {\"window\": \"60s\", \"fn\": \"sum\"}; "
                                                  "empty: every message maps to events.")
    version = fields.Integer(default=1, readonly=True, tracking=True)
    state = fields.Selection([
        ('draft', 'Draft'),
        ('shadow', 'Shadow'),
        ('active', 'Active'),
        ('archived', 'Archived'),
    ], default='draft', required=True, tracking=True,
        help="Shadow: evaluated by the sidecar and traced, never posted.")

    @api.constrains('aggregation')
    def _check_aggregation(self):
        for mapping in self:
            parse_json_object(self.env, mapping.aggregation, _("Aggregation"))

    @api.constrains('sample_payload')
    def _check_sample_payload(self):
        for mapping in self.filtered('sample_payload'):
            try:
                json.loads(mapping.sample_payload)
            except ValueError as e:
                raise ValidationError(_("The sample payload is not valid JSON: %s", e)) from e

    @api.constrains('state', 'selector', 'site_id', 'connector_id')
    def _check_single_active(self):
        for mapping in self.filtered(lambda m: m.state == 'active'):
            clash = self.search_count([
                ('id', '!=', mapping.id), ('state', '=', 'active'), ('site_id', '=', mapping.site_id.id),
                ('connector_id', '=', mapping.connector_id.id), ('selector', '=', mapping.selector),
            ])
            if clash:
                raise ValidationError(_("Another active mapping already uses selector %s.", mapping.selector))

    def write(self, vals):
        if VERSIONED_FIELDS & vals.keys() and 'version' not in vals:
            for mapping in self:
                super(PlantBridgeMapping, mapping).write(dict(vals, version=mapping.version + 1))
            return True
        return super().write(vals)

    def action_draft(self):
        self.state = 'draft'

    def action_shadow(self):
        self.state = 'shadow'

    def action_activate(self):
        self.state = 'active'

    def action_archive_mapping(self):
        self.state = 'archived'

    def _get_config_vals(self):
        self.ensure_one()
        return {
            'id': self.id,
            'name': self.name,
            'connector_id': self.connector_id.id or None,
            'selector': self.selector,
            'event_type': self.event_type,
            'expression': self.expression,
            'key_expression': self.key_expression or None,
            'version': self.version,
            'state': self.state,
            'aggregation': parse_json_object(self.env, self.aggregation, 'aggregation') or None,
        }
