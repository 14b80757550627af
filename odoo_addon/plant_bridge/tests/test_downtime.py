from datetime import datetime

from odoo.tests import freeze_time, tagged

from .common import PlantBridgeCase


@tagged('post_install', '-at_install', 'plant_bridge')
class TestDowntime(PlantBridgeCase):

    def test_downtime_by_workcenter_name(self):
        loss = self.env.ref('mrp.block_reason1')  # Equipment Failure
        result = self.post_one('downtime', workcenter='Assembly 1', reason='Equipment Failure',
                               start='2026-11-20T10:00:00+01:00', end='2026-11-20T10:45:00+01:00',
                               description='Spindle jam')
        productivity = self.assertApplied(result, 'mrp.workcenter.productivity')
        self.assertRecordValues(productivity, [{
            'workcenter_id': self.assembly_1.id, 'loss_id': loss.id, 'loss_type': 'availability',
            'date_start': datetime(2026, 11, 20, 9, 0), 'date_end': datetime(2026, 11, 20, 9, 45),
            'description': 'Spindle jam', 'company_id': self.assembly_1.company_id.id,
        }])
        self.assertGreater(productivity.duration, 0)
        self.assertEqual(self.assembly_1.working_state, 'normal')

    def test_downtime_by_code_and_loss_type(self):
        self.assembly_2.code = 'ASM-2'
        productivity = self.assertApplied(self.post_one(
            'downtime', workcenter='ASM-2', reason='quality',
            start='2026-11-21T08:00:00+00:00', end='2026-11-21T08:10:00+00:00'), 'mrp.workcenter.productivity')
        self.assertRecordValues(productivity, [{'workcenter_id': self.assembly_2.id, 'loss_type': 'quality'}])

    def test_no_overlap(self):
        first = self.event('downtime', workcenter='Assembly 2', reason='Equipment Failure',
                           start='2026-11-22T08:00:00+00:00', end='2026-11-22T09:00:00+00:00')
        inside_batch = self.event('downtime', workcenter='Assembly 2', reason='Setup and Adjustments',
                                  start='2026-11-22T08:30:00+00:00', end='2026-11-22T09:30:00+00:00')
        adjacent = self.event('downtime', workcenter='Assembly 2', reason='Setup and Adjustments',
                              start='2026-11-22T09:00:00+00:00', end='2026-11-22T09:15:00+00:00')
        other_workcenter = dict(inside_batch, id='other-wc', workcenter='Assembly 1')
        results = self.post(first, inside_batch, adjacent, other_workcenter)
        self.assertEqual([r['status'] for r in results], ['applied', 'rejected', 'applied', 'applied'])
        self.assertRejected(results[1], 'state_conflict')
        # against what is already recorded, in a later batch
        later = self.event('downtime', workcenter='Assembly 2', reason='Equipment Failure',
                           start='2026-11-22T07:30:00+00:00', end='2026-11-22T08:01:00+00:00')
        self.assertRejected(self.post(later)[0], 'state_conflict')

    def test_batch_of_downtime(self):
        Productivity = self.env['mrp.workcenter.productivity']
        before = Productivity.search_count([('workcenter_id', '=', self.assembly_1.id)])
        events = [self.event('downtime', workcenter='Assembly 1', reason='Material Availability',
                             start=f'2026-10-{day:02d}T{hour:02d}:00:00+00:00',
                             end=f'2026-10-{day:02d}T{hour:02d}:20:00+00:00')
                  for day in range(1, 11) for hour in range(6, 16)]
        results = self.post(*events)
        self.assertEqual({r['status'] for r in results}, {'applied'})
        self.assertEqual(Productivity.search_count([('workcenter_id', '=', self.assembly_1.id)]), before + 100)
        self.assertEqual(len({r['ref']['id'] for r in results}), 100)

    def test_rejections(self):
        base = {'reason': 'Equipment Failure', 'start': '2026-11-23T08:00:00+00:00',
                'end': '2026-11-23T08:10:00+00:00'}
        self.assertRejected(self.post_one('downtime', workcenter='Nowhere', **base), 'unknown_workcenter')
        self.assertRejected(self.post_one('downtime', workcenter='Assembly 1', **dict(base, reason='Gremlins')),
                            'schema')
        self.assertRejected(self.post_one('downtime', workcenter='Assembly 1',
                                          **dict(base, end='2026-11-23T07:00:00+00:00')), 'schema')
        self.assertRejected(self.post_one('downtime', workcenter='Assembly 1', **dict(base, start='08:00')),
                            'schema')

    def test_batch_durations_equal_odoo_compute(self):
        """The batch duration computation gives what Odoo's per-record compute gives."""
        calendar = self.assembly_1.resource_calendar_id
        self.env['resource.calendar.leaves'].create({
            'name': 'Plant closed', 'calendar_id': calendar.id, 'resource_id': False,
            'date_from': '2026-09-09 10:00:00', 'date_to': '2026-09-09 14:00:00'})
        spans = [
            ('2026-09-07T06:00:00+00:00', '2026-09-07T09:30:00+00:00', 'Equipment Failure'),  # Monday morning
            ('2026-09-07T16:00:00+00:00', '2026-09-08T09:00:00+00:00', 'Equipment Failure'),  # over the night
            ('2026-09-09T08:00:00+00:00', '2026-09-09T16:00:00+00:00', 'Setup and Adjustments'),  # around a leave
            ('2026-09-11T15:00:00+00:00', '2026-09-14T10:00:00+00:00', 'Material Availability'),  # weekend
            ('2026-09-19T10:00:00+00:00', '2026-09-19T11:00:00+00:00', 'Process Defect'),  # Saturday only
            ('2026-09-15T12:10:07+02:00', '2026-09-15T12:40:59+02:00', 'Reduced Yield'),  # seconds, offset
        ]
        results = self.post(*[self.event('downtime', workcenter='Assembly 1', reason=reason, start=start, end=end)
                              for start, end, reason in spans])
        self.assertEqual({r['status'] for r in results}, {'applied'}, results)
        records = self.env['mrp.workcenter.productivity'].browse([r['ref']['id'] for r in results])
        self.assertEqual(len(records), len(spans))
        for record in records:
            expected = record.loss_id._convert_to_duration(
                record.date_start.replace(microsecond=0), record.date_end.replace(microsecond=0), record.workcenter_id)
            self.assertAlmostEqual(record.duration, expected, places=2, msg=record.date_start)
        self.assertTrue(any(r.duration == 0 for r in records), "the Saturday interval is outside working time")
        # a change of dates recomputes them (several records at once: the batch path)
        records[:3].write({'date_end': '2026-09-10 11:00:00'})
        for record in records[:3]:
            expected = record.loss_id._convert_to_duration(record.date_start, record.date_end, record.workcenter_id)
            self.assertAlmostEqual(record.duration, expected, places=2)
        stock = records.with_context(plant_bridge_stock_duration=True)
        before = records.mapped('duration')
        stock._compute_duration()
        self.assertEqual([round(d, 2) for d in stock.mapped('duration')], before)

    def test_only_downtime_losses(self):
        """Productive time and reduced speed are not downtime: Odoo books them from the work
        order's timers, a `downtime` event naming them is refused `bad_loss`."""
        base = {'workcenter': 'Assembly 1', 'start': '2026-11-24T08:00:00+00:00', 'end': '2026-11-24T08:10:00+00:00'}
        for reason in ('Reduced Speed', 'Fully Productive Time', 'performance', 'productive'):
            self.assertRejected(self.post_one('downtime', reason=reason, **base), 'bad_loss')
        self.assertApplied(self.post_one('downtime', reason='availability', **base), 'mrp.workcenter.productivity')

    def open_block(self, workcenter, at, loss='mrp.block_reason0'):
        """A block entered in Odoo (the Block dialog), still open."""
        with freeze_time(at):
            block = self.env['mrp.workcenter.productivity'].create({
                'workcenter_id': workcenter.id, 'loss_id': self.env.ref(loss).id})
            block.button_block()
        return block

    def test_open_block_owned_by_odoo_refuses_the_plant_downtime(self):
        self.site.sor_ids.filtered(lambda row: row.domain == 'machine_states').owner = 'odoo'
        block = self.open_block(self.assembly_2, '2026-11-25 09:00:00')
        result = self.post_one('downtime', workcenter='Assembly 2', reason='Equipment Failure',
                               start='2026-11-25T09:30:00+00:00', end='2026-11-25T09:45:00+00:00')
        self.assertRejected(result, 'state_conflict')
        # both intervals named, so that someone can decide
        self.assertIn('2026-11-25 09:30', result['message'])
        self.assertIn('2026-11-25 09:00', result['message'])
        self.assertRecordValues(block, [{'date_end': False}])

    def test_open_interval_starting_inside_the_plant_downtime(self):
        """The open interval began within the plant's downtime: the plant's interval stands, the
        open one continues after it, and the work center's chatter says so."""
        block = self.open_block(self.assembly_2, '2026-11-25 09:35:00')
        result = self.post_one('downtime', workcenter='Assembly 2', reason='Equipment Failure',
                               start='2026-11-25T09:30:00+00:00', end='2026-11-25T09:45:00+00:00')
        plant = self.assertApplied(result, 'mrp.workcenter.productivity')
        self.assertRecordValues(plant, [{'date_start': datetime(2026, 11, 25, 9, 30),
                                         'date_end': datetime(2026, 11, 25, 9, 45)}])
        self.assertRecordValues(block, [{'date_start': datetime(2026, 11, 25, 9, 45), 'date_end': False}])
        self.assertEqual(self.assembly_2.working_state, 'blocked')
        self.assertIn('Material Availability', self.assembly_2.message_ids[:1].body)
