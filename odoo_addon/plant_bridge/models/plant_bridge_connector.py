import json
import re

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..connector_params import param_property, params_schema, validate

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


#: typed form field -> (connector kinds, key in `params`); the keys are the sidecar's own names.
#: A field is shared by the kinds that have the same parameter (a sink's folder, a SQL connection).
FILE = ('file_drop', 'sink_file')
SQL = ('sql_source', 'sink_sql')
HTTP = ('http_source', 'sink_http')
SINKS = ('sink_file', 'sink_sql', 'sink_http')
TYPED_PARAMS = {
    'file_path': (FILE, 'path'),
    'file_pattern': (('file_drop',), 'pattern'),
    'file_format': (FILE, 'format'),
    'file_delimiter': (FILE, 'delimiter'),
    'file_encoding': (FILE, 'encoding'),
    'file_header': (FILE, 'header'),
    'file_archive_path': (('file_drop',), 'archivePath'),
    'file_error_path': (('file_drop',), 'errorPath'),
    'file_stable_seconds': (('file_drop',), 'stableSeconds'),
    'file_event_type': (('file_drop',), 'eventType'),
    'sql_driver': (SQL, 'driver'),
    'sql_host': (SQL, 'host'),
    'sql_port': (SQL, 'port'),
    'sql_database': (SQL, 'database'),
    'sql_user': (SQL, 'user'),
    'sql_query': (('sql_source',), 'query'),
    'sql_watermark_column': (('sql_source',), 'watermarkColumn'),
    'sql_key_column': (('sql_source',), 'keyColumn'),
    'sql_table': (SQL, 'table'),
    'sql_batch_size': (('sql_source',), 'batchSize'),
    'sql_event_type': (('sql_source',), 'eventType'),
    'sql_mode': (('sink_sql',), 'mode'),
    'sql_lines_table': (('sink_sql',), 'linesTable'),
    'sql_timestamps': (('sink_sql',), 'timestamps'),
    'http_url': (HTTP, 'url'),
    'http_items_path': (('http_source',), 'itemsPath'),
    'http_key_field': (('http_source',), 'keyField'),
    'http_etag': (('http_source',), 'etag'),
    'http_event_type': (('http_source',), 'eventType'),
    'http_timeout_seconds': (HTTP, 'timeoutSeconds'),
    'http_headers': (HTTP, 'headers'),
    'sql_columns': (('sink_sql',), 'columns'),
    'sql_line_columns': (('sink_sql',), 'lineColumns'),
    'sink_prefix': (('sink_file',), 'prefix'),
    'sink_attempts': (SINKS, 'attempts'),
    'sink_backoff_ms': (SINKS, 'backoffMs'),
    'mqtt_url': (('mqtt',), 'url'),
    'mqtt_topics': (('mqtt',), 'topics'),
    'mqtt_client_id': (('mqtt',), 'clientId'),
    'mqtt_username': (('mqtt',), 'username'),
}
#: typed fields of a JSON object edited as `name: value` lines (headers, column names)
LINES_FIELDS = frozenset({'http_headers', 'sql_columns', 'sql_line_columns'})
#: typed fields whose 0 is a value (read at once, retry without waiting), not "the default"
ZERO_IS_A_VALUE = frozenset({'file_stable_seconds', 'sink_backoff_ms'})
#: password fields -> the kinds that have that key in `secrets`; never read back
TYPED_SECRETS = {
    'secret_password': ('sql_source', 'http_source', 'sink_sql', 'sink_http', 'mqtt'),
    'secret_bearer': ('http_source', 'sink_http'),
}
#: the HTTP basic-auth user: kept with the password in `secrets` (the sidecar reads it there),
#: but no secret itself, so shown back
SECRET_USERNAME_KINDS = ('http_source', 'sink_http')


