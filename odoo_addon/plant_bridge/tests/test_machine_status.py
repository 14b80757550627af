import json
from datetime import datetime

from odoo.tests import tagged

from .common import PlantBridgeCase


@tagged('post_install', '-at_install', 'plant_bridge')
class TestMachineStatus(PlantBridgeCase):

    def test_live_state(self):
        result = self.post_one('machine_status', workcenter='Assembly 2', status='running',
                               occurredAt='2026-11-26T08:00:00+00:00', counters={'good': 120, 'bad': 3})
        self.assertEqual(self.assertApplied(result, 'mrp.workcenter'), self.assembly_2)
        self.assertRecordValues(self.assembly_2, [{
            'plant_bridge_status': 'running',
            'plant_bridge_status_since': datetime(2026, 11, 26, 8, 0),
            'plant_bridge_status_at': datetime(2026, 11, 26, 8, 0),
        }])
        self.assertEqual(json.loads(self.assembly_2.plant_bridge_counters), {'bad': 3, 'good': 120})
        # same status later: `since` stays
        self.post_one('machine_status', workcenter='Assembly 2', status='running', occurredAt='2026-11-26T08:05:00+00:00')
        self.assertRecordValues(self.assembly_2, [{'plant_bridge_status_since': datetime(2026, 11, 26, 8, 0),
                                                   'plant_bridge_status_at': datetime(2026, 11, 26, 8, 5)}])
        # an older event arriving late changes nothing
        self.assertApplied(self.post_one('machine_status', workcenter='Assembly 2', status='down',
                                         occurredAt='2026-11-26T07:00:00+00:00'), 'mrp.workcenter')
        self.assertRecordValues(self.assembly_2, [{'plant_bridge_status': 'running'}])

    def test_automatic_downtime(self):
        wc = self.assembly_2
        wc.write({'plant_bridge_auto_downtime': True,
                  'plant_bridge_downtime_loss_id': self.env.ref('mrp.block_reason1').id})
        self.post_one('machine_status', workcenter=wc.name, status='down', occurredAt='2026-11-26T09:00:00+00:00')
        interval = wc.plant_bridge_open_downtime_id
        self.assertRecordValues(interval, [{'workcenter_id': wc.id, 'date_start': datetime(2026, 11, 26, 9, 0),
                                            'date_end': False, 'loss_id': self.env.ref('mrp.block_reason1').id}])
        self.assertRecordValues(wc, [{'plant_bridge_status': 'down', 'working_state': 'blocked'}])
        self.post_one('machine_status', workcenter=wc.name, status='running', occurredAt='2026-11-26T09:12:00+00:00')
        self.assertRecordValues(interval, [{'date_end': datetime(2026, 11, 26, 9, 12)}])
        self.assertRecordValues(wc, [{'plant_bridge_open_downtime_id': False, 'working_state': 'normal'}])

    def test_rejections(self):
        self.assertRejected(self.post_one('machine_status', workcenter='Nowhere', status='running'),
                            'unknown_workcenter')
        self.assertRejected(self.post_one('machine_status', workcenter='Assembly 2', status='sleeping'), 'schema')
        self.assertRejected(self.post_one('machine_status', workcenter='Assembly 2', status='running', counters=[1]),
                            'schema')
