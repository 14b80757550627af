from datetime import datetime, timedelta

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import freeze_time, new_test_user, tagged
from odoo.tools import mute_logger

from .common import PlantBridgeCase
from .differential import DifferentialCase, request_at, time_snapshot

DESK = 'FURN_7800'  # Desk Combination, untracked, one work order in the MO form
T0 = datetime(2026, 11, 26, 8, 0)


def iso(moment):
    return moment.isoformat() + '+00:00'


def operators(env):
    """Two shop-floor people (Manufacturing users) with plant badges."""
    return tuple(new_test_user(env, login=login, groups='mrp.group_mrp_user', name=name,
                               plant_bridge_badge=badge)
                 for login, name, badge in (('pb_ana', 'Ana Operator', 'T-0001'), ('pb_ben', 'Ben Operator', 'T-0002')))


def labor_snapshot(workcenter, production):
    """`time_snapshot` plus who each time log belongs to."""
    snap = time_snapshot(workcenter, [production])
    snap['time_logs_by_user'] = sorted(
        (log.user_id.login, log.loss_id.name, log.date_start.isoformat(sep=' '),
         log.date_end and log.date_end.isoformat(sep=' '), round(log.duration, 2))
        for log in workcenter.env['mrp.workcenter.productivity'].search([('workcenter_id', '=', workcenter.id)]))
    return snap


