from ..exceptions import EventRejected
from .base import Handler

KINDS = ('corrective', 'preventive')


class MaintenanceHandler(Handler):
    """`maintenance`: a `maintenance.request` for a piece of equipment or a work center
    (its linked equipment when it has one; Community 19 has no mrp_maintenance)."""
    event_type = 'maintenance'
    required = ('kind', 'description')

    def object_key(self, event):
        return ('workcenter', event['workcenter']) if event.get('workcenter') else None

    def apply(self, item):
        event = item.event
        kind = self.get_str(event, 'kind')
        if kind not in KINDS:
            raise EventRejected('schema', f"kind must be one of {', '.join(KINDS)}")
        description = self.get_str(event, 'description')
        workcenter = self.env['mrp.workcenter']
        equipment = self.env['maintenance.equipment']
        if name := self.get_str(event, 'equipment', required=False):
            equipment = self._resolve_equipment(item, name)
            workcenter = equipment.plant_bridge_workcenter_id
        elif code := self.get_str(event, 'workcenter', required=False):
            workcenter = self.resolve_workcenter(item, code)
            equipment = workcenter.plant_bridge_equipment_ids[:1]
        else:
            raise EventRejected('schema', "maintenance event without 'workcenter' or 'equipment'")
        if workcenter:
            item.links['workcenter_id'] = workcenter.id
        subject = description.splitlines()[0][:80]
        return self.env['maintenance.request'].create({
            'name': subject,
            'description': description,
            'maintenance_type': kind,
            'equipment_id': equipment.id or False,
            'plant_bridge_workcenter_id': workcenter.id or False,
            'company_id': item.site.company_id.id,
            'schedule_date': self.get_datetime(event, 'occurredAt'),
        })

    def _resolve_equipment(self, item, name):
        company = item.site.company_id
        Equipment = self.env['maintenance.equipment']
        domain = [('company_id', 'in', (company.id, False))]
        equipment = (Equipment.search(domain + [('serial_no', '=', name)], limit=1)
                     or Equipment.search(domain + [('name', '=', name)], limit=1))
        if not equipment:
            raise EventRejected('unknown_equipment', f"No equipment with serial number or name '{name}'")
        return equipment
