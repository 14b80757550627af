import math
from datetime import datetime, timezone

from ..exceptions import EventDeferred, EventRejected

#: loss types that are downtime (not running time): what `downtime` events and a machine's
#: `down` may record, and the intervals that must not overlap
DOWNTIME_LOSS_TYPES = ('availability', 'quality')


class EventItem:
    """One event of a batch on its way through the posting loop."""
    __slots__ = ('index', 'event', 'site', 'key', 'error', 'links', 'result', 'vals',
                 'outcome', 'message', 'message_id', 'ref', 'duration', 'same_as')

    def __init__(self, index, event, site):
        self.index = index
        self.event = event
        self.site = site
        self.key = None       # idempotency key (the event's `id`, or a digest when invalid)
        self.error = None     # envelope error found before any handler ran
        self.links = {}       # production_id / workcenter_id / lot_id / product_id for the trace
        self.result = None    # the record the event produced (for `ref`)
        self.vals = None      # prepared create values (batchable handlers)
        self.outcome = None   # (status, error) once processed; None: settled earlier
        self.message = None   # its plant_bridge.message row, when it existed before this batch
        self.message_id = None  # id of its trace row (existing or inserted by this batch)
        self.ref = None       # {'model', 'id', 'name'} of the resulting record, once applied
        self.duration = 0.0   # seconds spent applying it
        self.same_as = None   # the first item with the same key in this batch


