from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common import PlantBridgeCase


@tagged('post_install', '-at_install', 'plant_bridge')
class TestConfig(PlantBridgeCase):

    def test_default_site(self):
        self.assertRecordValues(self.site, [{'code': 'main', 'warehouse_id': self.env.ref('stock.warehouse0').id}])
        self.assertEqual(len(self.site.sor_ids), 10)  # one row per domain of the matrix

    def test_get_config_and_revision(self):
        config = self.api.get_config('main')
        self.assertTrue(config['changed'])
        self.assertEqual(config['site_info']['code'], 'main')
        self.assertEqual(config['sor']['consumption'], 'plant')
        revision = config['revision']
        self.assertEqual(self.api.get_config('main', known_revision=revision),
                         {'site': 'main', 'revision': revision, 'changed': False,
                          'environment': 'production'})

        connector = self.env['plant_bridge.connector'].create({
            'name': 'Line 7 broker', 'site_id': self.site.id, 'kind': 'mqtt',
            'params': '{"url": "mqtt://10.0.0.7"}', 'secrets': '{"password": "s3cret"}'})
        mapping = self.env['plant_bridge.mapping'].create({
            'name': 'Counts', 'site_id': self.site.id, 'connector_id': connector.id, 'selector': 'line7/+/count',
            'event_type': 'production', 'expression': '{"type": "production"}', 'aggregation': '{"window": "60s"}'})
        schedule = self.env['plant_bridge.schedule'].create({
            'name': 'Pull', 'site_id': self.site.id, 'connector_id': connector.id, 'cron': '*/5 * * * *'})
        config = self.api.get_config('main', known_revision=revision)
        self.assertTrue(config['changed'])
        self.assertGreater(config['revision'], revision)
        self.assertIn({'id': connector.id, 'name': 'Line 7 broker', 'kind': 'mqtt', 'active': True,
                       'params': {'url': 'mqtt://10.0.0.7'}, 'secrets': {'password': 's3cret'}},
                      config['connectors'])
        self.assertIn({'id': mapping.id, 'name': 'Counts', 'connector_id': connector.id, 'selector': 'line7/+/count',
                       'event_type': 'production', 'expression': '{"type": "production"}', 'key_expression': None,
                       'version': 1, 'state': 'draft', 'aggregation': {'window': '60s'},
                       'origin_id': mapping.id}, config['mappings'])
        self.assertIn(schedule.id, [s['id'] for s in config['schedules']])

        before = config['revision']
        mapping.expression = '{"type": "production", "quantity": 1}'
        self.assertEqual(mapping.version, 2)
        self.assertGreater(self.api.get_config('main', known_revision=before)['revision'], before)

    def test_cron_validation(self):
        connector = self.env.ref('plant_bridge.demo_connector_file_drop')
        Schedule = self.env['plant_bridge.schedule']
        for cron in ('*/5 * * * *', '0 6,14,22 * * mon-fri', '30 0 0 1 * *', '0 0 1 jan *'):
            Schedule.create({'name': cron, 'site_id': self.site.id, 'connector_id': connector.id, 'cron': cron})
        for cron in ('* * * *', '61 * * * *', 'every minute', '* 25 * * *', '* * * * * * *'):
            with self.assertRaises(ValidationError, msg=cron):
                Schedule.create({'name': cron, 'site_id': self.site.id, 'connector_id': connector.id, 'cron': cron})

    def test_json_fields_validated(self):
        with self.assertRaises(ValidationError):
            self.env['plant_bridge.connector'].create({'name': 'x', 'site_id': self.site.id, 'kind': 'mqtt',
                                                      'params': '[1, 2'})
        with self.assertRaises(ValidationError):
            self.env['plant_bridge.site'].create({'name': 'Bad', 'code': 'Bad Code',
                                                  'warehouse_id': self.site.warehouse_id.id})

    def test_single_active_mapping_per_selector(self):
        mapping = self.env.ref('plant_bridge.demo_mapping_machine_status')
        with self.assertRaises(ValidationError):
            mapping.copy({'name': 'clone', 'state': 'active'})

    def test_heartbeat_keeps_lane_backlog_and_lag(self):
        self.api.heartbeat(
            {'name': 'edge-lanes', 'site': 'main'},
            snapshots=[{'at': '2026-11-26T08:00:00+00:00', 'outbox_depth': 50001,
                        'critical_pending': 1, 'critical_lag': 0.4,
                        'bulk_pending': 50000, 'bulk_lag': 95.5}])
        sidecar = self.env['plant_bridge.sidecar'].search([('name', '=', 'edge-lanes')])
        self.assertRecordValues(sidecar.snapshot_ids, [{
            'outbox_depth': 50001, 'critical_pending': 1, 'critical_lag': 0.4,
            'bulk_pending': 50000, 'bulk_lag': 95.5}])

    def test_heartbeat_and_stale_sidecars(self):
        revision = self.api.get_config('main')['revision']
        answer = self.api.heartbeat(
            {'name': 'edge-1', 'site': 'main', 'version': '0.1.0', 'config_revision': revision,
             'started_at': '2026-11-26T07:00:00+00:00', 'hostname': 'edge-host'},
            snapshots=[{'at': '2026-11-26T08:00:00+00:00', 'received': 10, 'applied': 9, 'rejected': 1,
                        'latency_p95': 0.25, 'odoo_up': True}])
        self.assertEqual(answer, {'ok': True, 'replays': [], 'connector_tests': []})
        sidecar = self.env['plant_bridge.sidecar'].search([('name', '=', 'edge-1')])
        self.assertRecordValues(sidecar, [{'site_id': self.site.id, 'version': '0.1.0', 'hostname': 'edge-host',
                                           'config_revision': revision, 'config_current': True, 'is_stale': False}])
        self.assertRecordValues(sidecar.snapshot_ids, [{'received': 10, 'applied': 9, 'rejected': 1,
                                                        'latency_p95': 0.25, 'site_id': self.site.id}])
        self.env['plant_bridge.sidecar']._cron_flag_stale()
        self.assertFalse(sidecar.is_stale)
        sidecar.last_heartbeat = '2026-01-01 00:00:00'
        self.env['plant_bridge.sidecar']._cron_flag_stale()
        self.assertTrue(sidecar.is_stale)
        self.api.heartbeat({'name': 'edge-1', 'site': 'main'})
        self.assertFalse(sidecar.is_stale)
        self.assertEqual(self.env['plant_bridge.sidecar'].search_count([('name', '=', 'edge-1')]), 1)

    def test_purge_keeps_failures(self):
        ok, bad = self.post(
            self.event('scrap', product='FURN_7800', quantity=1),
            self.event('scrap', product='NOPE', quantity=1))
        messages = self.Message.browse([ok['message_id'], bad['message_id']])
        self.env.cr.execute("UPDATE plant_bridge_message SET create_date = now() - interval '40 days' WHERE id IN %s",
                            [tuple(messages.ids)])
        self.Message._cron_purge()
        self.assertEqual(messages.exists(), self.Message.browse(bad['message_id']))
