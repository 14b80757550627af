"""Read side of the Plant Bridge API: the canonical manufacturing model for the sidecar's GraphQL.

Every function takes a superuser environment and a site already checked against the caller
(`plant_bridge.api` does that), reads only what it returns, and answers with business keys
(order names, product internal references, work center codes or names, lot names), never
database ids. Field lists are explicit so that adding a field to Odoo never leaks it here.
"""
import json
from datetime import datetime

from odoo.exceptions import UserError
from odoo.tools import float_round, html2plaintext

from .posting import utc_iso

MAX_READ = 500
ORDER_STATES = ('draft', 'confirmed', 'progress', 'to_close', 'done', 'cancel')
LOSS_TYPES = ('productive', 'performance', 'quality', 'availability')


# ---------------------------------------------------------------------------- arguments
def check_limit(env, limit, default=50):
    if limit is None:
        return default
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_READ:
        raise UserError(env._("'limit' must be an integer between 1 and %s.", MAX_READ))
    return limit


def check_names(env, names, what='names'):
    if not isinstance(names, list) or not all(isinstance(n, str) and 0 < len(n) <= 200 for n in names):
        raise UserError(env._("'%s' must be a list of non-empty strings.", what))
    if len(names) > MAX_READ:
        raise UserError(env._("At most %(max)s %(what)s per call.", max=MAX_READ, what=what))
    return list(dict.fromkeys(names))


def check_filter(env, value, allowed):
    value = value or {}
    if not isinstance(value, dict):
        raise UserError(env._("'filter' must be an object."))
    if unknown := set(value) - set(allowed):
        raise UserError(env._("Unknown filter field(s): %s.", ', '.join(sorted(unknown))))
    return value


def parse_time(env, value, name):
    if not isinstance(value, str):
        raise UserError(env._("'%s' must be an ISO-8601 date-time.", name))
    try:
        parsed = datetime.fromisoformat(value.replace('Z', '+00:00'))
    except ValueError:
        raise UserError(env._("'%s' must be an ISO-8601 date-time.", name)) from None
    if parsed.tzinfo is not None:
        parsed = (parsed - parsed.utcoffset()).replace(tzinfo=None)
    return parsed


# ---------------------------------------------------------------------------- shapes
def product_vals(product):
    return {'reference': product.default_code or None, 'name': product.name,
            'tracking': product.tracking}


def workcenter_key(workcenter):
    """The business key of a work center: its code, else its exact name (demo data has no codes)."""
    return workcenter.code or workcenter.name


def site_vals(site):
    return {'code': site.code, 'name': site.name, 'timezone': site.timezone,
            'warehouse': site.warehouse_id.code or None}


# ---------------------------------------------------------------------------- orders
def order_domain(env, site, filter_):
    domain = [('company_id', '=', site.company_id.id),
              ('picking_type_id.warehouse_id', '=', site.warehouse_id.id)]
    states = filter_.get('states')
    if states is not None:
        if not isinstance(states, list) or not set(states) <= set(ORDER_STATES):
            raise UserError(env._("'states' must be a list of %s.", ', '.join(ORDER_STATES)))
        domain.append(('state', 'in', states))
    if (product := filter_.get('product')) is not None:
        if not isinstance(product, str):
            raise UserError(env._("'product' must be an internal reference."))
        domain.append(('product_id.default_code', '=', product))
    if (names := filter_.get('names')) is not None:
        # an order by its name or by the key it was released with (kept when Odoo renames it)
        names = check_names(env, names)
        domain += ['|', ('name', 'in', names), ('plant_bridge_order_key', 'in', names)]
    if (workcenter := filter_.get('workcenter')) is not None:
        if not isinstance(workcenter, str):
            raise UserError(env._("'workcenter' must be a work center code or name."))
        domain += ['|', ('workorder_ids.workcenter_id.code', '=', workcenter),
                   ('workorder_ids.workcenter_id.name', '=', workcenter)]
    for key, operator in (('startFrom', '>='), ('startTo', '<')):
        if filter_.get(key) is not None:
            domain.append(('date_start', operator, parse_time(env, filter_[key], key)))
    return domain


