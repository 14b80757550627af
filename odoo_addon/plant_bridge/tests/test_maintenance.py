from odoo.tests import tagged

from .common import PlantBridgeCase


@tagged('post_install', '-at_install', 'plant_bridge')
class TestMaintenance(PlantBridgeCase):

    def test_request_for_workcenter_uses_its_equipment(self):
        equipment = self.env.ref('maintenance.equipment_monitor1')
        equipment.plant_bridge_workcenter_id = self.drill_1
        self.assertEqual(self.drill_1.plant_bridge_equipment_ids, equipment)
        result = self.post_one('maintenance', workcenter='Drill 1', kind='corrective',
                               description='Spindle vibration above limit\nSeen on shift 2')
        request = self.assertApplied(result, 'maintenance.request')
        self.assertRecordValues(request, [{
            'name': 'Spindle vibration above limit', 'maintenance_type': 'corrective',
            'equipment_id': equipment.id, 'plant_bridge_workcenter_id': self.drill_1.id,
            'company_id': self.site.company_id.id,
        }])
        self.assertRecordValues(self.message_of(result), [{'workcenter_id': self.drill_1.id}])

    def test_request_for_equipment_by_serial_number(self):
        equipment = self.env.ref('maintenance.equipment_monitor1')
        equipment.serial_no = 'MON-PB-001'
        request = self.assertApplied(self.post_one('maintenance', equipment='MON-PB-001', kind='preventive',
                                                   description='Yearly check'), 'maintenance.request')
        self.assertRecordValues(request, [{'equipment_id': equipment.id, 'maintenance_type': 'preventive'}])

    def test_rejections(self):
        self.assertRejected(self.post_one('maintenance', equipment='Flux capacitor', kind='corrective',
                                          description='x'), 'unknown_equipment')
        self.assertRejected(self.post_one('maintenance', workcenter='Nowhere', kind='corrective', description='x'),
                            'unknown_workcenter')
        self.assertRejected(self.post_one('maintenance', workcenter='Drill 1', kind='cosmetic', description='x'),
                            'schema')
        self.assertRejected(self.post_one('maintenance', kind='corrective', description='x'), 'schema')
