import base64
import binascii
import hashlib
import re

from ..exceptions import EventRejected
from ..models.plant_bridge_record import RECORD_KINDS
from .base import Handler

#: inline content kept in Odoo at most (decoded); larger documents stay where the plant keeps them
MAX_CONTENT_BYTES = 65536
URI_RE = re.compile(r'^(https?|sftp|ftps?|s3|smb|file)://\S+$')
SHA256_RE = re.compile(r'^[0-9a-fA-F]{64}$')
MEDIA_TYPE_RE = re.compile(r'^[a-z]+/[A-Za-z0-9.+_-]+$')


class RecordHandler(Handler):
    """`record`: a compliance record (`plant_bridge.record`) for a lot, an order and / or a
    delivery, and the customer it is for.

    Every key named must resolve (`unknown_lot`, `unknown_order`, `unknown_picking`,
    `unknown_customer`): a certificate filed against nothing proves nothing. A delivery is a
    transfer of the site's warehouse; its customer is the record's when the plant names none.
    Inline content is checked against the SHA-256 the plant sent (`bad_digest`) and kept at most
    64 KiB (`too_large`); a URI is kept as sent, its document is not fetched.
    """
    event_type = 'record'
    required = ('kind', 'sha256')

    def object_key(self, event):
        for kind in ('order', 'lot', 'delivery'):
            if event.get(kind):
                return (kind, event[kind])
        return None

    def apply(self, item):
        event = item.event
        kind = self.get_str(event, 'kind')
        if kind not in dict(RECORD_KINDS):
            raise EventRejected('schema', f"kind must be one of {', '.join(dict(RECORD_KINDS))}")
        digest = self.get_str(event, 'sha256')
        if not SHA256_RE.match(digest):
            raise EventRejected('schema', "sha256 must be 64 hexadecimal digits")
        digest = digest.lower()
        uri = self.get_str(event, 'uri', required=False)
        raw = event.get('content')
        if (uri is None) == (raw is None):
            raise EventRejected('schema', "a record has either 'uri' or 'content'")
        if uri is not None and not URI_RE.match(uri):
            raise EventRejected('schema', "uri must be an http(s), sftp, ftp(s), s3, smb or file URL")
        media_type = self.get_str(event, 'mediaType', required=False)
        if media_type is not None and not MEDIA_TYPE_RE.match(media_type):
            raise EventRejected('schema', "mediaType must be a media type such as application/pdf")
        content = self._content(event, raw, digest) if raw is not None else None

        production = self.env['mrp.production']
        if order := self.get_str(event, 'order', required=False):
            # a batch record is often filed once the order is done
            production = self.resolve_order(item, order, allow_draft=True, allow_done=True)
        product = production.product_id
        if code := self.get_str(event, 'product', required=False):
            product = self.resolve_product(item, code)
        lot = self.env['stock.lot']
        if lot_name := self.get_str(event, 'lot', required=False):
            lot = self.resolve_lot(item, lot_name, product) if product else self._lot_by_name(item, lot_name)
            product = lot.product_id
        picking = self.env['stock.picking']
        if delivery := self.get_str(event, 'delivery', required=False):
            picking = self._delivery(item, delivery)
        if not (production or lot or picking):
            raise EventRejected('schema', "a record is for a 'lot', an 'order' or a 'delivery'")
        partner = picking.partner_id.commercial_partner_id
        if customer := self.get_str(event, 'customer', required=False):
            partner = self._customer(item, customer)
        subject = lot.name or production.name or picking.name
        title = self.get_str(event, 'title', required=False) or f"{dict(RECORD_KINDS)[kind]} {subject}"
        return self.env['plant_bridge.record'].create({
            'name': title[:200],
            'kind': kind,
            'site_id': item.site.id,
            'occurred_at': self.get_datetime(event, 'occurredAt'),
            'lot_id': lot.id or False,
            'product_id': product.id or False,
            'production_id': production.id or False,
            'picking_id': picking.id or False,
            'partner_id': partner.id or False,
            'sha256': digest,
            'uri': uri or False,
            'content': base64.b64encode(content) if content is not None else False,
            'content_name': f"{title[:100]}" if content is not None else False,
            'media_type': media_type or False,
            'size': len(content) if content is not None else 0,
        })

    def _content(self, event, raw, digest):
        if not isinstance(raw, str):
            raise EventRejected('schema', "content must be a string")
        encoding = event.get('encoding') or 'text'
        if encoding == 'text':
            content = raw.encode('utf-8', 'surrogatepass')
        elif encoding == 'base64':
            try:
                content = base64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError):
                raise EventRejected('schema', "content is not valid base64") from None
        else:
            raise EventRejected('schema', "encoding must be 'text' or 'base64'")
        if len(content) > MAX_CONTENT_BYTES:
            raise EventRejected('too_large', (
                f"inline content is {len(content)} bytes, at most {MAX_CONTENT_BYTES}: "
                f"keep the document elsewhere and send its uri"))
        if hashlib.sha256(content).hexdigest() != digest:
            raise EventRejected('bad_digest', "the content's SHA-256 is not the one sent: the document changed on the way")
        return content

    def _lot_by_name(self, item, name):
        """A lot named without its product: the only lot of that name in the company."""
        company = item.site.company_id
        lots = self.env['stock.lot'].search([('name', '=', name), ('company_id', 'in', (company.id, False))], limit=2)
        if not lots:
            raise EventRejected('unknown_lot', f"No lot/serial '{name}'")
        if len(lots) > 1:
            raise EventRejected('schema', f"Several products have a lot '{name}': name the product")
        item.links['lot_id'] = lots.id
        item.links['product_id'] = lots.product_id.id
        return lots

    def _delivery(self, item, name):
        picking = self.env['stock.picking'].search([
            ('name', '=', name), ('company_id', '=', item.site.company_id.id),
            ('picking_type_id.warehouse_id', '=', item.site.warehouse_id.id)], limit=1)
        if not picking:
            raise EventRejected('unknown_picking', f"No transfer {name} in warehouse {item.site.warehouse_id.code}")
        return picking

    def _customer(self, item, key):
        """A customer by its reference, else by exact name (its company, not one of its contacts)."""
        company = item.site.company_id

        def search():
            Partner = self.env['res.partner']
            domain = [('company_id', 'in', (company.id, False))]
            return (Partner.search(domain + [('ref', '=', key)], limit=1)
                    or Partner.search(domain + [('name', '=', key)], limit=1))
        partner = self._cached('customer', (company.id, key), search)
        if not partner:
            raise EventRejected('unknown_customer', f"No customer with reference or name '{key}'")
        return partner.commercial_partner_id
