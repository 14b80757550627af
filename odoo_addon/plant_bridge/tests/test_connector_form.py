import json

from odoo.exceptions import ValidationError
from odoo.tests import Form, new_test_user, tagged

from .common import PlantBridgeCase


class ConnectorFormCase(PlantBridgeCase):
    """A connector made with its form, and the connector as the sidecar gets it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = new_test_user(cls.env, login='pb_form_manager',
                                    groups='base.group_user,plant_bridge.group_manager')
        cls.Connector = cls.env['plant_bridge.connector'].with_user(cls.manager)

    def new(self, kind, **values):
        with Form(self.Connector) as form:
            form.name = f'{kind} {len(values)}'
            form.site_id = self.site
            form.kind = kind
            for name, value in values.items():
                setattr(form, name, value)
        return form.record

    def served(self, connector):
        """The connector as the sidecar gets it."""
        config = self.api.get_config('main')
        return next(c for c in config['connectors'] if c['id'] == connector.id)


@tagged('post_install', '-at_install', 'plant_bridge')
class TestConnectorForm(ConnectorFormCase):
    """A legacy source is configured with a form of its kind's fields; the stored JSON stays what
    the sidecar reads (its own parameter names), validated with the sidecar's rules."""

    def test_file_drop_form_writes_the_sidecars_names(self):
        connector = self.new('file_drop', file_path='/srv/mes/out', file_pattern='*.csv',
                             file_delimiter=';', file_encoding='latin1', file_stable_seconds=5)
        self.assertEqual(self.served(connector)['params'], {
            'path': '/srv/mes/out', 'pattern': '*.csv', 'format': 'csv', 'delimiter': ';',
            'encoding': 'latin1', 'header': True, 'stableSeconds': 5.0})

    def test_the_form_reads_the_json_with_the_defaults(self):
        connector = self.Connector.create({
            'name': 'MES export', 'site_id': self.site.id, 'kind': 'file_drop',
            'params': json.dumps({'path': '/x', 'pattern': ['*.csv', '*.txt'], 'stableSeconds': 10})})
        self.assertRecordValues(connector, [{
            'file_path': '/x', 'file_pattern': '*.csv, *.txt', 'file_stable_seconds': 10.0,
            'file_format': 'csv', 'file_delimiter': ',', 'file_header': True, 'sql_query': False}])
        with Form(connector) as form:
            form.file_error_path = '/x/failed'
        self.assertEqual(json.loads(connector.params)['pattern'], ['*.csv', '*.txt'])
        self.assertEqual(json.loads(connector.params)['errorPath'], '/x/failed')

    def test_validated_with_the_sidecars_rules(self):
        cases = [
            ('file_drop', {'path': '/x', 'stableSeconds': -1}, 'Stable Seconds'),
            ('file_drop', {'path': '/x', 'folder': '/y'}, 'folder'),
            ('file_drop', {'path': ''}, 'Folder'),
            ('sql_source', {'driver': 'postgres', 'query': 'SELECT 1', 'port': 70000}, 'Port'),
            ('sql_source', {'driver': 'oracle', 'query': 'SELECT 1'}, 'Database Driver'),
            ('sql_source', {'driver': 'postgres'}, 'Query'),
            ('http_source', {'url': 'not a url'}, 'URL'),
            ('http_source', {'url': 'https://mes/api', 'paging': {'kind': 'cursor'}}, 'paging.nextPath'),
        ]
        for kind, params, named in cases:
            with self.subTest(kind=kind, params=params), self.assertRaisesRegex(ValidationError, named):
                self.Connector.create({'name': f'bad {named}', 'site_id': self.site.id, 'kind': kind,
                                       'params': json.dumps(params)})
        # what the sidecar also takes: `directory` (another name of `path`), a list of patterns
        self.Connector.create({'name': 'ok', 'site_id': self.site.id, 'kind': 'file_drop',
                               'params': json.dumps({'directory': '/x', 'pattern': ['*.csv']})})
        with self.assertRaisesRegex(ValidationError, 'Stable Seconds'):
            self.new('file_drop', file_path='/x', file_stable_seconds=-1)

    def test_secrets_are_password_fields_never_shown_back(self):
        connector = self.new('sql_source', sql_driver='postgres', sql_host='mes-db', sql_database='mes',
                             sql_user='reader', sql_query='SELECT id, qty FROM prod_log',
                             sql_watermark_column='id', sql_key_column='id', secret_password='s3cret')
        served = self.served(connector)
        self.assertEqual(served['secrets'], {'password': 's3cret'})
        self.assertEqual(served['params'], {
            'driver': 'postgres', 'host': 'mes-db', 'database': 'mes', 'user': 'reader',
            'query': 'SELECT id, qty FROM prod_log', 'watermarkColumn': 'id', 'keyColumn': 'id',
            'batchSize': 1000})
        connector.invalidate_recordset()
        self.assertRecordValues(connector, [{'secret_password': False, 'secret_password_set': True}])
        with Form(connector) as form:
            form.sql_batch_size = 500
        self.assertEqual(self.served(connector)['secrets'], {'password': 's3cret'}, "kept when not retyped")
        self.assertEqual(self.served(connector)['params']['batchSize'], 500)

    def test_another_kind_drops_what_it_does_not_know(self):
        with Form(self.Connector) as form:
            form.name = 'switched'
            form.site_id = self.site
            form.kind = 'file_drop'
            form.file_path = '/x'
            form.kind = 'http_source'
            form.http_url = 'https://mes.example.com/api/orders'
        self.assertEqual(json.loads(form.record.params), {
            'url': 'https://mes.example.com/api/orders', 'itemsPath': 'items', 'keyField': 'id', 'etag': True,
            'timeoutSeconds': 30})