@tagged('post_install', '-at_install', 'plant_bridge')
class TestLaborDifferential(DifferentialCase):
    """People on work orders: the work order's buttons pressed by each operator (as that user) at
    the time things happened, against the plant's events naming their badges, posted later; the
    time logs per user, loss, dates and duration, the work order's state, durations and cost
    must be equal."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.assembly_1.costs_hour = 45.0
        cls.ana, cls.ben = operators(cls.env)

    def timed_orders(self):
        workcenters = self.twin_workcenters(self.assembly_1)
        manual_mo, event_mo = self.twin_orders(DESK, 3, operation=('Manual Assembly', workcenters))
        (manual_mo | event_mo).workorder_ids.duration_expected = 60.0
        return workcenters, manual_mo, event_mo

    def press(self, workorder, user, button, at):
        with request_at(self.env, at):
            getattr(workorder.with_user(user), button)()
            self.env.flush_all()  # the end of the request: stored figures computed then

    def status(self, production, user, status, at):
        return self.event('workorder_status', order=production.name, operation='Manual Assembly', status=status,
                          operator=user.plant_bridge_badge, occurredAt=iso(at))

    def labor(self, production, user, kind, **fields_):
        return self.event('labor', order=production.name, operation='Manual Assembly', kind=kind,
                          operator=user.plant_bridge_badge, **fields_)

    def assertSameTime(self, workcenters, manual_mo, event_mo):
        manual = labor_snapshot(workcenters[0], manual_mo)
        self.assertSameOutcome(manual, labor_snapshot(workcenters[1], event_mo))
        return manual

    def test_two_operators_overlap_and_pause_their_own_timer(self):
        """Ana starts, Ben joins 10 minutes later, Ana pauses (Ben goes on), Ana comes back,
        Ben pauses, Ana finishes: each pause closes only that person's timer."""
        workcenters, manual_mo, event_mo = self.timed_orders()
        story = [(self.ana, 'started', T0), (self.ben, 'started', T0 + timedelta(minutes=10)),
                 (self.ana, 'paused', T0 + timedelta(minutes=30)), (self.ana, 'started', T0 + timedelta(minutes=45)),
                 (self.ben, 'paused', T0 + timedelta(minutes=50)), (self.ana, 'finished', T0 + timedelta(minutes=80))]
        buttons = {'started': 'button_start', 'paused': 'button_pending', 'finished': 'button_finish'}
        for user, status, at in story:
            self.press(manual_mo.workorder_ids, user, buttons[status], at)
        with freeze_time(T0 + timedelta(hours=3)):
            results = self.post(*[self.status(event_mo, user, status, at) for user, status, at in story])
        self.assertEqual({r['status'] for r in results}, {'applied'}, results)
        manual = self.assertSameTime(workcenters, manual_mo, event_mo)
        self.assertEqual(sorted({log[0] for log in manual['time_logs_by_user']}), ['pb_ana', 'pb_ben'])
        # Ana's pause left Ben's timer running until his own pause at 50 minutes; their time
        # together passed the 60 expected minutes at 35 (Odoo splits the rest off as reduced speed)
        at = [str(T0 + timedelta(minutes=minutes)) for minutes in (0, 10, 30, 35, 45, 50, 80)]
        self.assertEqual(manual['time_logs_by_user'], [
            ('pb_ana', 'Fully Productive Time', at[0], at[2], 30.0),
            ('pb_ana', 'Reduced Speed', at[4], at[6], 35.0),
            ('pb_ben', 'Fully Productive Time', at[1], at[3], 25.0),
            ('pb_ben', 'Reduced Speed', at[3], at[5], 15.0)])
        self.assertEqual(manual['orders'][0]['workorders'][0][1], 'done')

    def test_labor_clock_on_and_off_as_the_buttons(self):
        """The same overlap told as `labor` run intervals (start / end) and clock-ons."""
        workcenters, manual_mo, event_mo = self.timed_orders()
        for user, button, minutes in ((self.ana, 'button_start', 0), (self.ben, 'button_start', 5),
                                      (self.ben, 'button_pending', 35), (self.ana, 'button_pending', 70)):
            self.press(manual_mo.workorder_ids, user, button, T0 + timedelta(minutes=minutes))
        with freeze_time(T0 + timedelta(hours=2)):
            results = self.post(
                self.labor(event_mo, self.ana, 'run', action='clock_on', occurredAt=iso(T0)),
                self.labor(event_mo, self.ben, 'run', start=iso(T0 + timedelta(minutes=5)),
                           end=iso(T0 + timedelta(minutes=35))),
                self.labor(event_mo, self.ana, 'run', end=iso(T0 + timedelta(minutes=70))))
        self.assertEqual({r['status'] for r in results}, {'applied'}, results)
        manual = self.assertSameTime(workcenters, manual_mo, event_mo)
        # together they passed the 60 expected minutes at 30: the rest of both is reduced speed
        at = [str(T0 + timedelta(minutes=minutes)) for minutes in (0, 5, 30, 35, 70)]
        self.assertEqual(manual['time_logs_by_user'], [
            ('pb_ana', 'Fully Productive Time', at[0], at[2], 30.0),
            ('pb_ana', 'Reduced Speed', at[2], at[4], 40.0),
            ('pb_ben', 'Fully Productive Time', at[1], at[2], 25.0),
            ('pb_ben', 'Reduced Speed', at[2], at[3], 5.0)])

    def test_setup_then_run(self):
        """Ana sets the machine up for 15 minutes (Odoo's "Setup and Adjustments", on the work
        order's time tracking), ends the setup and starts the run, Ben joins, Ana finishes."""
        workcenters, manual_mo, event_mo = self.timed_orders()
        setup_loss = self.env.ref('mrp.block_reason2')
        manual_wo = manual_mo.workorder_ids
        with freeze_time(T0):
            self.env['mrp.workcenter.productivity'].with_user(self.ana).create({
                'workorder_id': manual_wo.id, 'workcenter_id': manual_wo.workcenter_id.id,
                'loss_id': setup_loss.id, 'date_start': T0})
        self.assertEqual(workcenters[0].working_state, 'blocked')
        with freeze_time(T0 + timedelta(minutes=15)):
            workcenters[0].with_user(self.ana).unblock()
        self.press(manual_wo, self.ana, 'button_start', T0 + timedelta(minutes=15))
        self.press(manual_wo, self.ben, 'button_start', T0 + timedelta(minutes=20))
        self.press(manual_wo, self.ana, 'button_finish', T0 + timedelta(minutes=65))
        with freeze_time(T0 + timedelta(hours=2)):
            results = self.post(
                self.labor(event_mo, self.ana, 'setup', start=iso(T0)),
                self.labor(event_mo, self.ana, 'run', start=iso(T0 + timedelta(minutes=15))),
                self.labor(event_mo, self.ben, 'run', action='clock_on', occurredAt=iso(T0 + timedelta(minutes=20))),
                self.status(event_mo, self.ana, 'finished', T0 + timedelta(minutes=65)))
        self.assertEqual({r['status'] for r in results}, {'applied'}, results)
        manual = self.assertSameTime(workcenters, manual_mo, event_mo)
        self.assertIn(('pb_ana', setup_loss.name, str(T0), str(T0 + timedelta(minutes=15)), 15.0),
                      manual['time_logs_by_user'])
        self.assertEqual(manual['orders'][0]['workorders'][0][1], 'done')


    def test_a_running_machine_ends_a_block_left_open_in_odoo(self):
        """A block entered in Odoo (as Odoo's MRP demo data leaves one open on Drill 1) while the
        plant reports the machine running: the plant owns machine states, so the block ends when
        the machine reports running, as someone pressing Unblock then would end it; the operator
        who then starts the work order is not refused "Please unblock the work center"."""
        workcenters, manual_mo, event_mo = self.timed_orders()
        failure = self.env.ref('mrp.block_reason0')
        for workcenter in workcenters:
            with request_at(self.env, T0):
                self.block(workcenter, failure)
        manual_wo = manual_mo.workorder_ids
        with request_at(self.env, T0 + timedelta(minutes=20)):
            workcenters[0].unblock()
        self.press(manual_wo, self.ana, 'button_start', T0 + timedelta(minutes=25))
        self.press(manual_wo, self.ben, 'button_start', T0 + timedelta(minutes=30))
        self.press(manual_wo, self.ana, 'button_finish', T0 + timedelta(minutes=85))
        with freeze_time(T0 + timedelta(hours=3)):
            results = self.post(
                self.event('machine_status', workcenter=workcenters[1].name, status='running',
                           occurredAt=iso(T0 + timedelta(minutes=20))),
                self.labor(event_mo, self.ana, 'run', start=iso(T0 + timedelta(minutes=25))),
                self.labor(event_mo, self.ben, 'run', action='clock_on', occurredAt=iso(T0 + timedelta(minutes=30))),
                self.status(event_mo, self.ana, 'finished', T0 + timedelta(minutes=85)))
        self.assertEqual([r['status'] for r in results], ['applied'] * 4, results)
        manual = self.assertSameTime(workcenters, manual_mo, event_mo)
        self.assertIn((failure.name, 'availability', str(T0), str(T0 + timedelta(minutes=20)), 20.0, False),
                      manual['time_logs'])
        self.assertIn('the plant owns machine states', workcenters[1].message_ids[:1].body)

    def test_a_setup_then_the_run_at_the_same_instant(self):
        """What the simulated plant sends: a setup told as one closed interval, then the run from
        the setup's end, the second operator joining a moment later."""
        workcenters, manual_mo, event_mo = self.timed_orders()
        setup_loss = self.env.ref('mrp.block_reason2')
        manual_wo = manual_mo.workorder_ids
        with request_at(self.env, T0):
            self.env['mrp.workcenter.productivity'].with_user(self.ana).create({
                'workorder_id': manual_wo.id, 'workcenter_id': manual_wo.workcenter_id.id,
                'loss_id': setup_loss.id, 'date_start': T0})
        with request_at(self.env, T0 + timedelta(minutes=15)):
            workcenters[0].with_user(self.ana).unblock()
        self.press(manual_wo, self.ana, 'button_start', T0 + timedelta(minutes=15))
        self.press(manual_wo, self.ben, 'button_start', T0 + timedelta(minutes=16))
        with freeze_time(T0 + timedelta(hours=2)):
            results = self.post(
                self.labor(event_mo, self.ana, 'setup', start=iso(T0), end=iso(T0 + timedelta(minutes=15)),
                           occurredAt=iso(T0 + timedelta(minutes=16))),
                self.labor(event_mo, self.ana, 'run', start=iso(T0 + timedelta(minutes=15)),
                           occurredAt=iso(T0 + timedelta(minutes=16))),
                self.labor(event_mo, self.ben, 'run', action='clock_on', occurredAt=iso(T0 + timedelta(minutes=16))))
        self.assertEqual([r['status'] for r in results], ['applied'] * 3, results)
        self.assertSameTime(workcenters, manual_mo, event_mo)