def order_header(production, held):
    scrapped = sum(scrap.scrap_qty for scrap in production.scrap_ids
                   if scrap.state == 'done' and scrap.product_id == production.product_id)
    return {
        'name': production.name,
        'key': production.plant_bridge_order_key or production.name,
        'state': production.state,
        'product': product_vals(production.product_id),
        'uom': production.product_uom_id.name,
        'quantity_planned': production.product_qty,
        'quantity_produced': production.qty_produced,
        'quantity_producing': production.qty_producing,
        'quantity_scrapped': scrapped,
        'planned_start': utc_iso(production.date_start),
        'planned_end': utc_iso(production.date_finished),
        'deadline': utc_iso(production.date_deadline),
        'origin': production.origin or None,
        'on_hold': production.id in held,
    }


def held_production_ids(env, productions):
    results = env['plant_bridge.quality.result'].search(
        [('hold_state', '=', 'held'), ('production_id', 'in', productions.ids)])
    return set(results.production_id.ids)


def read_orders(env, site, filter_, limit, after):
    filter_ = check_filter(env, filter_, ('states', 'product', 'names', 'workcenter', 'startFrom', 'startTo'))
    domain = order_domain(env, site, filter_)
    if after is not None:
        if not isinstance(after, str):
            raise UserError(env._("'after' must be the name of the last order of the previous page."))
        domain.append(('name', '<', after))
    productions = env['mrp.production'].search(domain, order='name desc', limit=limit + 1)
    page = productions[:limit]
    held = held_production_ids(env, page)
    return {'orders': [order_header(p, held) for p in page], 'has_more': len(productions) > limit}


def component_vals(move):
    consumed = move.state == 'done' or move.picked
    lines = move.move_line_ids.filtered('lot_id')
    return {
        'product': product_vals(move.product_id),
        'uom': move.product_uom.name,
        'quantity_planned': move.product_uom_qty,
        'quantity_reserved': 0.0 if consumed else move.quantity,
        'quantity_consumed': move.quantity if consumed else 0.0,
        'state': move.state,
        'lots': [{'lot': line.lot_id.name, 'quantity': line.quantity} for line in lines],
    }


def workorder_vals(workorder):
    times = workorder.time_ids
    started = min(times.mapped('date_start')) if times else None
    return {
        'name': workorder.name,
        'workcenter': workcenter_key(workorder.workcenter_id),
        'state': workorder.state,
        'sequence': workorder.operation_id.sequence or workorder.id,
        'planned_start': utc_iso(workorder.date_start),
        'planned_end': utc_iso(workorder.date_finished),
        'started_at': utc_iso(started),
        'finished_at': utc_iso(workorder.date_finished) if workorder.state == 'done' else None,
        'duration_expected': workorder.duration_expected,
        'duration': workorder.duration,
        'quantity_produced': workorder.qty_produced,
    }


def read_order_details(env, site, names):
    productions = env['mrp.production'].search(order_domain(env, site, {'names': names}))
    quality = env['plant_bridge.quality.result'].search(
        [('site_id', '=', site.id), ('production_id', 'in', productions.ids)], order='id')
    by_order = {}
    for result in quality:
        by_order.setdefault(result.production_id.id, []).append(quality_vals(result))
    details = []
    for production in productions:
        finished_lots = production.lot_producing_ids | production.move_finished_ids.filtered(
            lambda m: m.product_id == production.product_id).move_line_ids.lot_id
        details.append({
            'name': production.name,
            'components': [component_vals(m) for m in production.move_raw_ids if m.state != 'cancel'],
            'work_orders': [workorder_vals(w) for w in production.workorder_ids.sorted(
                lambda w: (w.operation_id.sequence, w.id))],
            'finished_lots': sorted(set(finished_lots.mapped('name'))),
            'quality': by_order.get(production.id, []),
        })
    return details