def lines_to_object(env, text, label):
    """`name: value` lines (empty lines skipped) as a dict; a line without a name and a colon
    is refused with its number."""
    result = {}
    for number, line in enumerate((text or '').splitlines(), start=1):
        if not line.strip():
            continue
        name, colon, value = line.partition(':')
        if not colon or not name.strip():
            raise ValidationError(env._("%(label)s, line %(number)s: write it as name: value (%(line)s)",
                                        label=label, number=number, line=line.strip()[:80]))
        result[name.strip()] = value.strip()
    return result


def object_to_lines(value):
    return '\n'.join(f'{name}: {item}' for name, item in value.items()) if isinstance(value, dict) else False


def _allowed_names(kind, key):
    """The names the sidecar's schema allows in an object parameter (SQL sink columns)."""
    return ', '.join(param_property(kind, key).get('propertyNames', {}).get('enum', []))


def _help(kind, key):
    return param_property(kind, key).get('description')


def _param_inverse(name):
    """The inverse of one typed field: its key in `params` (one per field, so that writing one
    field never reads the others, which Odoo protects, uncomputed, during the write)."""
    def inverse(connectors):
        kinds, key = TYPED_PARAMS[name]
        field = connectors._fields[name]
        for connector in connectors.filtered(lambda c: c.kind in kinds):
            params = parse_json_object(connector.env, connector.params, connector.env._("Parameters"))
            value = connector[name]
            if field.type == 'boolean':
                params[key] = bool(value)
            elif name in LINES_FIELDS:
                lines = lines_to_object(connector.env, value, field.string)
                if lines:
                    params[key] = lines
                else:
                    params.pop(key, None)
            elif name in ZERO_IS_A_VALUE:
                params[key] = value
            elif name == 'file_pattern' and value and ',' in value:
                params[key] = [p.strip() for p in value.split(',') if p.strip()]
            elif name == 'mqtt_topics':
                params[key] = [t.strip() for t in re.split(r'[\n,]', value or '') if t.strip()]
            elif value:
                params[key] = value
            else:
                params.pop(key, None)  # empty: the sidecar's default
            # checked once all the fields of the write are in (create / write below)
            connector.with_context(plant_bridge_typed_params=True).params = json.dumps(params, indent=2)
    return inverse


