from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import PlantBridgeCase

METRICS = [{'name': 'Machine/State', 'datatype': 'Int32'}, {'name': 'Counters/Good', 'datatype': 'UInt64'}]


@tagged('post_install', '-at_install', 'plant_bridge')
class TestSparkplugBindings(PlantBridgeCase):

    def births(self, *items):
        return self.api.report_bindings('main', [
            dict({'group': 'Plant1', 'edge': 'Line7', 'metrics': METRICS, 'at': '2026-11-26T08:00:00+00:00'}, **item)
            for item in items])

    def binding(self, device):
        return self.env['plant_bridge.binding'].search([('device', '=', device)])

    def test_births_are_proposed_with_the_work_center_named_like_the_machine(self):
        revision = self.api.get_config('main')['revision']
        self.assertEqual(self.births({'device': 'drill 1'}, {'device': 'Press 9'}, {'device': None}),
                         {'proposed': 3, 'updated': 0})
        self.assertRecordValues(self.binding('drill 1'), [{
            'site_id': self.site.id, 'group_id': 'Plant1', 'edge_node': 'Line7', 'source': 'Plant1/Line7/drill 1',
            'workcenter_id': self.drill_1.id, 'state': 'proposed', 'metric_count': 2, 'birth_count': 1}])
        self.assertRecordValues(self.binding('Press 9'), [{'workcenter_id': False, 'state': 'proposed'}])
        self.assertRecordValues(self.binding(''), [{'source': 'Plant1/Line7', 'workcenter_id': False}])
        # A rebirth refreshes the metrics; births never change what sidecars run.
        self.assertEqual(self.births({'device': 'drill 1', 'metrics': METRICS[:1]}), {'proposed': 0, 'updated': 1})
        self.assertRecordValues(self.binding('drill 1'), [{'birth_count': 2, 'metric_count': 1}])
        self.assertEqual(self.api.get_config('main', known_revision=revision)['changed'], False)

    def test_confirmed_bindings_reach_sidecars_with_the_configuration(self):
        self.births({'device': 'Drill 1'}, {'device': 'Press 9'})
        revision = self.api.get_config('main')['revision']
        self.assertEqual(self.api.get_config('main')['bindings'], [])
        self.binding('Drill 1').action_confirm()
        config = self.api.get_config('main', known_revision=revision)
        self.assertTrue(config['changed'])
        self.assertEqual(config['bindings'], [
            {'group': 'Plant1', 'edge': 'Line7', 'device': 'Drill 1', 'workcenter': 'Drill 1'}])
        with self.assertRaises(UserError):
            self.binding('Press 9').action_confirm()  # no work center yet
        self.binding('Press 9').workcenter_id = self.assembly_2
        self.binding('Press 9').action_confirm()
        self.binding('Drill 1').action_ignore()
        self.assertEqual([b['device'] for b in self.api.get_config('main')['bindings']], ['Press 9'])

    def test_bad_reports_are_refused(self):
        for items in ([{'edge': 'Line7'}], [{'group': 'G', 'edge': ''}], {'group': 'G'}, [{'group': 'G', 'edge': 'E',
                                                                                          'device': 3}]):
            with self.assertRaises(UserError, msg=items):
                self.api.report_bindings('main', items)

    def test_access(self):
        self.births({'device': 'Drill 1'})
        binding = self.binding('Drill 1')
        with self.assertRaises(AccessError):
            binding.with_user(self.connector_user).write({'state': 'confirmed'})
        outsider = self.env['res.users'].create({
            'name': 'Other plant', 'login': 'pb_other_plant',
            'group_ids': [(6, 0, self.env.ref('plant_bridge.group_user').ids)]})
        self.assertFalse(self.env['plant_bridge.binding'].with_user(outsider).search([]))