class Handler:
    """Base of the event handlers.

    `env` is a superuser environment: the API checked the caller's group and sites before,
    and everything is resolved from validated business keys within the event's site.
    `cache` lives for one batch, so lookups repeated across events cost one query.
    """
    event_type = None
    #: fields that must be present (and not empty) in the event
    required = ()
    #: True when `prepare` + `create_batch` can apply many events with one create
    batchable = False

    def __init__(self, env, cache):
        self.env = env
        self.cache = cache

    # -- to implement -------------------------------------------------------
    def object_key(self, event):
        """The business object whose events must apply in order (or None)."""
        return None

    def apply(self, item):
        """Apply one event; return the record it produced (or affected)."""
        raise NotImplementedError

    def prefetch(self, items):
        """Warm the batch cache for these items (one query per kind of key)."""

    # -- validation helpers -----------------------------------------------------
    def validate(self, item):
        event = item.event
        missing = [name for name in self.required if event.get(name) in (None, '')]
        if missing:
            raise EventRejected('schema', f"{self.event_type} event without {', '.join(missing)}")

    def get_str(self, event, name, required=True):
        value = event.get(name)
        if value in (None, ''):
            if required:
                raise EventRejected('schema', f"missing field '{name}'")
            return None
        if not isinstance(value, str):
            raise EventRejected('schema', f"field '{name}' must be a string")
        return value.strip()

    def get_quantity(self, event, name='quantity', required=True, allow_zero=False):
        value = event.get(name)
        if value is None:
            if required:
                raise EventRejected('schema', f"missing field '{name}'")
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise EventRejected('schema', f"field '{name}' must be a number")
        if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
            raise EventRejected('bad_quantity', f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value}")
        return float(value)

    def get_uom(self, event):
        """The unit the event's quantity is in (`uom`, the name of an active unit as Odoo spells
        it: an archived one is not offered by Odoo's screens either), or None when the event names
        none (its quantity is then in the unit of what it lands on)."""
        name = self.get_str(event, 'uom', required=False)
        if name is None:
            return None

        def search():
            return self.env['uom.uom'].search([('name', '=', name)], limit=1)
        uom = self._cached('uom', name, search)
        if not uom:
            raise EventRejected('bad_uom', f"No active unit of measure named '{name}'")
        return uom

    def in_unit(self, event, quantity, to_uom):
        """`quantity` converted from the event's `uom` into `to_uom` as Odoo converts quantities
        between units (`_compute_quantity`, rounded to the unit's precision, half up); a unit that
        does not measure the same thing (no common reference unit) is refused `bad_uom`."""
        uom = self.get_uom(event)
        if uom is None or uom == to_uom:
            return quantity
        if not uom._has_common_reference(to_uom):
            raise EventRejected('bad_uom', f"{uom.name} cannot be converted to {to_uom.name}")
        return uom._compute_quantity(quantity, to_uom, rounding_method='HALF-UP')

    def get_datetime(self, event, name, required=True):
        """ISO-8601 with an offset or epoch ms -> naive UTC datetime (how Odoo stores datetimes)."""
        value = event.get(name)
        if value in (None, ''):
            if required:
                raise EventRejected('schema', f"missing field '{name}'")
            return None
        return parse_datetime(value, name)

    def check_period(self, company, moment):
        """Refuse an event dated in a locked period (`period_locked`) rather than post it there.

        Odoo 19 has lock dates only with accounting (`account`: the fiscal year and hard lock
        dates); `stock` alone has none. With `stock_account` Odoo refuses a transfer dated in
        such a period (`stock.picking._is_date_in_lock_period`): the same lock dates apply here.
        Without `account` there is nothing to check.
        """
        violations = getattr(company, '_get_lock_date_violations', None)
        if violations is None or not moment:
            return
        locks = violations(moment.date(), fiscalyear=True, sale=False, purchase=False, tax=False, hard=True)
        if locks:
            until = max(lock_date for lock_date, _field in locks)
            raise EventRejected('period_locked', (
                f"{moment:%Y-%m-%d %H:%M} UTC is in a period {company.name} has locked (until {until}); "
                f"post it after the lock date is moved, or correct its date"))

    # -- business key resolution ---------------------------------------------
    def _cached(self, kind, key, compute):
        bucket = self.cache.setdefault(kind, {})
        if key not in bucket:
            bucket[key] = compute()
        return bucket[key]

    def find_order(self, site, name):
        """The order the plant means by `name` (an empty recordset if none): the site's order
        released under that key (its name when released; Odoo may have renamed it -001 since),
        else the order of that name; once that order is done or cancelled, the one carrying on
        with it (its backorder, the order it was merged into). The lookup is cached for the
        batch, not where it leads: a finish earlier in the batch may have closed the order and
        made its backorder."""
        def search():
            Production = self.env['mrp.production']
            domain = [('company_id', '=', site.company_id.id),
                      ('picking_type_id.warehouse_id', '=', site.warehouse_id.id)]
            return (Production.search(domain + [('plant_bridge_order_key', '=', name)], order='id', limit=1)
                    or Production.search(domain + [('name', '=', name)], limit=1))
        production = self._cached('order', (site.id, name), search)
        return production and production._plant_bridge_open_successor()

    def resolve_order(self, item, name, allow_draft=False, allow_done=False):
        site = item.site
        production = self.find_order(site, name)
        if not production:
            raise EventRejected('unknown_order', f"No manufacturing order {name} on site {site.code}")
        item.links['production_id'] = production.id
        label = name if production.name == name else f"{name} ({production.name})"
        if production.state == 'draft' and not allow_draft:
            raise EventDeferred('order_not_ready', f"{label} is not confirmed yet")
        if production.state == 'cancel' or (production.state == 'done' and not allow_done):
            raise EventRejected('state_conflict', f"{label} is {production.state}")
        return production

    def resolve_product(self, item, code):
        company = item.site.company_id

        def search():
            return self.env['product.product'].search([
                ('default_code', '=', code), ('company_id', 'in', (company.id, False)),
            ], limit=1)
        product = self._cached('product', (company.id, code), search)
        if not product:
            raise EventRejected('unknown_product', f"No product with internal reference '{code}'")
        item.links['product_id'] = product.id
        return product

    def resolve_goods(self, item, event, production):
        """The product and lot an event names (`product`, `lot`), the product defaulting to the
        order's finished product: what a quality result or a nonconformance is about."""
        product = production.product_id
        if code := self.get_str(event, 'product', required=False):
            product = self.resolve_product(item, code)
        lot = self.env['stock.lot']
        if lot_name := self.get_str(event, 'lot', required=False):
            if not product:
                raise EventRejected('schema', "'lot' needs 'product' or 'order'")
            lot = self.resolve_lot(item, lot_name, product)
        return product, lot

    def find_workcenter(self, company, code):
        """Work center by code, then by exact name (demo work centers have no code); cached."""
        def search():
            Workcenter = self.env['mrp.workcenter']
            domain = [('company_id', 'in', (company.id, False))]
            return (Workcenter.search(domain + [('code', '=', code)], limit=1)
                    or Workcenter.search(domain + [('name', '=', code)], limit=1))
        return self._cached('workcenter', (company.id, code), search)

    def resolve_workcenter(self, item, code):
        workcenter = self.find_workcenter(item.site.company_id, code)
        if not workcenter:
            raise EventRejected('unknown_workcenter', f"No work center with code or name '{code}'")
        item.links['workcenter_id'] = workcenter.id
        return workcenter

    def resolve_workorder(self, item, production, operation, allow_done=False):
        """The order's work order of that operation name, open (`unknown_operation`,
        `state_conflict` when cancelled, or done unless `allow_done`)."""
        workorder = production.workorder_ids.filtered(lambda wo: wo.name == operation)[:1]
        if not workorder:
            raise EventRejected('unknown_operation', f"{production.name} has no operation '{operation}'")
        item.links['workcenter_id'] = workorder.workcenter_id.id
        if workorder.state == 'cancel' or (workorder.state == 'done' and not allow_done):
            raise EventRejected('state_conflict', f"Work order {operation} of {production.name} is {workorder.state}")
        return workorder

    def check_running_since(self, workorder, moment, user=None):
        """A timer cannot stop before it started: `state_conflict` when one of the work order's
        running timers (of `user` only, when given) started after `moment`."""
        running = workorder.time_ids.filtered(
            lambda t: not t.date_end and t.date_start > moment and (user is None or t.user_id == user))
        if running:
            raise EventRejected('state_conflict', (
                f"Work order {workorder.name} of {workorder.production_id.name} runs since "
                f"{min(running.mapped('date_start'))} UTC: it cannot stop at {moment} UTC"))

    def resolve_operator(self, item, badge):
        """The Odoo user an event's `operator` means: a user of the site's company with that plant
        badge (`res.users.plant_bridge_badge`), else - when Employees (`hr`) is installed - the
        user of the company's employee with that badge ID (`hr.employee.barcode`), else the
        internal user of that login allowed in the company. Anything else, a badge of another
        company included, is refused `unknown_operator`: time is never booked on a guess."""
        company = item.site.company_id

        def search():
            Users = self.env['res.users'].with_context(active_test=True)
            user = Users.search([('plant_bridge_badge', '=', badge), ('company_id', '=', company.id),
                                 ('share', '=', False)], limit=1)
            if not user and 'hr.employee' in self.env:
                user = self.env['hr.employee'].search([
                    ('barcode', '=', badge), ('company_id', '=', company.id), ('user_id', '!=', False),
                ], limit=1).user_id
            if not user:
                user = Users.search([('login', '=', badge), ('company_ids', 'in', company.id),
                                     ('share', '=', False)], limit=1)
            return user
        user = self._cached('operator', (company.id, badge), search)
        if not user:
            raise EventRejected('unknown_operator', (
                f"No user of {company.name} with plant badge, employee badge or login '{badge}'"))
        return user

    def resolve_downtime_loss(self, reason):
        """A loss reason by name (case-insensitive), else the first loss of that loss type.

        Only downtime losses (availability, quality): Odoo books productive time and reduced
        speed (performance) itself from the work orders' timers, so a plant naming them as the
        reason a machine stood still is refused `bad_loss`.
        """
        def search():
            Loss = self.env['mrp.workcenter.productivity.loss']
            return (Loss.search([('name', '=ilike', reason)], limit=1)
                    or Loss.search([('loss_type', '=', reason.lower())], limit=1))
        loss = self._cached('loss', reason, search)
        if not loss:
            raise EventRejected('schema', f"No loss reason or loss type '{reason}'")
        if loss.loss_type not in DOWNTIME_LOSS_TYPES:
            raise EventRejected('bad_loss', (
                f"'{loss.name}' is a {loss.loss_type} loss: Odoo books it from the work orders' timers, "
                f"a downtime reason must be an availability or quality loss"))
        return loss

    def resolve_lot(self, item, name, product, create=False):
        """The lot or serial `name` of `product` in the site's company (created when `create`).

        A lot found is kept in the batch cache: events reporting the same lot (a component lot
        consumed all shift long) look it up once. Only lots that existed before this batch are
        kept - one created here may vanish with the savepoint of a failing event - and a lot not
        found is looked up again (a later event may create it)."""
        company = item.site.company_id
        key = (company.id, name, product.id)
        lots = self.cache.setdefault('lot', {})
        created = self.cache.setdefault('lot_created', set())
        lot = lots.get(key)
        if lot is None:
            lot = self.env['stock.lot'].search([
                ('name', '=', name), ('product_id', '=', product.id), ('company_id', 'in', (company.id, False)),
            ], limit=1)
            if lot and lot.id not in created:
                lots[key] = lot
        if not lot and create:
            lot = self.env['stock.lot'].create({'name': name, 'product_id': product.id, 'company_id': company.id})
            created.add(lot.id)
        if not lot:
            raise EventRejected('unknown_lot', f"No lot/serial '{name}' for product {product.display_name}")
        item.links['lot_id'] = lot.id
        return lot

    def check_quality_hold(self, production=None, lots=None, defer=False):
        """Refuse (`quality_hold`) what a hold on the order or the lots blocks; with `defer`, the
        event waits instead (deferred `quality_hold`, posted again when the hold is lifted)."""
        Result = self.env['plant_bridge.quality.result']
        if Result.search_count(Result._held_domain(production, lots), limit=1):
            if defer:
                raise EventDeferred('quality_hold', "A quality hold blocks this order or lot: the event "
                                                    "waits until a manager releases it", retry_after=300)
            raise EventRejected('quality_hold', "A quality hold blocks this order or lot")


#: the largest epoch milliseconds a date holds (as in JavaScript)
MAX_EPOCH_MS = 8.64e15


def parse_datetime(value, name='occurredAt'):
    """ISO-8601 with an offset, or epoch milliseconds -> naive UTC datetime. Every date-time
    field of a canonical event accepts both forms (occurredAt, start, end...)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value) or abs(value) > MAX_EPOCH_MS:
            raise EventRejected('schema', f"field '{name}' is not a date in epoch milliseconds: {value!r}")
        try:
            moment = datetime.fromtimestamp(value / 1000, timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise EventRejected('schema', f"field '{name}' is out of range: {value!r}") from None
        return moment.replace(tzinfo=None)
    if not isinstance(value, str):
        raise EventRejected('schema', f"field '{name}' must be an ISO-8601 string or epoch milliseconds")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise EventRejected('schema', f"field '{name}' is not ISO-8601: {value!r}") from None
    if moment.tzinfo is None:
        raise EventRejected('schema', f"field '{name}' needs an offset (e.g. +00:00): {value!r}")
    return moment.astimezone(timezone.utc).replace(tzinfo=None)