@tagged('post_install', '-at_install', 'plant_bridge')
class TestLabor(PlantBridgeCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ana, cls.ben = operators(cls.env)
        cls.workorder = cls.mo_desk.workorder_ids

    def status(self, status, **fields_):
        return self.post_one('workorder_status', order=self.mo_desk.name, operation='Manual Assembly',
                             status=status, **fields_)

    def test_operator_by_badge_and_by_login(self):
        self.assertApplied(self.status('started', operator='T-0001'), 'mrp.workorder')
        self.assertApplied(self.post_one('labor', order=self.mo_desk.name, operation='Manual Assembly',
                                         operator='pb_ben', kind='run', action='clock_on'), 'mrp.workorder')
        self.assertRecordValues(self.workorder.time_ids.sorted('id'), [
            {'user_id': self.ana.id, 'date_end': False}, {'user_id': self.ben.id, 'date_end': False}])

    def test_unknown_badge_is_refused(self):
        self.assertRejected(self.status('started', operator='B-9999'), 'unknown_operator')
        self.assertRejected(self.post_one('labor', order=self.mo_desk.name, operation='Manual Assembly',
                                          operator='nobody', kind='setup', action='clock_on'), 'unknown_operator')
        self.assertFalse(self.workorder.time_ids)

    def test_badge_of_another_company_is_refused(self):
        other = self.env['res.company'].create({'name': 'Other Plant Co'})
        new_test_user(self.env, login='pb_other', groups='mrp.group_mrp_user', company_id=other.id,
                      company_ids=[Command.set(other.ids)], plant_bridge_badge='B-7777')
        self.assertRejected(self.status('started', operator='B-7777'), 'unknown_operator')
        self.assertRejected(self.status('started', operator='pb_other'), 'unknown_operator')

    def test_a_badge_is_unique_per_company(self):
        with self.assertRaises(Exception), mute_logger('odoo.sql_db'), self.env.cr.savepoint():
            new_test_user(self.env, login='pb_copy', plant_bridge_badge='T-0001')

    def test_plant_bridge_managers_keep_the_badges(self):
        manager = new_test_user(self.env, login='pb_badge_manager', groups='base.group_user,plant_bridge.group_manager')
        self.ben.with_user(manager).write({'plant_bridge_badge': 'B-0042'})
        self.assertEqual(self.ben.plant_bridge_badge, 'B-0042')
        with self.assertRaises(AccessError):
            self.ben.with_user(manager).write({'login': 'pb_ben_renamed'})
        user = new_test_user(self.env, login='pb_badge_user', groups='base.group_user,plant_bridge.group_user')
        with self.assertRaises(AccessError):
            self.ben.with_user(user).write({'plant_bridge_badge': 'B-0043'})

    def test_finish_before_start_waits_for_the_start(self):
        """The finish arrives before the start: it waits (deferred), and applies as soon as the
        start is posted - at its own time, after the start."""
        finish = self.status('finished', quantity=3, operator='T-0001', occurredAt='2026-11-26T09:00:00+00:00')
        self.assertEqual((finish['status'], finish['code']), ('deferred', 'workorder_not_started'))
        self.assertRecordValues(self.workorder, [{'state': 'ready'}])
        self.assertApplied(self.status('started', operator='T-0001', occurredAt='2026-11-26T08:00:00+00:00'),
                           'mrp.workorder')
        self.assertRecordValues(self.message_of(finish), [{'state': 'applied', 'error_code': False}])
        self.assertRecordValues(self.workorder, [{'state': 'done', 'qty_produced': 3.0,
                                                  'date_finished': datetime(2026, 11, 26, 9, 0)}])
        self.assertRecordValues(self.workorder.time_ids, [{'user_id': self.ana.id, 'duration': 60.0}])

    def test_finish_before_a_start_in_odoo(self):
        finish = self.status('finished')
        self.assertEqual(finish['code'], 'workorder_not_started')
        with freeze_time('2026-11-26 07:30:00'):
            self.workorder.with_user(self.ana).button_start()
        self.assertRecordValues(self.message_of(finish), [{'state': 'applied'}])
        self.assertRecordValues(self.workorder, [{'state': 'done'}])

    def test_finish_on_a_blocked_workcenter_waits_for_the_unblock(self):
        self.assertApplied(self.status('started', occurredAt='2026-11-26T07:00:00+00:00'), 'mrp.workorder')
        with freeze_time('2026-11-26 07:30:00'):
            self.env['mrp.workcenter.productivity'].create({
                'workcenter_id': self.assembly_1.id, 'loss_id': self.env.ref('mrp.block_reason1').id,
                'date_start': self.now()}).button_block()
        finish = self.status('finished')
        self.assertEqual((finish['status'], finish['code']), ('deferred', 'workcenter_blocked'))
        self.assertRecordValues(self.workorder, [{'state': 'progress'}])
        with freeze_time('2026-11-26 07:45:00'):
            self.assembly_1.unblock()
        self.assertRecordValues(self.message_of(finish), [{'state': 'applied'}])
        self.assertRecordValues(self.workorder, [{'state': 'done'}])

    def test_finish_of_a_work_order_its_order_closed_changes_nothing(self):
        """The order is marked done before the operator's finish arrives (Mark as Done ends its
        work orders): Done on a done work order changes nothing in Odoo, so the finish applies
        and changes nothing; one counting other units, or a start, is still refused."""
        self.assertApplied(self.status('started', operator='T-0001', occurredAt='2026-11-26T08:00:00+00:00'),
                           'mrp.workorder')
        self.assertApplied(self.post_one('production', order=self.mo_desk.name, quantity=3, finish=True,
                                         occurredAt='2026-11-26T09:00:00+00:00'), 'mrp.production')
        self.assertRecordValues(self.workorder, [{'state': 'done', 'qty_produced': 3.0}])
        fields_ = ['state', 'date_finished', 'qty_produced', 'duration']
        before = self.workorder.read(fields_), self.workorder.time_ids.read(['date_start', 'date_end', 'user_id'])
        self.assertApplied(self.status('finished', operator='T-0001', occurredAt='2026-11-26T09:05:00+00:00'),
                           'mrp.workorder')
        self.assertApplied(self.status('finished', quantity=3, occurredAt='2026-11-26T09:06:00+00:00'),
                           'mrp.workorder')
        self.assertEqual((self.workorder.read(fields_),
                          self.workorder.time_ids.read(['date_start', 'date_end', 'user_id'])), before)
        # the same as Odoo's own Done button on the done work order: nothing
        self.workorder.with_user(self.env.ref('base.user_admin')).button_finish()
        self.assertEqual((self.workorder.read(fields_),
                          self.workorder.time_ids.read(['date_start', 'date_end', 'user_id'])), before)
        self.assertRejected(self.status('finished', quantity=2, occurredAt='2026-11-26T09:07:00+00:00'),
                            'state_conflict')
        self.assertRejected(self.status('started', operator='T-0002', occurredAt='2026-11-26T09:08:00+00:00'),
                            'state_conflict')

    def test_outside_plant_events_running_timers_count_to_the_transaction_time(self):
        """Only a plant event counts a work order's running timers up to its own time; anything
        else (a screen, a report) counts them up to the transaction's time, as Odoo does."""
        self.assertApplied(self.status('started', operator='T-0001', occurredAt='2026-11-26T08:00:00+00:00'),
                           'mrp.workorder')
        started = datetime(2026, 11, 26, 8, 0)
        with freeze_time('2026-11-26 09:00:00'):
            self.assertAlmostEqual(self.workorder.get_working_duration(),
                                   (self.env.cr.now() - started).total_seconds() / 60, delta=0.1)

    def test_labor_refusals(self):
        def labor(**fields_):
            return self.post_one('labor', **dict(
                {'order': self.mo_desk.name, 'operation': 'Manual Assembly', 'operator': 'T-0001'}, **fields_))
        self.assertRejected(labor(kind='lunch', action='clock_on'), 'schema')
        self.assertRejected(labor(kind='run'), 'schema')
        self.assertRejected(labor(kind='run', start='2026-11-26T09:00:00+00:00', end='2026-11-26T08:00:00+00:00'),
                            'schema')
        # clocking off what was never clocked on
        self.assertRejected(labor(kind='setup', action='clock_off'), 'state_conflict')
        self.assertRejected(labor(kind='run', operation='Polishing', action='clock_on'), 'unknown_operation')
