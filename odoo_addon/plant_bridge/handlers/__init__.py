"""Canonical event handlers, one module per event type (see ARCHITECTURE.md, canonical events v1).

A handler validates one event, resolves its business keys (never database ids) and applies
the standard Odoo flow. It raises `EventRejected` / `EventDeferred` for per-event outcomes.
"""
from . import base
from . import production
from . import consumption
from . import scrap
from . import downtime
from . import workorder_status
from . import labor
from . import machine_status
from . import quality
from . import nonconformance
from . import maintenance
from . import transfer
from . import record

HANDLERS = {
    handler.event_type: handler
    for handler in (
        production.ProductionHandler,
        consumption.ConsumptionHandler,
        scrap.ScrapHandler,
        downtime.DowntimeHandler,
        workorder_status.WorkorderStatusHandler,
        labor.LaborHandler,
        machine_status.MachineStatusHandler,
        quality.QualityHandler,
        nonconformance.NonconformanceHandler,
        maintenance.MaintenanceHandler,
        transfer.TransferHandler,
        record.RecordHandler,
    )
}
