import json

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

CONNECTOR_KINDS = [
    ('mqtt', 'MQTT broker'),
    ('file_drop', 'File drop'),
    ('sql_source', 'SQL source'),
    ('http_source', 'HTTP source'),
    ('sink_file', 'File sink'),
    ('sink_sql', 'SQL sink'),
    ('sink_http', 'HTTP sink'),
    ('sink_mqtt', 'MQTT sink'),
]


def parse_json_object(env, text, label):
    """Parse a JSON object stored in a Text field; empty means {}."""
    if not text or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError as e:
        raise ValidationError(env._("%(label)s is not valid JSON: %(error)s", label=label, error=e)) from e
    if not isinstance(value, dict):
        raise ValidationError(env._("%(label)s must be a JSON object.", label=label))
    return value


class PlantBridgeConnector(models.Model):
    """An endpoint the sidecar talks to: a broker, a legacy source or a sink for releases."""
    _name = 'plant_bridge.connector'
    _description = 'Plant Bridge Connector'
    _inherit = ['plant_bridge.config.mixin', 'mail.thread']
    _order = 'site_id, name'

    name = fields.Char(required=True, tracking=True)
    site_id = fields.Many2one('plant_bridge.site', required=True, ondelete='cascade', index=True)
    kind = fields.Selection(CONNECTOR_KINDS, required=True, tracking=True)
    active = fields.Boolean(default=True, tracking=True)
    params = fields.Text(default='{}', help="Non-secret parameters as a JSON object "
                                            "(e.g. {\"url\": \"mqtt://broker:1883\", \"topics\": [...]}).")
    secrets = fields.Text(
        default='{}', groups='plant_bridge.group_manager,plant_bridge.group_connector',
        help="Credentials as a JSON object; readable only by Plant Bridge managers and the connector account.")
    mapping_ids = fields.One2many('plant_bridge.mapping', 'connector_id')

    _name_site_unique = models.Constraint('unique(site_id, name)', 'Connector names must be unique per site.')

    @api.constrains('params')
    def _check_params(self):
        for connector in self:
            parse_json_object(self.env, connector.params, _("Parameters"))

    @api.constrains('secrets')
    def _check_secrets(self):
        for connector in self.sudo():
            parse_json_object(self.env, connector.secrets, _("Secrets"))

    def _get_config_vals(self):
        """Connector as served by get_config (the caller's group check is done by the API)."""
        self.ensure_one()
        return {
            'id': self.id,
            'name': self.name,
            'kind': self.kind,
            'active': self.active,
            'params': parse_json_object(self.env, self.params, 'params'),
            'secrets': parse_json_object(self.env, self.sudo().secrets, 'secrets'),
        }