@tagged('post_install', '-at_install', 'plant_bridge')
class TestSinkMqttConnectorForm(ConnectorFormCase):
    """Sinks and MQTT connectors have the typed form too, from the same generated schema."""

    def test_file_sink_form(self):
        connector = self.new('sink_file', file_path='/srv/mes/in', file_format='xml', sink_prefix='REL_',
                             sink_attempts=5, sink_backoff_ms=0)
        self.assertEqual(self.served(connector)['params'], {
            'path': '/srv/mes/in', 'format': 'xml', 'encoding': 'utf-8', 'delimiter': ';', 'header': True,
            'prefix': 'REL_', 'attempts': 5, 'backoffMs': 0})
        self.assertRecordValues(connector, [{'file_delimiter': ';', 'sink_attempts': 5, 'sink_backoff_ms': 0}])

    def test_sql_sink_form_and_its_password(self):
        connector = self.new('sink_sql', sql_driver='mysql', sql_host='mes-db', sql_port=3306,
                             sql_database='mes', sql_user='writer', sql_table='mes_orders', sql_mode='insert',
                             sql_lines_table='mes_lines', sql_timestamps='local', secret_password='w-s3cret')
        served = self.served(connector)
        self.assertEqual(served['params'], {
            'driver': 'mysql', 'host': 'mes-db', 'port': 3306, 'database': 'mes', 'user': 'writer',
            'table': 'mes_orders', 'mode': 'insert', 'linesTable': 'mes_lines', 'timestamps': 'local',
            'attempts': 3, 'backoffMs': 500})
        self.assertEqual(served['secrets'], {'password': 'w-s3cret'})
        connector.invalidate_recordset()
        self.assertRecordValues(connector, [{'secret_password': False, 'secret_password_set': True}])
        with Form(connector) as form:
            form.sql_mode = 'upsert'
        self.assertEqual(self.served(connector)['secrets'], {'password': 'w-s3cret'}, "kept when not retyped")

    def test_http_sink_form_and_its_token(self):
        connector = self.new('sink_http', http_url='https://mes.example.com/releases', http_timeout_seconds=10,
                             secret_bearer='tok-123')
        served = self.served(connector)
        self.assertEqual(served['params'], {'url': 'https://mes.example.com/releases', 'timeoutSeconds': 10,
                                            'attempts': 3, 'backoffMs': 500})
        self.assertEqual(served['secrets'], {'bearer': 'tok-123'})
        connector.invalidate_recordset()
        self.assertRecordValues(connector, [{'secret_bearer': False, 'secret_bearer_set': True}])

    def test_mqtt_broker_form(self):
        connector = self.new('mqtt', mqtt_url='mqtts://broker.plant.local:8883',
                             mqtt_topics='plant/+/+/status\nplant/line1/#', mqtt_username='plant',
                             secret_password='b-s3cret')
        served = self.served(connector)
        self.assertEqual(served['params'], {'url': 'mqtts://broker.plant.local:8883', 'username': 'plant',
                                            'topics': ['plant/+/+/status', 'plant/line1/#']})
        self.assertEqual(served['secrets'], {'password': 'b-s3cret'})
        connector.invalidate_recordset()
        self.assertRecordValues(connector, [{'secret_password': False, 'secret_password_set': True,
                                             'mqtt_topics': 'plant/+/+/status\nplant/line1/#'}])

    def test_mqtt_command_sink_names_its_topic(self):
        connector = self.new('sink_mqtt')
        self.assertEqual(connector.mqtt_command_topic, 'plant-bridge/v1/main/commands')
        self.assertEqual(self.served(connector)['params'], {})

    def test_sinks_and_mqtt_validated_with_the_sidecars_rules(self):
        cases = [
            ('sink_file', {'path': '/x', 'format': 'fixed'}, 'File Format'),
            ('sink_file', {'path': '/x', 'attempts': 0}, 'Attempts'),
            ('sink_file', {'format': 'csv'}, 'Folder'),
            ('sink_sql', {'driver': 'postgres', 'table': 'orders', 'mode': 'merge'}, 'Write Mode'),
            ('sink_sql', {'driver': 'postgres'}, 'Table Name'),
            ('sink_http', {'url': 'https://mes/api', 'timeoutSeconds': 0}, 'Timeout'),
            ('sink_http', {'url': 'mes'}, 'URL'),
            ('mqtt', {'url': 'http://broker:1883'}, 'Broker URL'),
            ('mqtt', {'topics': ['plant/#/status']}, r'topics\[0\]'),
            ('sink_mqtt', {'topic': 'x'}, 'topic'),
        ]
        for kind, params, named in cases:
            with self.subTest(kind=kind, params=params), self.assertRaisesRegex(ValidationError, named):
                self.Connector.create({'name': f'bad {named}', 'site_id': self.site.id, 'kind': kind,
                                       'params': json.dumps(params)})
        with self.assertRaisesRegex(ValidationError, 'Topics'):
            self.new('mqtt', mqtt_topics='plant/#/x')
        with self.assertRaisesRegex(ValidationError, 'Retry Wait'):
            self.new('sink_http', http_url='https://mes.example.com/r', sink_backoff_ms=-1)