def _param_of(path):
    """The parameter a problem's path is in: `topics` for `topics[0]`, `paging` for `paging.kind`."""
    return re.split(r'[.\[]', path, maxsplit=1)[0]


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

    # -- the typed form of a legacy source's `params` (and `secrets`): read from and written
    # to the JSON the sidecar reads, which stays the stored format (and the expert view)
    file_path = fields.Char('Folder', compute='_compute_typed_params', inverse=_param_inverse('file_path'),
                            help=_help('file_drop', 'path'))
    file_pattern = fields.Char('File Pattern', compute='_compute_typed_params', inverse=_param_inverse('file_pattern'),
                               help="Glob of the file names to read, e.g. *.csv (several: separated by commas).")
    file_format = fields.Selection([('csv', 'CSV'), ('fixed', 'Fixed width'), ('xml', 'XML')], 'File Format',
                                   compute='_compute_typed_params', inverse=_param_inverse('file_format'),
                                   help=_help('file_drop', 'format'))
    file_delimiter = fields.Char('Delimiter', compute='_compute_typed_params', inverse=_param_inverse('file_delimiter'),
                                 help=_help('file_drop', 'delimiter'))
    file_encoding = fields.Char('Encoding', compute='_compute_typed_params', inverse=_param_inverse('file_encoding'),
                                help="utf-8 (checked strictly) when empty; latin1, windows-1252, cp850...")
    file_header = fields.Boolean('Header Line', compute='_compute_typed_params', inverse=_param_inverse('file_header'),
                                 help=_help('file_drop', 'header'))
    file_archive_path = fields.Char('Archive Folder', compute='_compute_typed_params',
                                    inverse=_param_inverse('file_archive_path'), help=_help('file_drop', 'archivePath'))
    file_error_path = fields.Char('Error Folder', compute='_compute_typed_params', inverse=_param_inverse('file_error_path'),
                                  help=_help('file_drop', 'errorPath'))
    file_stable_seconds = fields.Float('Stable Seconds', compute='_compute_typed_params',
                                       inverse=_param_inverse('file_stable_seconds'), help=_help('file_drop', 'stableSeconds'))
    file_event_type = fields.Selection('_selection_event_type', 'File Rows Are', compute='_compute_typed_params',
                                       inverse=_param_inverse('file_event_type'),
                                       help="Event type of rows without a type column (and no mapping).")
    sql_driver = fields.Selection([('postgres', 'PostgreSQL'), ('postgresql', 'PostgreSQL (postgresql)'),
                                   ('mysql', 'MySQL'), ('mariadb', 'MariaDB')], 'Database Driver',
                                  compute='_compute_typed_params', inverse=_param_inverse('sql_driver'))
    sql_host = fields.Char('Host', compute='_compute_typed_params', inverse=_param_inverse('sql_host'))
    sql_port = fields.Integer('Port', compute='_compute_typed_params', inverse=_param_inverse('sql_port'),
                              help="Empty: the driver's default (5432, 3306).")
    sql_database = fields.Char('Database', compute='_compute_typed_params', inverse=_param_inverse('sql_database'))
    sql_user = fields.Char('Database User', compute='_compute_typed_params', inverse=_param_inverse('sql_user'),
                           help="A role that can only read: the query runs in a read-only transaction too.")
    sql_query = fields.Text('Query', compute='_compute_typed_params', inverse=_param_inverse('sql_query'),
                            help=_help('sql_source', 'query'))
    sql_watermark_column = fields.Char('Watermark Column', compute='_compute_typed_params',
                                       inverse=_param_inverse('sql_watermark_column'), help=_help('sql_source', 'watermarkColumn'))
    sql_key_column = fields.Char('Key Column', compute='_compute_typed_params', inverse=_param_inverse('sql_key_column'),
                                 help=_help('sql_source', 'keyColumn'))
    sql_table = fields.Char('Table Name', compute='_compute_typed_params', inverse=_param_inverse('sql_table'),
                            help="Names the rows' keys (<table>:<key>) in the trace.")
    sql_batch_size = fields.Integer('Batch Size', compute='_compute_typed_params', inverse=_param_inverse('sql_batch_size'),
                                    help=_help('sql_source', 'batchSize'))
    sql_event_type = fields.Selection('_selection_event_type', 'Table Rows Are', compute='_compute_typed_params',
                                      inverse=_param_inverse('sql_event_type'),
                                      help="Event type of rows without a type column (and no mapping).")
    http_url = fields.Char('URL', compute='_compute_typed_params', inverse=_param_inverse('http_url'),
                           help="The JSON endpoint to poll (http:// or https://).")
    http_items_path = fields.Char('Items Path', compute='_compute_typed_params', inverse=_param_inverse('http_items_path'),
                                  help=_help('http_source', 'itemsPath'))
    http_key_field = fields.Char('Key Field', compute='_compute_typed_params', inverse=_param_inverse('http_key_field'),
                                 help=_help('http_source', 'keyField'))
    http_etag = fields.Boolean('Use ETag', compute='_compute_typed_params', inverse=_param_inverse('http_etag'),
                               help=_help('http_source', 'etag'))
    http_event_type = fields.Selection('_selection_event_type', 'Items Are', compute='_compute_typed_params',
                                       inverse=_param_inverse('http_event_type'),
                                       help="Event type of items without a type field (and no mapping).")
    http_timeout_seconds = fields.Integer('Timeout (s)', compute='_compute_typed_params',
                                          inverse=_param_inverse('http_timeout_seconds'),
                                          help="A request without an answer after this many seconds is retried.")
    http_headers = fields.Text('Headers', compute='_compute_typed_params', inverse=_param_inverse('http_headers'),
                               help="Sent with every request, one per line: Name: value "
                                    "(e.g. Accept: application/json). Credentials go in the password fields.")
    sql_columns = fields.Text('Column Names', compute='_compute_typed_params', inverse=_param_inverse('sql_columns'),
                              help="Where each release field goes when the table's columns are named otherwise, "
                                   "one per line: field: column. Fields: " + _allowed_names('sink_sql', 'columns') + ".")
    sql_line_columns = fields.Text('Line Column Names', compute='_compute_typed_params',
                                   inverse=_param_inverse('sql_line_columns'),
                                   help="The same for the lines table: field: column. Fields: "
                                        + _allowed_names('sink_sql', 'lineColumns') + ".")
    sql_mode = fields.Selection([('upsert', 'Upsert (one row per release)'), ('insert', 'Insert (one row per message)')],
                                'Write Mode', compute='_compute_typed_params', inverse=_param_inverse('sql_mode'),
                                help=_help('sink_sql', 'mode'))
    sql_lines_table = fields.Char('Lines Table', compute='_compute_typed_params',
                                  inverse=_param_inverse('sql_lines_table'), help=_help('sink_sql', 'linesTable'))
    sql_timestamps = fields.Selection([('iso', 'ISO text with offset'), ('local', "Site's local time"), ('utc', 'UTC')],
                                      'Timestamps', compute='_compute_typed_params',
                                      inverse=_param_inverse('sql_timestamps'), help=_help('sink_sql', 'timestamps'))
    sink_prefix = fields.Char('File Name Prefix', compute='_compute_typed_params', inverse=_param_inverse('sink_prefix'),
                              help=_help('sink_file', 'prefix'))
    sink_attempts = fields.Integer('Attempts', compute='_compute_typed_params', inverse=_param_inverse('sink_attempts'),
                                   help=_help('sink_file', 'attempts'))
    sink_backoff_ms = fields.Integer('Retry Wait (ms)', compute='_compute_typed_params',
                                     inverse=_param_inverse('sink_backoff_ms'), help=_help('sink_file', 'backoffMs'))
    mqtt_url = fields.Char('Broker URL', compute='_compute_typed_params', inverse=_param_inverse('mqtt_url'),
                           help=_help('mqtt', 'url'))
    mqtt_topics = fields.Text('Topics', compute='_compute_typed_params', inverse=_param_inverse('mqtt_topics'),
                              help="Topic filters the plant publishes on, one per line (+ for a level, # last), "
                                   "e.g. plant/+/+/status.")
    mqtt_client_id = fields.Char('Client ID', compute='_compute_typed_params', inverse=_param_inverse('mqtt_client_id'),
                                 help=_help('mqtt', 'clientId'))
    mqtt_username = fields.Char('Broker User', compute='_compute_typed_params', inverse=_param_inverse('mqtt_username'),
                                help=_help('mqtt', 'username'))
    mqtt_command_topic = fields.Char('Command Topic', compute='_compute_mqtt_command_topic',
                                     help="Where the sidecar publishes this site's releases, at QoS 1.")
    secret_password = fields.Char(
        'Password', compute='_compute_typed_secrets', inverse='_inverse_typed_secrets',
        groups='plant_bridge.group_manager',
        help="Kept in the connector's secrets, never shown again: type a new one to change it.")
    secret_bearer = fields.Char(
        'Bearer Token', compute='_compute_typed_secrets', inverse='_inverse_typed_secrets',
        groups='plant_bridge.group_manager',
        help="Sent as Authorization: Bearer; kept in the secrets, never shown again.")
    secret_username = fields.Char(
        'User Name', compute='_compute_typed_secrets', inverse='_inverse_typed_secrets',
        groups='plant_bridge.group_manager',
        help="HTTP basic authentication: sent with the password as Authorization: Basic (a bearer token wins).")
    secret_password_set = fields.Boolean('Password Set', compute='_compute_typed_secrets',
                                         groups='plant_bridge.group_manager')
    secret_bearer_set = fields.Boolean('Bearer Token Set', compute='_compute_typed_secrets',
                                       groups='plant_bridge.group_manager')

    _name_site_unique = models.Constraint('unique(site_id, name)', 'Connector names must be unique per site.')

    def _selection_event_type(self):
        return self.env['plant_bridge.mapping']._fields['event_type'].selection

    @api.depends('kind', 'params')
    def _compute_typed_params(self):
        for connector in self:
            try:
                params = parse_json_object(self.env, connector.params, 'params')
            except ValidationError:
                params = {}
            for name, (kinds, key) in TYPED_PARAMS.items():
                value = None
                if connector.kind in kinds:
                    value = params.get(key, param_property(connector.kind, key).get('default'))
                if name == 'file_pattern' and isinstance(value, list):
                    value = ', '.join(value)
                elif name == 'mqtt_topics' and isinstance(value, list):
                    value = '\n'.join(value)
                elif name in LINES_FIELDS:
                    value = object_to_lines(value) or None
                connector[name] = value if value is not None else False

    @api.depends('site_id.code')
    def _compute_mqtt_command_topic(self):
        for connector in self:
            code = connector.site_id.code
            connector.mqtt_command_topic = f'plant-bridge/v1/{code}/commands' if code else False

    @api.depends('kind')
    def _compute_typed_secrets(self):
        for connector, sudo in zip(self, self.sudo()):
            try:
                secrets = parse_json_object(self.env, sudo.secrets, 'secrets')
            except ValidationError:
                secrets = {}
            connector.secret_password = connector.secret_bearer = False
            username = secrets.get('username') if connector.kind in SECRET_USERNAME_KINDS else None
            connector.secret_username = username if isinstance(username, str) else False
            connector.secret_password_set = bool(secrets.get('password'))
            connector.secret_bearer_set = bool(secrets.get('bearer'))

    def _inverse_typed_secrets(self):
        for connector in self:
            sudo = connector.sudo()
            secrets = parse_json_object(self.env, sudo.secrets, _("Secrets"))
            changed = False
            for name, kinds in TYPED_SECRETS.items():
                value = connector[name]
                if value and connector.kind in kinds:
                    secrets[name.removeprefix('secret_')] = value
                    changed = True
            if connector.kind in SECRET_USERNAME_KINDS and (connector.secret_username or False) != (
                    secrets.get('username') or False):
                if connector.secret_username:
                    secrets['username'] = connector.secret_username
                else:
                    secrets.pop('username', None)
                changed = True
            if changed:
                sudo.secrets = json.dumps(secrets, indent=2)

    @api.onchange('kind')
    def _onchange_kind(self):
        """Another kind: the parameters the new kind does not know are dropped (the sidecar would
        refuse them), and its defaults apply."""
        schema = params_schema(self.kind)
        if not schema:
            return
        try:
            params = parse_json_object(self.env, self.params, 'params')
        except ValidationError:
            params = {}
        known = schema.get('properties', {})
        self.params = json.dumps({k: v for k, v in params.items() if k in known}, indent=2)

    @api.model_create_multi
    def create(self, vals_list):
        connectors = super().create(vals_list)
        if any(TYPED_PARAMS.keys() & vals.keys() for vals in vals_list):
            connectors._check_params()
        return connectors

    def write(self, vals):
        result = super().write(vals)
        if TYPED_PARAMS.keys() & vals.keys() and not self.env.context.get('plant_bridge_typed_params'):
            self._check_params()
        return result

    @api.constrains('params', 'kind')
    def _check_params(self):
        """The parameters the sidecar will read, checked with its own rules (generated schema);
        empty parameters are a connector not configured yet."""
        if self.env.context.get('plant_bridge_typed_params'):
            return
        for connector in self:
            params = parse_json_object(self.env, connector.params, _("Parameters"))
            schema = params_schema(connector.kind)
            if not schema or not params:
                continue
            labels = {key: self._fields[name].string
                      for name, (kinds, key) in TYPED_PARAMS.items() if connector.kind in kinds}
            problems = validate(schema, params)
            if problems:
                raise ValidationError(_("%(connector)s: %(problems)s", connector=connector.name, problems='; '.join(
                    f"{labels.get(_param_of(path), path)} ({path}) {message}" for path, message in problems)))

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
