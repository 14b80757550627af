from odoo import api, models

from ..clock import event_moment


class MrpWorkorder(models.Model):
    _inherit = 'mrp.workorder'

    #: what a release says of a work order (docs/odoo-api.md `fetch_outbound`, `operations`)
    PLANT_BRIDGE_RELEASED_FIELDS = ('name', 'workcenter_id', 'date_start', 'date_finished',
                                    'duration_expected', 'operation_id')

    @api.model_create_multi
    def create(self, vals_list):
        workorders = super().create(vals_list)
        workorders.production_id._plant_bridge_mark_changed()
        return workorders

    def write(self, vals):
        res = super().write(vals)
        if any(f in vals for f in self.PLANT_BRIDGE_RELEASED_FIELDS):
            self.production_id._plant_bridge_mark_changed()
        return res

    def get_working_duration(self):
        """Odoo counts the open timers of a work order up to the transaction's start (`cr.now()`).
        While a plant event applies (`clock.event_time`), up to the event's time instead: with
        several operators on one order, one person's pause or start weighs the others' running
        timers to decide what is reduced speed, and posted hours late it must weigh them as they
        were then, not as if they had run until the posting. Anything else keeps Odoo's figure."""
        moment = event_moment()
        if moment is None:
            return super().get_working_duration()
        self.ensure_one()
        return sum((moment - time.date_start).total_seconds() / 60
                   for time in self.time_ids if not time.date_end)

    def button_start(self, raise_on_invalid_state=False):
        res = super().button_start(raise_on_invalid_state=raise_on_invalid_state)
        if not self.env.context.get('plant_bridge_no_change'):
            # started in Odoo's screens: the plant's finishes waiting for that start apply now
            # (within a posted batch, the batch releases them once its rows are written)
            self.env['plant_bridge.message']._release_waiting_finishes(self.production_id)
        return res

    def unlink(self):
        productions = self.production_id
        res = super().unlink()
        productions.exists()._plant_bridge_mark_changed()
        return res
