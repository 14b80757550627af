import json
from datetime import datetime

from odoo.tests import freeze_time, tagged

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

    def test_down_ends_running_timers_with_the_reason_as_loss(self):
        """A machine going down blocks its work center as Odoo's Block does: the running timers
        of its work orders end when it went down, and the event's reason is the loss."""
        wc = self.assembly_1
        wc.plant_bridge_auto_downtime = True
        mo = self.mo_desk
        self.post_one('workorder_status', order=mo.name, operation='Manual Assembly', status='started',
                      occurredAt='2026-11-26T08:00:00+00:00')
        self.assertApplied(self.post_one('machine_status', workcenter=wc.name, status='down',
                                         reason='Material Availability',
                                         occurredAt='2026-11-26T08:30:00+00:00'), 'mrp.workcenter')
        self.assertRecordValues(mo.workorder_ids.time_ids, [{'date_start': datetime(2026, 11, 26, 8, 0),
                                                             'date_end': datetime(2026, 11, 26, 8, 30)}])
        self.assertRecordValues(wc.plant_bridge_open_downtime_id, [{
            'loss_id': self.env.ref('mrp.block_reason0').id, 'date_start': datetime(2026, 11, 26, 8, 30),
            'date_end': False}])
        self.assertEqual(wc.working_state, 'blocked')
        # a productive or performance reason is no reason to be down
        self.assertRejected(self.post_one('machine_status', workcenter='Assembly 2', status='down',
                                          reason='Reduced Speed'), 'bad_loss')

    def test_manual_unblock_leaves_no_stale_interval(self):
        """Someone unblocks the work center in Odoo while the machine is down: the plant's next
        status does not move that closed interval, and the next `down` opens a new one."""
        wc = self.assembly_2
        wc.plant_bridge_auto_downtime = True
        self.post_one('machine_status', workcenter=wc.name, status='down', occurredAt='2026-11-26T09:00:00+00:00')
        first = wc.plant_bridge_open_downtime_id
        with freeze_time('2026-11-26 09:05:00'):
            wc.unblock()
        self.post_one('machine_status', workcenter=wc.name, status='running', occurredAt='2026-11-26T09:12:00+00:00')
        self.assertRecordValues(first, [{'date_end': datetime(2026, 11, 26, 9, 5)}])
        self.post_one('machine_status', workcenter=wc.name, status='down', occurredAt='2026-11-26T09:20:00+00:00')
        second = wc.plant_bridge_open_downtime_id
        self.assertTrue(second and second != first)
        self.assertRecordValues(second, [{'date_start': datetime(2026, 11, 26, 9, 20), 'date_end': False}])
        self.assertEqual(wc.working_state, 'blocked')

    def test_automatic_intervals_take_part_in_the_batch_overlap_rules(self):
        """A downtime event later in the same batch sees the intervals machine states opened and
        closed before it: a closed one is an overlap (`state_conflict`)."""
        wc = self.assembly_2
        wc.plant_bridge_auto_downtime = True
        events = [
            self.event('downtime', workcenter=wc.name, reason='Equipment Failure',
                       start='2026-11-27T07:00:00+00:00', end='2026-11-27T07:10:00+00:00'),
            self.event('machine_status', workcenter=wc.name, status='down', occurredAt='2026-11-27T10:00:00+00:00'),
            self.event('machine_status', workcenter=wc.name, status='running', occurredAt='2026-11-27T10:30:00+00:00'),
            self.event('downtime', workcenter=wc.name, reason='Equipment Failure',
                       start='2026-11-27T10:15:00+00:00', end='2026-11-27T10:20:00+00:00'),
        ]
        results = self.post(*events)
        self.assertEqual([r['status'] for r in results], ['applied', 'applied', 'applied', 'rejected'], results)
        self.assertRejected(results[3], 'state_conflict')
