from ..clock import event_time
from ..exceptions import EventRejected
from .base import Handler

KINDS = ('setup', 'run')
ACTIONS = ('clock_on', 'clock_off')
#: Odoo's own loss for setting a machine up (mrp data: "Setup and Adjustments", an availability
#: loss - in OEE a setup is time the machine is not producing)
SETUP_LOSS = 'mrp.block_reason2'


class LaborHandler(Handler):
    """`labor`: an operator clocks on / off a work order, setting it up or running it.

    The operator (`operator`: a badge or a login, `resolve_operator`) is the Odoo user the time is
    logged under (`mrp.workcenter.productivity.user_id`); several operators may be on one work
    order at once, each clock-off closes only that operator's interval. `start` clocks on,
    `end` clocks off (both: a closed interval); without either, `action` clock_on / clock_off
    happens at `occurredAt`.

    `kind` run is the work order's Start / Pause pressed by that operator (`button_start` /
    `button_pending` as that user, at the event's time): productive time, the excess over the
    expected duration split off as reduced speed as Odoo does. `kind` setup is a time log of
    the work order under Odoo's "Setup and Adjustments" loss (an availability loss: like the
    work center's Block with that reason, it ends the work center's running timers and blocks
    it until the setup ends; the setup time counts in the work order's duration and cost).
    One operator does one thing at a time on a work order: clocking on for a run ends their
    open setup of it, and the other way round, at that moment.
    """
    event_type = 'labor'
    required = ('order', 'operation', 'operator', 'kind')

    def object_key(self, event):
        return ('order', event.get('order'))

    def apply(self, item):
        event = item.event
        kind = self.get_str(event, 'kind')
        if kind not in KINDS:
            raise EventRejected('schema', f"kind must be one of {', '.join(KINDS)}")
        start, end = self._interval(event)
        production = self.resolve_order(item, self.get_str(event, 'order'))
        workorder = self.resolve_workorder(item, production, self.get_str(event, 'operation'))
        user = self.resolve_operator(item, self.get_str(event, 'operator'))
        for moment in (start, end):
            self.check_period(production.company_id, moment)
        workorder = workorder.with_user(user).sudo()
        # flushed at the event's time: what the buttons leave to compute (the work order's
        # duration counts running timers up to now) as at the end of the button's request
        if start:
            with event_time(start):
                self._clock_on(workorder, kind, user, start)
                self.env.flush_all()
        if end:
            with event_time(end):
                self._clock_off(workorder, kind, user, end)
                self.env.flush_all()
        return workorder.with_env(self.env)

    def _interval(self, event):
        start = self.get_datetime(event, 'start', required=False)
        end = self.get_datetime(event, 'end', required=False)
        action = self.get_str(event, 'action', required=False)
        if action is not None and action not in ACTIONS:
            raise EventRejected('schema', f"action must be one of {', '.join(ACTIONS)}")
        if start is None and end is None:
            if action is None:
                raise EventRejected('schema', "a labor event needs start and/or end, or an action (clock_on / clock_off)")
            occurred = self.get_datetime(event, 'occurredAt')
            return (occurred, None) if action == 'clock_on' else (None, occurred)
        if action is not None:
            raise EventRejected('schema', "a labor event has either start / end or an action, not both")
        if start and end and end < start:
            raise EventRejected('schema', f"end {end} is before start {start}")
        return start, end

    @staticmethod
    def _open_log(workorder, user, kind):
        productive = ('productive', 'performance')
        return workorder.time_ids.filtered(lambda t: not t.date_end and t.user_id == user and (
            (t.loss_type in productive) == (kind == 'run')))[:1]

    def _setup_loss(self):
        loss = self.env.ref(SETUP_LOSS, raise_if_not_found=False)
        if not loss:
            raise EventRejected('bad_loss', "Odoo's 'Setup and Adjustments' loss (mrp.block_reason2) was deleted")
        return loss

    def _clock_on(self, workorder, kind, user, moment):
        other = 'setup' if kind == 'run' else 'run'
        if switched := self._open_log(workorder, user, other):
            self.check_running_since(workorder, moment, user)
            if other == 'run':
                workorder.button_pending()
            else:
                switched.date_end = moment
        if kind == 'run':
            workorder.button_start()
        elif not self._open_log(workorder, user, 'setup'):
            # as the work center's Block does (`button_block`): its running timers end first -
            # those running at the setup's start (one started later cannot end before it began)
            workorder.env['mrp.workcenter.productivity'].search([
                ('workcenter_id', '=', workorder.workcenter_id.id), ('workorder_id', '!=', False),
                ('date_end', '=', False), ('date_start', '<=', moment),
                ('loss_type', 'in', ('productive', 'performance'))])._close()
            workorder.env['mrp.workcenter.productivity'].create({
                'workorder_id': workorder.id,
                'workcenter_id': workorder.workcenter_id.id,
                'company_id': workorder.company_id.id,
                'loss_id': self._setup_loss().id,
                'date_start': moment,
                'user_id': user.id,
                'description': f"Setup: {user.name}",
            })

    def _clock_off(self, workorder, kind, user, moment):
        if not self._open_log(workorder, user, kind):
            raise EventRejected('state_conflict', (
                f"{user.name} is not clocked on for {kind} on work order {workorder.name} of "
                f"{workorder.production_id.name}"))
        self.check_running_since(workorder, moment, user)
        if kind == 'run':
            workorder.button_pending()
        else:
            self._open_log(workorder, user, 'setup').date_end = moment