# ---------------------------------------------------------------------------- site scope
def shares_company_stock(env, site):
    """True when no site of the company is on another warehouse: stock and work centers cannot
    tell such sites apart, so they all see the company's."""
    return not env['plant_bridge.site'].with_context(active_test=False).search_count([
        ('company_id', '=', site.company_id.id), ('warehouse_id', '!=', site.warehouse_id.id)], limit=1)


def site_workcenter_ids(env, site):
    """Work centers of the site when its company has plants on other warehouses: those bound to a
    Sparkplug node of a site on its warehouse, and those the warehouse's orders and the bills of
    materials it may produce route through. None: the whole company's (see `shares_company_stock`)."""
    if shares_company_stock(env, site):
        return None
    warehouse = site.warehouse_id
    bound = env['plant_bridge.binding'].search(
        [('site_id.warehouse_id', '=', warehouse.id), ('workcenter_id', '!=', False)]).workcenter_id
    worked = env['mrp.workorder'].search(
        [('production_id.picking_type_id.warehouse_id', '=', warehouse.id)]).workcenter_id
    # a bill of materials without an operation type may be produced in any warehouse
    routed = env['mrp.routing.workcenter'].search([
        ('bom_id.company_id', 'in', (site.company_id.id, False)),
        '|', ('bom_id.picking_type_id', '=', False), ('bom_id.picking_type_id.warehouse_id', '=', warehouse.id)])
    routed = routed.workcenter_id
    return (bound | worked | routed).ids


# ---------------------------------------------------------------------------- work centers
def workcenter_domain(env, site, names=None):
    domain = [('company_id', 'in', (site.company_id.id, False))]
    if (scope := site_workcenter_ids(env, site)) is not None:
        domain.append(('id', 'in', scope))
    if names is not None:
        domain += ['|', ('code', 'in', names), ('name', 'in', names)]
    return domain


def downtime_vals(log):
    return {
        'workcenter': workcenter_key(log.workcenter_id),
        'reason': log.loss_id.name,
        'loss_type': log.loss_type,
        'start': utc_iso(log.date_start),
        'end': utc_iso(log.date_end),
        'duration': log.duration,
        'description': log.description or None,
    }


def read_workcenters(env, site, names):
    workcenters = env['mrp.workcenter'].search(workcenter_domain(env, site, names), order='sequence, id')
    open_logs = env['mrp.workcenter.productivity'].search(
        [('workcenter_id', 'in', workcenters.ids), ('date_end', '=', False),
         ('loss_type', '!=', 'productive')], order='date_start desc')
    current = {}
    for log in open_logs:
        current.setdefault(log.workcenter_id.id, downtime_vals(log))
    result = []
    for workcenter in workcenters:
        try:
            counters = json.loads(workcenter.plant_bridge_counters) if workcenter.plant_bridge_counters else None
        except ValueError:
            counters = None
        result.append({
            'key': workcenter_key(workcenter),
            'name': workcenter.name,
            'code': workcenter.code or None,
            'status': workcenter.plant_bridge_status or None,
            'status_since': utc_iso(workcenter.plant_bridge_status_since),
            'status_at': utc_iso(workcenter.plant_bridge_status_at),
            'counters': counters,
            'working_state': workcenter.working_state,
            'current_downtime': current.get(workcenter.id),
            'equipment': workcenter.plant_bridge_equipment_ids.mapped('name'),
            'oee_target': workcenter.oee_target,
        })
    return result


