import pytz

from odoo.tools import plaintext2html

from ..exceptions import EventRejected
from .base import Handler

KINDS = ('corrective', 'preventive')
#: loss types that mean the work center is not being used (Odoo's working_state 'blocked')
BLOCKING_LOSS_TYPES = ('availability', 'quality')


class MaintenanceHandler(Handler):
    """`maintenance`: a `maintenance.request` for a piece of equipment or a work center
    (Community 19 has no mrp_maintenance: the work center <-> equipment link is ours).

    The request is what Odoo's request form makes: `occurredAt` is its request date (in the
    site's time zone; the planned date stays the team's to set), company and team are the site's
    (the equipment's team first, as the form proposes). A work center with several equipment
    takes the equipment of its confirmed Sparkplug binding; without one the event is refused
    `ambiguous_equipment`. While a request of the same kind is open for the same equipment (or
    work center), a repeated alarm counts on it (alarms, last reported, a chatter note) instead
    of opening another one. A corrective request on a work center links the downtime the work
    center is in at `occurredAt`; when it is in none, the request blocks the work center as
    Odoo's Block button does (an 'Equipment Failure' time log left open, running timers
    ended) until the request reaches a done stage.
    """
    event_type = 'maintenance'
    required = ('kind', 'description')

    def object_key(self, event):
        if event.get('workcenter'):
            return ('workcenter', event['workcenter'])
        return ('equipment', event['equipment']) if event.get('equipment') else None

    def apply(self, item):
        event = item.event
        kind = self.get_str(event, 'kind')
        if kind not in KINDS:
            raise EventRejected('schema', f"kind must be one of {', '.join(KINDS)}")
        description = self.get_str(event, 'description')
        occurred = self.get_datetime(event, 'occurredAt')
        workcenter = self.env['mrp.workcenter']
        if name := self.get_str(event, 'equipment', required=False):
            equipment = self._resolve_equipment(item, name)
            workcenter = equipment.plant_bridge_workcenter_id
        elif code := self.get_str(event, 'workcenter', required=False):
            workcenter = self.resolve_workcenter(item, code)
            equipment = self._equipment_of(item, workcenter)
        else:
            raise EventRejected('schema', "maintenance event without 'workcenter' or 'equipment'")
        if workcenter:
            item.links['workcenter_id'] = workcenter.id
        company = item.site.company_id
        Request = self.env['maintenance.request'].with_company(company)
        domain = Request._plant_bridge_open_domain() + [
            ('company_id', '=', company.id), ('maintenance_type', '=', kind),
            ('equipment_id', '=', equipment.id or False)]
        if not equipment:
            domain.append(('plant_bridge_workcenter_id', '=', workcenter.id))
        request = Request.search(domain, order='request_date, id', limit=1)
        if request:
            return self._repeat(request, description, occurred)
        vals = {
            'name': description.splitlines()[0][:80],
            'description': plaintext2html(description),
            'maintenance_type': kind,
            'equipment_id': equipment.id or False,
            'plant_bridge_workcenter_id': workcenter.id or False,
            'company_id': company.id,
            'request_date': self._local_date(item.site, occurred),
            'plant_bridge_alarm_count': 1,
            'plant_bridge_last_seen': occurred,
        }
        # the form computes the team from the equipment (create() would take the default team)
        team = (equipment.maintenance_team_id or item.site.maintenance_team_id
                or self.env['maintenance.team'].search([('company_id', '=', company.id)], limit=1)
                or self.env['maintenance.team'].search([('company_id', '=', False)], limit=1))
        if team:
            vals['maintenance_team_id'] = team.id
        request = Request.create(vals)
        if kind == 'corrective' and workcenter:
            self._link_downtime(request, workcenter, occurred)
        return request

    def _repeat(self, request, description, occurred):
        request.write({
            'plant_bridge_alarm_count': request.plant_bridge_alarm_count + 1,
            'plant_bridge_last_seen': max(occurred, request.plant_bridge_last_seen or occurred),
        })
        request.message_post(body=plaintext2html(description), subtype_xmlid='mail.mt_note')
        return request

    def _link_downtime(self, request, workcenter, occurred):
        """The downtime the work center is in when the problem is reported; none: block it."""
        Productivity = self.env['mrp.workcenter.productivity']
        downtime = Productivity.search([
            ('workcenter_id', '=', workcenter.id), ('loss_type', 'in', BLOCKING_LOSS_TYPES),
            ('date_start', '<=', occurred), '|', ('date_end', '=', False), ('date_end', '>=', occurred),
        ], order='date_start desc, id desc', limit=1)
        if downtime:
            request.plant_bridge_productivity_id = downtime
            return
        block = Productivity.create({
            'workcenter_id': workcenter.id,
            'loss_id': self.env.ref('mrp.block_reason1').id,  # Equipment Failure
            'date_start': occurred,
            'description': request.name,
            'company_id': workcenter.company_id.id or request.company_id.id,
        })
        block.button_block()  # what the Block wizard's button does: running timers end
        request.write({'plant_bridge_productivity_id': block.id, 'plant_bridge_block_own': True})

    def _equipment_of(self, item, workcenter):
        """The work center's equipment; with several, the one its confirmed binding names."""
        equipment = workcenter.plant_bridge_equipment_ids
        if len(equipment) <= 1:
            return equipment
        bound = self.env['plant_bridge.binding'].search([
            ('site_id', '=', item.site.id), ('state', '=', 'confirmed'),
            ('workcenter_id', '=', workcenter.id), ('equipment_id', 'in', equipment.ids),
        ]).equipment_id
        if len(bound) != 1:
            raise EventRejected(
                'ambiguous_equipment',
                f"Work center {workcenter.display_name} has {len(equipment)} equipment "
                f"({', '.join(equipment.mapped('display_name'))}) and "
                f"{'no' if not bound else len(bound)} confirmed binding naming one: name the "
                f"'equipment' in the event or bind the machine's equipment")
        return bound

    @staticmethod
    def _local_date(site, moment):
        return pytz.utc.localize(moment).astimezone(pytz.timezone(site.timezone or 'UTC')).date()

    def _resolve_equipment(self, item, name):
        company = item.site.company_id
        Equipment = self.env['maintenance.equipment']
        domain = [('company_id', 'in', (company.id, False))]
        equipment = (Equipment.search(domain + [('serial_no', '=', name)], limit=1)
                     or Equipment.search(domain + [('name', '=', name)], limit=1))
        if not equipment:
            raise EventRejected('unknown_equipment', f"No equipment with serial number or name '{name}'")
        return equipment