@tagged('post_install', '-at_install', 'plant_bridge')
class TestConnectorFormHttpSql(ConnectorFormCase):
    """What was left in the JSON: an HTTP connector's headers and basic-auth user, a SQL sink's
    column names - typed fields too, checked with the sidecar's rules."""

    def test_http_source_headers_and_basic_auth(self):
        connector = self.new('http_source', http_url='https://mes.example.com/api/orders',
                             http_headers='Accept: application/json\nX-Plant: lyon',
                             secret_username='mes-reader', secret_password='r-s3cret')
        served = self.served(connector)
        self.assertEqual(served['params']['headers'], {'Accept': 'application/json', 'X-Plant': 'lyon'})
        self.assertEqual(served['secrets'], {'username': 'mes-reader', 'password': 'r-s3cret'})
        connector.invalidate_recordset()
        # a user name is no secret: shown back; the password never is
        self.assertRecordValues(connector, [{
            'http_headers': 'Accept: application/json\nX-Plant: lyon', 'secret_username': 'mes-reader',
            'secret_password': False, 'secret_password_set': True}])
        with Form(connector) as form:
            form.secret_username = ''
        self.assertEqual(self.served(connector)['secrets'], {'password': 'r-s3cret'}, "cleared, password kept")

    def test_http_sink_headers(self):
        connector = self.new('sink_http', http_url='https://mes.example.com/releases',
                             http_headers='X-Api-Version: 2')
        self.assertEqual(self.served(connector)['params']['headers'], {'X-Api-Version': '2'})

    def test_malformed_header_line_is_named(self):
        with self.assertRaisesRegex(ValidationError, r'Headers.*line 2'):
            self.new('http_source', http_url='https://mes.example.com/api', http_headers='Accept: a\nno colon here')
        # a name HTTP would refuse, checked with the sidecar's rule (a token)
        with self.assertRaisesRegex(ValidationError, r'Headers \(headers\.Bad Name\)'):
            self.new('http_source', http_url='https://mes.example.com/api', http_headers='Bad Name: x',
                     http_timeout_seconds=10)  # (another name than the first attempt's)

    def test_sql_sink_column_names(self):
        connector = self.new('sink_sql', sql_driver='postgres', sql_host='mes-db', sql_table='mes_orders',
                             sql_lines_table='mes_lines',
                             sql_columns='order: order_no\nquantity: qty_planned',
                             sql_line_columns='product: item_code')
        params = self.served(connector)['params']
        self.assertEqual(params['columns'], {'order': 'order_no', 'quantity': 'qty_planned'})
        self.assertEqual(params['lineColumns'], {'product': 'item_code'})
        connector.invalidate_recordset()
        self.assertRecordValues(connector, [{'sql_columns': 'order: order_no\nquantity: qty_planned',
                                             'sql_line_columns': 'product: item_code'}])

    def test_sql_sink_unknown_field_refused_as_the_sidecar_does(self):
        # the sidecar's schema names the release fields a column may hold; Odoo refuses the others
        with self.assertRaisesRegex(ValidationError, r'Column Names \(columns\.colour\)'):
            self.Connector.create({'name': 'bad columns', 'site_id': self.site.id, 'kind': 'sink_sql',
                                   'params': json.dumps({'driver': 'postgres', 'table': 't',
                                                         'columns': {'colour': 'c'}})})
        with self.assertRaisesRegex(ValidationError, 'Line Column Names'):
            self.new('sink_sql', sql_driver='postgres', sql_table='t', sql_lines_table='l', sql_line_columns='order: x')