def read_oee(env, site, names, date_from, date_to):
    """Odoo's OEE figures of each work center over [from, to), computed as `mrp.workcenter`
    computes its own over the last month (`_compute_oee`, `_compute_blocked_time`,
    `_compute_productive_time`, `_compute_performance`) with that period instead:

    - the time logs (`mrp.workcenter.productivity`) that started in the period and are closed,
      by their `duration` (minutes; downtime counted in the work center's working hours) - the
      OEE report (its Date filter is on the start) summed per effectiveness category;
    - `oee` = productive / all those minutes, in percent rounded to 2 digits (0 when nothing
      productive); `productive_time` / `blocked_time` (everything not productive) in hours;
    - `performance` = expected / actual duration of the work orders done that started in the
      period, in whole percent as the work center's Performance field shows it.
    """
    start, end = parse_time(env, date_from, 'from'), parse_time(env, date_to, 'to')
    if end <= start:
        raise UserError(env._("'to' must be after 'from'."))
    workcenters = env['mrp.workcenter'].search(workcenter_domain(env, site, names))
    minutes = {wc.id: dict.fromkeys(LOSS_TYPES, 0.0) for wc in workcenters}
    for workcenter, loss_type, duration in env['mrp.workcenter.productivity']._read_group(
            [('workcenter_id', 'in', workcenters.ids), ('date_start', '>=', start), ('date_start', '<', end),
             ('date_end', '!=', False)], ['workcenter_id', 'loss_type'], ['duration:sum']):
        minutes[workcenter.id][loss_type or 'availability'] += duration
    work_orders = {workcenter.id: (expected, actual) for workcenter, expected, actual in env['mrp.workorder']._read_group(
        [('workcenter_id', 'in', workcenters.ids), ('date_start', '>=', start), ('date_start', '<', end),
         ('state', '=', 'done')], ['workcenter_id'], ['duration_expected:sum', 'duration:sum'])}
    rows = []
    for wc in workcenters:
        by_type = minutes[wc.id]
        productive, total = by_type['productive'], sum(by_type.values())
        expected, actual = work_orders.get(wc.id, (0.0, 0.0))
        rows.append({
            'key': workcenter_key(wc), 'from': utc_iso(start), 'to': utc_iso(end),
            'minutes': {k: round(v, 2) for k, v in by_type.items()},
            'oee': float_round(productive * 100.0 / total, precision_digits=2) if productive else 0.0,
            'productive_time': float_round(productive / 60.0, precision_digits=2),
            'blocked_time': float_round((total - productive) / 60.0, precision_digits=2),
            'performance': int(100 * expected / actual) if actual else 0,
            'work_orders': {'expected': expected, 'actual': actual},
        })
    return rows


# ---------------------------------------------------------------------------- lots
def read_lots(env, site, names):
    domain = [('name', 'in', names), ('company_id', 'in', (site.company_id.id, False))]
    if not shares_company_stock(env, site):
        # lots that moved through the site's warehouse (received, produced, consumed, shipped)
        warehouse = site.warehouse_id.id
        moved = env['stock.move.line'].search([
            ('lot_id.name', 'in', names),
            '|', ('location_id.warehouse_id', '=', warehouse), ('location_dest_id.warehouse_id', '=', warehouse)])
        domain.append(('id', 'in', moved.lot_id.ids))
    lots = env['stock.lot'].search(domain, order='name, id')
    MoveLine = env['stock.move.line']
    done_lines = MoveLine.search([('lot_id', 'in', lots.ids), ('state', '=', 'done')])
    producing = env['mrp.production'].search([('lot_producing_ids', 'in', lots.ids)])
    # a lot is held by a hold naming it, or by a hold on the order that produced it
    held = env['plant_bridge.quality.result'].search(
        [('hold_state', '=', 'held'), '|', ('lot_id', 'in', lots.ids),
         ('production_id.lot_producing_ids', 'in', lots.ids)])._held_lots()
    quality = env['plant_bridge.quality.result'].search(
        [('site_id', '=', site.id), ('lot_id', 'in', lots.ids)], order='id')
    nonconformances = env['plant_bridge.nonconformance'].search(
        [('site_id', '=', site.id), ('lot_id', 'in', lots.ids)], order='id')
    records = env['plant_bridge.record'].search(
        [('site_id', '=', site.id), ('lot_id', 'in', lots.ids)], order='occurred_at, id')
    result = []
    for lot in lots:
        lines = done_lines.filtered(lambda line, lot=lot: line.lot_id == lot)
        produced_by = producing.filtered(lambda p, lot=lot: lot in p.lot_producing_ids) | \
            lines.move_id.production_id
        components = []
        for production in produced_by:
            for line in production.move_raw_ids.move_line_ids.filtered(
                    lambda ln: ln.lot_id and (ln.state == 'done' or ln.picked)):
                components.append({'order': production.name, 'lot': line.lot_id.name,
                                   'product': product_vals(line.product_id), 'quantity': line.quantity})
        result.append({
            'name': lot.name,
            'product': product_vals(lot.product_id),
            'on_hold': lot in held,
            'produced_by': sorted(produced_by.mapped('name')),
            'components': components,
            'used_in': [use for line in lines if (use := lot_use_vals(line))],
            'quality': [quality_vals(q) for q in quality if q.lot_id == lot],
            'records': [record_vals(r) for r in records if r.lot_id == lot],
            'nonconformances': [nonconformance_vals(n) for n in nonconformances if n.lot_id == lot],
        })
    return result


