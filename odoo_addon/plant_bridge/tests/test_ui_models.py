from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from ..models.plant_bridge_sample import SAMPLES_PER_CONNECTOR
from .common import PlantBridgeCase


@tagged('post_install', '-at_install', 'plant_bridge')
class TestSamples(PlantBridgeCase):
    """report_samples: recent source messages for the Mapping Studio, bounded per connector."""

    def setUp(self):
        super().setUp()
        self.broker = self.env.ref('plant_bridge.demo_connector_mqtt')
        self.Sample = self.env['plant_bridge.sample']

    def test_samples_are_stored_per_connector_by_id_or_name(self):
        result = self.api.report_samples('main', [
            {'connector_id': self.broker.id, 'source': 'plant/main/l1/m1/status',
             'payload': {'state': 'RUNNING'}, 'at': '2026-11-26T08:00:00+00:00'},
            {'connector': 'Legacy MES export', 'source': 'mes.csv:2', 'payload': '{"MO": "WH/MO/00001"}'},
            {'connector': 'nope', 'source': 'plant-bridge/v1/main/events', 'payload': '{}'},
        ])
        self.assertEqual(result, {'recorded': 3, 'skipped': 0})
        samples = self.Sample.search([('site_id', '=', self.site.id)], order='id')
        self.assertRecordValues(samples, [
            {'connector_id': self.broker.id, 'source': 'plant/main/l1/m1/status', 'payload': '{"state": "RUNNING"}'},
            {'connector_id': self.env.ref('plant_bridge.demo_connector_file_drop').id, 'source': 'mes.csv:2',
             'payload': '{"MO": "WH/MO/00001"}'},
            {'connector_id': False, 'source': 'plant-bridge/v1/main/events', 'payload': '{}'},
        ])
        self.assertEqual(samples[0].at, fields.Datetime.to_datetime('2026-11-26 08:00:00'))
        self.assertAlmostEqual(samples[1].at, fields.Datetime.now(), delta=timedelta(minutes=1))

    def test_only_the_newest_are_kept(self):
        start = fields.Datetime.now() - timedelta(hours=1)
        self.api.report_samples('main', [
            {'connector_id': self.broker.id, 'source': f'plant/main/l1/m{i}/status', 'payload': {'n': i},
             'at': (start + timedelta(seconds=i)).isoformat() + '+00:00'}
            for i in range(SAMPLES_PER_CONNECTOR + 7)])
        kept = self.Sample.search([('connector_id', '=', self.broker.id)])
        self.assertEqual(len(kept), SAMPLES_PER_CONNECTOR)
        self.assertEqual(min(kept.mapped(lambda s: int(s.source.split('/')[3][1:]))), 7)

    def test_large_payloads_are_skipped_and_callers_checked(self):
        result = self.api.report_samples('main', [
            {'connector_id': self.broker.id, 'source': 'big', 'payload': 'x' * (70 * 1024)}])
        self.assertEqual(result, {'recorded': 0, 'skipped': 1})
        user = new_test_user(self.env, 'pb_plain_user', groups='base.group_user')
        with self.assertRaises(AccessError):
            self.env['plant_bridge.api'].with_user(user).report_samples('main', [{'source': 'x', 'payload': '{}'}])
        with self.assertRaises(UserError):
            self.api.report_samples('main', [{'payload': '{}'}])


@tagged('post_install', '-at_install', 'plant_bridge')
class TestConnectorTest(PlantBridgeCase):
    """Test connection: a request Odoo hands to the site's sidecars with the heartbeat."""

    def setUp(self):
        super().setUp()
        self.broker = self.env.ref('plant_bridge.demo_connector_mqtt')
        self.Test = self.env['plant_bridge.connector.test']

    def heartbeat(self):
        return self.api.heartbeat({'name': 'edge-1', 'site': 'main', 'version': '0.1.0'})

    def test_request_answered_by_a_sidecar(self):
        test_id = self.broker.action_test_connection()
        test = self.Test.browse(test_id)
        self.assertRecordValues(test, [{'state': 'pending', 'connector_id': self.broker.id, 'site_id': self.site.id,
                                        'requested_by_id': self.env.uid, 'is_late': False}])
        answer = self.heartbeat()
        self.assertEqual(answer['connector_tests'], [
            {'test_id': test_id, 'connector_id': self.broker.id, 'connector': 'Plant broker', 'kind': 'mqtt'}])
        result = self.api.report_connector_tests(
            [{'test_id': test_id, 'ok': True, 'message': 'CONNACK', 'duration_ms': 12.5}], sidecar='edge-1')
        self.assertEqual(result, {'recorded': 1})
        self.assertRecordValues(test, [{'state': 'ok', 'result': 'CONNACK', 'duration_ms': 12.5, 'sidecar': 'edge-1'}])
        self.assertTrue(test.answered_at)
        # the first answer wins; the request is no longer handed out
        self.api.report_connector_tests([{'test_id': test_id, 'ok': False, 'message': 'late'}])
        self.assertEqual(test.state, 'ok')
        self.assertEqual(self.heartbeat()['connector_tests'], [])

    def test_failure_and_unanswered(self):
        failed = self.Test.browse(self.broker.action_test_connection())
        self.api.report_connector_tests([{'test_id': failed.id, 'ok': False, 'message': 'ECONNREFUSED'}])
        self.assertRecordValues(failed, [{'state': 'failed', 'result': 'ECONNREFUSED'}])
        late = self.Test.browse(self.broker.action_test_connection())
        self.env.cr.execute("UPDATE plant_bridge_connector_test SET create_date = now() at time zone 'UTC' "
                            "- interval '10 minutes' WHERE id = %s", [late.id])
        late.invalidate_recordset()
        self.assertTrue(late.is_late)
        self.assertEqual(self.heartbeat()['connector_tests'], [])
        self.assertEqual(late.state, 'timeout')

    def test_only_managers_test_connectors(self):
        user = new_test_user(self.env, 'pb_monitor', groups='base.group_user,plant_bridge.group_user')
        self.site.user_ids = [Command.link(user.id)]
        with self.assertRaises(UserError):
            self.broker.with_user(user).action_test_connection()


