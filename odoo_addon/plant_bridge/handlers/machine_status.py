import json

from ..clock import event_time
from ..exceptions import EventRejected
from .base import Handler
from .downtime import note_interval

STATUSES = ('running', 'idle', 'down', 'setup', 'offline')
#: a machine reporting one of these is up: nothing blocks its work center any more
UP = ('running', 'idle')


class MachineStatusHandler(Handler):
    """`machine_status`: the live state of a work center (status, since, counters).

    Out-of-order events (older than the current state) are recorded but change nothing.
    With automatic downtime on the work center, `down` blocks it as Odoo's Block does, at the
    event's time: an open downtime interval (the event's `reason`, else the work center's
    automatic downtime reason, else the first availability loss) and the running timers of its
    work orders end (no productive and blocked time at once); the next other status closes the
    interval. An interval someone closed in Odoo meanwhile (Unblock) is left as it is.

    Where the plant owns machine states (the site's system-of-record matrix), a machine reporting
    `running` or `idle` is up: a block still open on its work center (entered with Odoo's Block
    button, or left open by Odoo's demo data) ends at the event's time, as Odoo's Unblock pressed
    then would end it, and the work center's chatter says so. Otherwise the work center stays
    blocked while its machine runs, and an operator's Start is refused. Time logs of a work order
    (an operator's setup) are the operator's to end, not the machine's, and the block of an open
    corrective maintenance request is the repair's. Where Odoo owns machine states the block stays.
    """
    event_type = 'machine_status'
    required = ('workcenter', 'status')

    def object_key(self, event):
        return ('workcenter', event.get('workcenter'))

    def apply(self, item):
        event = item.event
        status = self.get_str(event, 'status')
        if status not in STATUSES:
            raise EventRejected('schema', f"status must be one of {', '.join(STATUSES)}")
        counters = event.get('counters')
        if counters is not None and not isinstance(counters, dict):
            raise EventRejected('schema', "'counters' must be an object")
        workcenter = self.resolve_workcenter(item, self.get_str(event, 'workcenter'))
        reason = self.get_str(event, 'reason', required=False)
        loss = self.resolve_downtime_loss(reason) if reason else None
        occurred = self.get_datetime(event, 'occurredAt')
        self.check_period(workcenter.company_id or item.site.company_id, occurred)
        if workcenter.plant_bridge_status_at and occurred < workcenter.plant_bridge_status_at:
            return workcenter
        vals = {'plant_bridge_status': status, 'plant_bridge_status_at': occurred}
        if status != workcenter.plant_bridge_status:
            vals['plant_bridge_status_since'] = occurred
        if counters is not None:
            vals['plant_bridge_counters'] = json.dumps(counters, sort_keys=True)
        if workcenter.plant_bridge_auto_downtime:
            vals.update(self._auto_downtime_vals(workcenter, status, occurred, loss))
        workcenter.write(vals)
        if status in UP and item.site._sor_owner('machine_states') == 'plant':
            self._end_blocks(item, workcenter, status, occurred)
        return workcenter

    def _end_blocks(self, item, workcenter, status, occurred):
        """Odoo's Unblock at the event's time (it ends every open time log of the work center;
        with the machine up no productive timer can be open beside a block), on the blocks that
        had begun by then."""
        blocks = self.env['mrp.workcenter.productivity'].search([
            ('workcenter_id', '=', workcenter.id), ('date_end', '=', False), ('workorder_id', '=', False),
            ('loss_type', 'not in', ('productive', 'performance')), ('date_start', '<=', occurred)])
        if blocks:
            # a repair in progress keeps its work center blocked until the request is done
            Request = self.env['maintenance.request']
            blocks -= Request.search(Request._plant_bridge_open_domain() + [
                ('plant_bridge_productivity_id', 'in', blocks.ids)]).plant_bridge_productivity_id
        for block in blocks:
            block.date_end = occurred
            note_interval(self.cache, block)
            workcenter.message_post(body=self.env._(
                "The plant reports %(workcenter)s %(status)s at %(at)s UTC: the block '%(loss)s' open since "
                "%(since)s UTC ends then (the plant owns machine states at site %(site)s).",
                workcenter=workcenter.name, status=status, at=occurred, loss=block.loss_id.name,
                since=block.date_start, site=item.site.code))

    def _auto_downtime_vals(self, workcenter, status, occurred, loss):
        vals = {}
        interval = workcenter.plant_bridge_open_downtime_id
        if interval.date_end:
            # closed in Odoo (Unblock) since the machine went down: that was someone's decision
            interval, vals['plant_bridge_open_downtime_id'] = interval.browse(), False
        if status == 'down' and not interval:
            loss = loss or workcenter.plant_bridge_downtime_loss_id or self.env['mrp.workcenter.productivity.loss'].search(
                [('loss_type', '=', 'availability')], limit=1)
            with event_time(occurred):
                interval = self.env['mrp.workcenter.productivity'].create({
                    'workcenter_id': workcenter.id,
                    'company_id': workcenter.company_id.id or self.env.company.id,
                    'loss_id': loss.id,
                    'date_start': occurred,
                    'description': 'Plant Bridge: machine down',
                })
                interval.button_block()
            note_interval(self.cache, interval)
            vals['plant_bridge_open_downtime_id'] = interval.id
        elif status != 'down' and interval:
            interval.date_end = max(occurred, interval.date_start)
            note_interval(self.cache, interval)
            vals['plant_bridge_open_downtime_id'] = False
        return vals