def lot_use_vals(line):
    """Where a done move line took a lot: into an order, out to a customer, or to scrap."""
    move = line.move_id
    if move.raw_material_production_id:
        production = move.raw_material_production_id
        kind, reference = 'production', production.name
        finished = (production.lot_producing_ids | production.move_finished_ids.move_line_ids.lot_id).mapped('name')
    elif move.scrap_id:
        kind, reference, finished = 'scrap', move.scrap_id.name, []
    elif (unbuild := move.consume_unbuild_id or move.unbuild_id) and move.location_dest_id.usage == 'production':
        kind, reference, finished = 'unbuild', unbuild.name, []
    elif line.picking_id and line.picking_id.picking_type_code == 'outgoing':
        kind, reference, finished = 'delivery', line.picking_id.name, []
    else:
        return None
    return {'kind': kind, 'reference': reference, 'quantity': line.quantity,
            'date': utc_iso(line.date), 'lots': sorted(set(finished))}


# ---------------------------------------------------------------------------- quality, maintenance
def quality_vals(result):
    return {
        'id': result.id,
        'test': result.name,
        'result': result.result,
        'value': result.value or None,
        'occurred_at': utc_iso(result.occurred_at),
        'order': result.production_id.name or None,
        'lot': result.lot_id.name or None,
        'product': result.product_id.default_code or None,
        'hold': result.hold,
        'hold_state': result.hold_state,
        'released_at': utc_iso(result.released_date),
    }


def read_quality_results(env, site, filter_, limit, after):
    filter_ = check_filter(env, filter_, ('order', 'lot', 'result', 'holdState'))
    domain = [('site_id', '=', site.id)]
    for key, field in (('order', 'production_id.name'), ('lot', 'lot_id.name'),
                       ('result', 'result'), ('holdState', 'hold_state')):
        if filter_.get(key) is not None:
            if not isinstance(filter_[key], str):
                raise UserError(env._("'%s' must be a string.", key))
            domain.append((field, '=', filter_[key]))
    return paged(env['plant_bridge.quality.result'], domain, limit, after, quality_vals)


def nonconformance_vals(nonconformance):
    """A nonconformance and what was done: `reference` names the scrap, unbuild, rework order or
    return it made (none for use as is)."""
    return {
        'id': nonconformance.id,
        'defect': nonconformance.name,
        'disposition': nonconformance.disposition,
        'quantity': nonconformance.quantity,
        'occurred_at': utc_iso(nonconformance.occurred_at),
        'order': nonconformance.production_id.name or None,
        'lot': nonconformance.lot_id.name or None,
        'product': nonconformance.product_id.default_code or None,
        'approved_by': nonconformance.approved_by_id.name or None,
        'quality_result': nonconformance.quality_result_id.id or None,
        'reference': nonconformance._disposition_record().display_name or None,
    }