@tagged('post_install', '-at_install', 'plant_bridge')
class TestMappingVersions(PlantBridgeCase):
    """New version, shadow, activate (archives the replaced one), roll back."""

    def setUp(self):
        super().setUp()
        self.active = self.env.ref('plant_bridge.demo_mapping_machine_status')

    def test_new_version_activate_and_roll_back(self):
        new_id = self.active.action_new_version({'expression': '{"workcenter": $machine, "status": "idle"}'})
        new = self.env['plant_bridge.mapping'].browse(new_id)
        self.assertRecordValues(new, [{
            'state': 'draft', 'version': self.active.version + 1, 'origin_id': self.active.id,
            'previous_id': self.active.id, 'selector': self.active.selector,
            'expression': '{"workcenter": $machine, "status": "idle"}'}])
        self.assertEqual(self.active.state, 'active')
        new.action_shadow()
        self.assertEqual(new.state, 'shadow')
        new.action_activate()
        self.assertRecordValues(self.active + new, [
            {'state': 'archived', 'replaced_id': False},
            {'state': 'active', 'replaced_id': self.active.id}])
        new.action_rollback()
        self.assertRecordValues(self.active + new, [{'state': 'active'}, {'state': 'archived'}])
        # a third version numbers after every version of the lineage
        third = self.env['plant_bridge.mapping'].browse(new.action_new_version({'name': 'Status v3'}))
        self.assertEqual((third.version, third.origin_id), (new.version + 1, self.active))
        self.assertEqual([v['id'] for v in self.env['plant_bridge.mapping'].get_lineage(third.id)],
                         [third.id, new.id, self.active.id])

    def test_sidecar_config_names_the_first_version(self):
        new = self.env['plant_bridge.mapping'].browse(self.active.action_new_version({'expression': '{}'}))
        config = self.api.get_config('main')
        origins = {m['id']: m['origin_id'] for m in config['mappings']}
        self.assertEqual((origins[self.active.id], origins[new.id]), (self.active.id, self.active.id))

    def test_guards(self):
        with self.assertRaises(UserError):
            self.active.action_rollback()
        with self.assertRaises(UserError):
            self.active.action_new_version({'state': 'active'})
        user = new_test_user(self.env, 'pb_monitor2', groups='base.group_user,plant_bridge.group_user')
        self.site.user_ids = [Command.link(user.id)]
        with self.assertRaises(UserError):
            self.active.with_user(user).action_new_version({'expression': '{}'})


@tagged('post_install', '-at_install', 'plant_bridge')
class TestOrderTraceButton(PlantBridgeCase):

    def test_count_and_action(self):
        self.post_one('scrap', product='FURN_7800', quantity=1, order=self.mo_desk.name)
        self.post_one('scrap', product='FURN_7800', quantity=1, order=self.mo_desk.name, lot='NOPE-LOT-9')
        self.assertEqual(self.mo_desk.plant_bridge_message_count, 2)
        action = self.mo_desk.action_plant_bridge_order_trace()
        self.assertEqual((action['tag'], action['context']['active_id']),
                         ('plant_bridge.order_trace', self.mo_desk.id))
        mrp_only = new_test_user(self.env, 'pb_mrp_only', groups='mrp.group_mrp_user')
        self.assertEqual(self.mo_desk.with_user(mrp_only).plant_bridge_message_count, 0)
