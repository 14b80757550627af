from datetime import datetime, timedelta

from odoo.tests import freeze_time, tagged

from .differential import EVENTS, MANUAL, DifferentialCase, time_snapshot

DESK = 'FURN_7800'  # Desk Combination, untracked, one work order in the MO form
T0 = datetime(2026, 11, 26, 8, 0)


def iso(moment):
    return moment.isoformat() + '+00:00'


@tagged('post_install', '-at_install', 'plant_bridge')
class TestDifferentialTime(DifferentialCase):
    """Time stories: the work order's Start / Pause / Done buttons pressed at the time things
    happened, against the plant's events of the same story posted later; the time logs, work
    order dates, durations and costs must be equal."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.assembly_1.costs_hour = 45.0

    def timed_orders(self, workcenters):
        manual_mo, event_mo = self.twin_orders(DESK, 3, operation=('Manual Assembly', workcenters))
        (manual_mo | event_mo).workorder_ids.duration_expected = 60.0
        return manual_mo, event_mo

    def press(self, workorder, status, at):
        with freeze_time(at):
            {'started': workorder.button_start, 'paused': workorder.button_pending,
             'finished': workorder.button_finish}[status]()

    def events(self, production, story):
        return [self.event('workorder_status', order=production.name, operation='Manual Assembly',
                           status=status, occurredAt=iso(at)) for status, at in story]

    def test_start_pause_done_posted_two_hours_late(self):
        """Start, Pause, Start, Done: 130 minutes against 60 expected (Odoo books the excess as
        reduced speed), the events posted two hours after the work order ended."""
        workcenters = self.twin_workcenters(self.assembly_1)
        manual_mo, event_mo = self.timed_orders(workcenters)
        story = [('started', T0), ('paused', T0 + timedelta(minutes=40)),
                 ('started', T0 + timedelta(minutes=60)), ('finished', T0 + timedelta(minutes=150))]
        for status, at in story:
            self.press(manual_mo.workorder_ids, status, at)
        with freeze_time(T0 + timedelta(minutes=270)):
            results = self.post(*self.events(event_mo, story))
        self.assertEqual({r['status'] for r in results}, {'applied'}, results)
        manual = time_snapshot(workcenters[0], manual_mo)
        self.assertEqual(manual['orders'][0]['workorders'][0][4], 130.0)
        self.assertIn('performance', [log[1] for log in manual['time_logs']])
        self.assertSameOutcome(manual, time_snapshot(workcenters[1], event_mo))

    def test_replay_after_outage(self):
        """200 work order events: pressed in Odoo as they happen, posted live one by one, and
        replayed two hours late in one batch after an outage - same durations and costs."""
        workcenters = self.twin_workcenters(self.assembly_1) + (
            self.assembly_1.copy({'name': 'L-' + self.assembly_1.name, 'code': False}),)
        manual_mo, replayed_mo = self.timed_orders(workcenters[:2])
        live_mo = self.twin_orders(DESK, 3, operation=('Manual Assembly', workcenters[2]))[0]
        live_mo.workorder_ids.duration_expected = 60.0
        story, at = [], T0
        for cycle in range(99):
            story += [('started', at), ('paused', at + timedelta(minutes=3 + cycle % 7, seconds=cycle))]
            at += timedelta(minutes=15)
        story += [('started', at), ('finished', at + timedelta(minutes=25))]
        self.assertEqual(len(story), 200)
        for (status, moment), event in zip(story, self.events(live_mo, story)):
            self.press(manual_mo.workorder_ids, status, moment)
            with freeze_time(moment + timedelta(seconds=2)):
                self.assertEqual(self.post(event)[0]['status'], 'applied')
        with freeze_time(story[-1][1] + timedelta(hours=2)):
            results = self.post(*self.events(replayed_mo, story))
        self.assertEqual({r['status'] for r in results}, {'applied'})
        manual, live, replayed = (time_snapshot(wc, mo) for wc, mo in zip(
            workcenters, (manual_mo, live_mo, replayed_mo)))
        expected_minutes = sum((3 + c % 7) + c / 60 for c in range(99)) + 25
        self.assertAlmostEqual(manual['orders'][0]['workorders'][0][4], expected_minutes, delta=0.1)
        self.assertGreater(manual['orders'][0]['workorders'][0][7], 0.0)
        self.assertSameOutcome(manual, live)
        self.assertSameOutcome(manual, replayed)

    def test_machine_down_and_up_against_block_and_unblock(self):
        """The machine goes down while a work order runs and comes back 20 minutes later: as a
        person pressing Block (reason: Material Availability) and then Unblock."""
        manual_wc, event_wc = self.twin_workcenters(self.assembly_1)
        event_wc.plant_bridge_auto_downtime = True
        manual_mo, event_mo = self.timed_orders((manual_wc, event_wc))
        material = self.env.ref('mrp.block_reason0')
        self.press(manual_mo.workorder_ids, 'started', T0)
        with freeze_time(T0 + timedelta(minutes=30)):
            self.block(manual_wc, material)
        with freeze_time(T0 + timedelta(minutes=50)):
            manual_wc.unblock()
        with freeze_time(T0 + timedelta(hours=3)):
            results = self.post(
                self.event('workorder_status', order=event_mo.name, operation='Manual Assembly', status='started',
                           occurredAt=iso(T0)),
                self.event('machine_status', workcenter=event_wc.name, status='down', reason=material.name,
                           occurredAt=iso(T0 + timedelta(minutes=30))),
                self.event('machine_status', workcenter=event_wc.name, status='running',
                           occurredAt=iso(T0 + timedelta(minutes=50))))
        self.assertEqual({r['status'] for r in results}, {'applied'}, results)
        manual = time_snapshot(manual_wc, manual_mo)
        self.assertEqual(len(manual['time_logs']), 2)
        self.assertSameOutcome(manual, time_snapshot(event_wc, event_mo))

    def test_plant_downtime_inside_an_open_block(self):
        """The work center was blocked in Odoo (Material Availability) when the plant reports an
        Equipment Failure from 09:30 to 09:45; the plant owns machine states: as a person who
        unblocks and blocks again with the other reason, then back to the first one."""
        manual_wc, event_wc = self.twin_workcenters(self.assembly_1)
        material, failure = self.env.ref('mrp.block_reason0'), self.env.ref('mrp.block_reason1')
        at = T0 + timedelta(hours=1)
        for workcenter in (manual_wc, event_wc):
            with freeze_time(at):
                self.block(workcenter, material)
        for minutes, loss in ((30, failure), (45, material)):
            with freeze_time(at + timedelta(minutes=minutes)):
                manual_wc.unblock()
                self.block(manual_wc, loss)
        with freeze_time(at + timedelta(hours=1)):
            result = self.post_one('downtime', workcenter=event_wc.name, reason=failure.name,
                                   start=iso(at + timedelta(minutes=30)), end=iso(at + timedelta(minutes=45)))
        self.assertApplied(result, 'mrp.workcenter.productivity')
        manual = time_snapshot(manual_wc)
        self.assertEqual(manual['working_state'], 'blocked')
        self.assertEqual(len(manual['time_logs']), 3)
        self.assertSameOutcome(manual, time_snapshot(event_wc))
        self.assertIn('Equipment Failure', event_wc.message_ids[:1].body)

    def test_finish_posted_late_dates_the_stock_moves(self):
        """Mark as Done pressed at 08:00 against the plant's finish of 08:00 posted two hours
        later: same moves, and the moves, their lines and the order are dated 08:00."""
        manual_mo, event_mo = self.twin_orders(DESK, 3)
        with self.story(manual_mo, MANUAL) as manual, freeze_time(T0):
            self.form_produce(manual_mo, quantity=3)
            self.mark_done(manual_mo)
        with self.story(event_mo, EVENTS) as events, freeze_time(T0 + timedelta(hours=2)):
            self.post_story(event_mo, ('production', {'quantity': 3, 'finish': True, 'occurredAt': iso(T0)}))
        self.assertSameOutcome(manual, events)
        for production in (manual_mo, event_mo):
            moves = production.move_raw_ids | production.move_finished_ids
            self.assertEqual(set(moves.mapped('state')), {'done'})
            self.assertEqual({production.date_finished} | set(moves.mapped('date'))
                             | set(moves.move_line_ids.mapped('date')), {T0}, production.name)

    def test_scrap_and_consumption_posted_late_are_dated_when_they_happened(self):
        """A chair consumed at 08:10 and one scrapped at 08:20, typed in the MO form and its Scrap
        button then, against the plant's events of 08:10 and 08:20 posted two hours later: the
        scrap, its move and lines, and the consumed lines carry the time things happened; the
        finish at 09:00 then dates the whole order as Mark as Done does."""
        manual_mo, event_mo = self.twin_orders(DESK, 3)
        consumed, scrapped, finished = (T0 + timedelta(minutes=m) for m in (10, 20, 60))
        with self.story(manual_mo, MANUAL) as manual:
            with freeze_time(consumed):
                self.form_consume(manual_mo, 'FURN_0269', 3)
            with freeze_time(scrapped):
                self.form_scrap(manual_mo, 'FURN_0269', 1)
        with self.story(event_mo, EVENTS) as events, freeze_time(T0 + timedelta(hours=2)):
            self.post_story(event_mo,
                            ('consumption', {'product': 'FURN_0269', 'quantity': 3, 'occurredAt': iso(consumed)}),
                            ('scrap', {'product': 'FURN_0269', 'quantity': 1, 'occurredAt': iso(scrapped)}))
        self.assertSameOutcome(manual, events)

        def dates(production):
            chairs = production.move_raw_ids.filtered(lambda m: m.product_id.default_code == 'FURN_0269')
            scrap = production.scrap_ids
            return {'consumed_lines': set(chairs.move_line_ids.mapped('date')),
                    'scrap': {scrap.date_done} | set(scrap.move_ids.mapped('date'))
                    | set(scrap.move_ids.move_line_ids.mapped('date'))}

        self.assertEqual(dates(manual_mo), {'consumed_lines': {consumed}, 'scrap': {scrapped}})
        self.assertEqual(dates(event_mo), dates(manual_mo))
        with freeze_time(finished):
            self.form_produce(manual_mo, quantity=3)
            self.mark_done(manual_mo)
        with freeze_time(finished + timedelta(hours=2)):
            self.post_story(event_mo, ('production', {'quantity': 3, 'finish': True, 'occurredAt': iso(finished)}))
        for production in (manual_mo, event_mo):
            self.assertEqual(set(production.move_raw_ids.move_line_ids.mapped('date')), {finished}, production.name)