def record_vals(record):
    return {
        'id': record.id,
        'kind': record.kind,
        'title': record.name,
        'occurred_at': utc_iso(record.occurred_at),
        'lot': record.lot_id.name or None,
        'product': record.product_id.default_code or None,
        'order': record.production_id.name or None,
        'delivery': record.picking_id.name or None,
        'customer': record.partner_id.ref or record.partner_id.name or None,
        'sha256': record.sha256,
        'uri': record.uri or None,
        'media_type': record.media_type or None,
        'size': record.size or None,
    }


def read_records(env, site, filter_, limit, after):
    """Compliance records of the site, newest first. `shippedTo`: the records for what went to
    that customer (reference or exact name) - on the lots Odoo counts as delivered to them, or on
    their deliveries; `customer`: the records filed for them."""
    filter_ = check_filter(env, filter_, ('lot', 'order', 'delivery', 'kind', 'customer', 'shippedTo'))
    domain = [('site_id', '=', site.id)]
    for key, field in (('lot', 'lot_id.name'), ('order', 'production_id.name'),
                       ('delivery', 'picking_id.name'), ('kind', 'kind')):
        if filter_.get(key) is not None:
            if not isinstance(filter_[key], str):
                raise UserError(env._("'%s' must be a string.", key))
            domain.append((field, '=', filter_[key]))
    for key, field in (('customer', 'partner_id'), ('shippedTo', 'shipped_partner_ids')):
        if (name := filter_.get(key)) is not None:
            if not isinstance(name, str):
                raise UserError(env._("'%s' must be a customer's reference or name.", key))
            partners = env['res.partner'].search(
                [('company_id', 'in', (site.company_id.id, False)), '|', ('ref', '=', name), ('name', '=', name)])
            domain.append((field, 'in', partners.commercial_partner_id.ids))
    return paged(env['plant_bridge.record'], domain, limit, after, record_vals)


def maintenance_vals(request):
    return {
        'id': request.id,
        'name': request.name,
        'kind': request.maintenance_type,
        'stage': request.stage_id.name or None,
        'done': bool(request.stage_id.done),
        'workcenter': workcenter_key(request.plant_bridge_workcenter_id) if request.plant_bridge_workcenter_id
        else None,
        'equipment': request.equipment_id.name or None,
        'requested_at': utc_iso(request.create_date),
        'scheduled_at': utc_iso(request.schedule_date),
        'description': html2plaintext(request.description) if request.description else None,
    }


def read_maintenance_requests(env, site, filter_, limit, after):
    filter_ = check_filter(env, filter_, ('workcenter', 'equipment', 'open'))
    domain = [('company_id', 'in', (site.company_id.id, False))]
    if (scope := site_workcenter_ids(env, site)) is not None:
        domain += ['|', ('plant_bridge_workcenter_id', 'in', scope),
                   ('equipment_id.plant_bridge_workcenter_id', 'in', scope)]
    if (workcenter := filter_.get('workcenter')) is not None:
        domain += ['|', ('plant_bridge_workcenter_id.code', '=', workcenter),
                   ('plant_bridge_workcenter_id.name', '=', workcenter)]
    if (equipment := filter_.get('equipment')) is not None:
        domain.append(('equipment_id.name', '=', equipment))
    if filter_.get('open') is not None:
        domain.append(('stage_id.done', '=', not filter_['open']))
    return paged(env['maintenance.request'], domain, limit, after, maintenance_vals)


def paged(model, domain, limit, after, shape):
    env = model.env
    """Newest first; `after` is the `id` of the last row of the previous page (opaque to clients)."""
    if after is not None:
        if not isinstance(after, int) or isinstance(after, bool):
            raise UserError(env._("'after' must be the id of the last row of the previous page."))
        domain = domain + [('id', '<', after)]
    records = model.search(domain, order='id desc', limit=limit + 1)
    return {'items': [shape(r) for r in records[:limit]], 'has_more': len(records) > limit}
