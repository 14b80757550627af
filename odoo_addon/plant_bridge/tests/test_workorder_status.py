from odoo.tests import tagged

from .common import PlantBridgeCase


@tagged('post_install', '-at_install', 'plant_bridge')
class TestWorkorderStatus(PlantBridgeCase):

    def test_start_pause_finish(self):
        mo = self.mo_desk
        workorder = mo.workorder_ids
        self.assertEqual(workorder.name, 'Manual Assembly')
        result = self.post_one('workorder_status', order=mo.name, operation='Manual Assembly', status='started')
        self.assertEqual(self.assertApplied(result, 'mrp.workorder'), workorder)
        self.assertRecordValues(workorder, [{'state': 'progress'}])
        self.assertRecordValues(workorder.time_ids, [{'date_end': False, 'user_id': self.connector_user.id}])
        self.assertRecordValues(self.message_of(result), [{'workcenter_id': self.assembly_1.id,
                                                           'production_id': mo.id}])

        self.assertApplied(self.post_one('workorder_status', order=mo.name, operation='Manual Assembly',
                                         status='paused'), 'mrp.workorder')
        self.assertTrue(all(workorder.time_ids.mapped('date_end')))
        self.assertRecordValues(workorder, [{'state': 'progress'}])

        self.assertApplied(self.post_one('workorder_status', order=mo.name, operation='Manual Assembly',
                                         status='finished', quantity=3), 'mrp.workorder')
        self.assertRecordValues(workorder, [{'state': 'done', 'qty_produced': 3.0}])

    def test_rejections(self):
        mo = self.mo_desk
        self.assertRejected(self.post_one('workorder_status', order=mo.name, operation='Polishing', status='started'),
                            'unknown_operation')
        self.assertRejected(self.post_one('workorder_status', order=mo.name, operation='Manual Assembly',
                                          status='dancing'), 'schema')
        self.post_one('workorder_status', order=mo.name, operation='Manual Assembly', status='finished')
        self.assertRejected(self.post_one('workorder_status', order=mo.name, operation='Manual Assembly',
                                          status='started'), 'state_conflict')

    def test_blocked_workcenter_refuses_start(self):
        # an open downtime blocks the work center: Odoo's own button refuses to start
        self.env['mrp.workcenter.productivity'].create({
            'workcenter_id': self.assembly_1.id, 'loss_id': self.env.ref('mrp.block_reason1').id,
            'date_start': self.now()})
        result = self.post_one('workorder_status', order=self.mo_desk.name, operation='Manual Assembly',
                               status='started')
        self.assertRejected(result, 'state_conflict')
        self.assertRecordValues(self.mo_desk.workorder_ids, [{'state': 'ready'}])
