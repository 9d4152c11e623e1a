#!/usr/bin/env python3
"""Seed a Tryton 8.2 database for Plumb's integration tests (stdlib only).

The JSON-RPC client below is adapted from shared/erp/tryton_rpc_demo.py (the
team's reference Tryton client); this file is self-contained and reads
nothing under ../shared at run time.

Creates, idempotently (a second run finds and reuses everything):
  * currency USD, a company "Plumb Test Co" using it, admin attached to it;
  * the accounting needed to invoice and credit: a chart of accounts (the
    account module's "Universal Chart of Accounts" through the
    account.create_chart wizard), default receivable/payable accounts, a
    fiscal year for the current year with monthly periods and invoice /
    credit-note sequences, a product category carrying the revenue/expense
    accounts, and the payment term "Upon Receipt" (shipped by
    account_invoice) set on the customer;
  * a customer party "Plumb Customer" with an address;
  * two warehouses, codes WH-EAST and WH-WEST, with input, output, storage
    and lost-and-found locations created and set explicitly;
  * a carrier "Plumb Parcel" (carrier module) usable on shipments;
  * N products (--skus N, default 5): SKU = product.product.suffix_code
    "SKU-0001".., list price 10.00 + i, stock set per warehouse through
    stock.inventory (only lines whose on-hand differs from the target);
  * a service product "GIFT-CARD" that gift cards sold are booked on;
  * taxes NY State Tax 4 %, NYC Sales Tax 4.5 %, VAT 20 %, and the company's
    tax rounding per line (as Shopify rounds).
Prints a JSON summary on the last stdout line; progress goes to stderr.

Usage:
  seed.py [--url URL] [--db DB] [--user USER] [--password PW] [--skus N]
          [--qty-east Q] [--qty-west Q]
  seed.py --json "$(tests/tryton/provision.sh start | tail -n1)"
Env: TRYTON_URL, TRYTON_DB, TRYTON_USER, TRYTON_PASSWORD (defaults
http://127.0.0.1:8011, plumb, admin, admin-ci-pass).
"""
import argparse
import base64
import datetime as dt
import gzip
import json
import os
import sys
import time
import urllib.error
import urllib.request
from decimal import Decimal

BATCH = 50   # SQLite backend: > ~85 products per create/write -> HTTP 503
INVENTORY_LINES = 250   # lines per stock.inventory (see ensure_stock)


# ---------------------------------------------------------------- encoding
def _default(o):
    if isinstance(o, Decimal):
        return {'__class__': 'Decimal', 'decimal': str(o)}
    if isinstance(o, dt.datetime):
        return {'__class__': 'datetime', 'year': o.year, 'month': o.month,
            'day': o.day, 'hour': o.hour, 'minute': o.minute,
            'second': o.second, 'microsecond': o.microsecond}
    if isinstance(o, dt.date):
        return {'__class__': 'date', 'year': o.year, 'month': o.month,
            'day': o.day}
    raise TypeError(repr(o))


def _hook(d):
    c = d.get('__class__')
    if c == 'Decimal':
        return Decimal(d['decimal'])
    if c == 'datetime':
        return dt.datetime(d['year'], d['month'], d['day'], d['hour'],
            d['minute'], d['second'], d['microsecond'])
    if c == 'date':
        return dt.date(d['year'], d['month'], d['day'])
    if c == 'timedelta':
        return dt.timedelta(seconds=d['seconds'])
    if c == 'bytes':
        return base64.b64decode(d['base64'])
    return d


def to_json(o):
    """JSON for our own output (Decimal/date as strings)."""
    return json.dumps(o, default=lambda v: str(v), separators=(',', ':'))


class RPCError(Exception):
    def __init__(self, method, error):
        super().__init__(f'{method}: {error}')
        self.method, self.error = method, error

    @property
    def kind(self):
        """'UserError', 'UserWarning', 'AccessError', ... or None."""
        e = self.error
        return e[0] if isinstance(e, list) and e else None


class Tryton:
    """Minimal Tryton JSON-RPC client: one login, context last, gzip."""

    def __init__(self, url, db):
        self.url, self.db = url.rstrip('/'), db
        self.auth = None
        self.context = {}
        self._id = 0

    def _post(self, path, method, params):
        self._id += 1
        data = json.dumps({'id': self._id, 'method': method,
                'params': params}, default=_default).encode()
        headers = {
            'Content-Type': 'application/json',
            # trytond gzips responses > ~1400 bytes whatever was asked:
            # always accept gzip and sniff the magic bytes.
            'Accept-Encoding': 'gzip',
            }
        if self.auth:
            headers['Authorization'] = self.auth
        req = urllib.request.Request(
            self.url + path, data=data, headers=headers, method='POST')
        try:
            with urllib.request.urlopen(req, timeout=300) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            raise RPCError(method, f'HTTP {e.code}: {e.read()[:300]!r}')
        if raw[:2] == b'\x1f\x8b':
            raw = gzip.decompress(raw)
        out = json.loads(raw, object_hook=_hook)
        if out.get('error'):
            raise RPCError(method, out['error'])
        return out['result']

    def root(self, method, *params):
        return self._post('/rpc/', method, list(params))

    def login(self, user, password):
        uid, session, _bus = self._post(f'/{self.db}/rpc/', 'common.db.login',
            [user, {'password': password}, 'en'])
        token = base64.b64encode(f'{user}:{uid}:{session}'.encode()).decode()
        self.auth = f'Session {token}'
        self.uid = uid
        self.reload_context()
        return uid

    def reload_context(self):
        self.context = self.model('res.user', 'get_preferences', True, ctx={})

    def model(self, model, method, *args, ctx=None):
        """model.<model>.<method>(*args, context) -- context always last."""
        context = dict(self.context)
        if ctx:
            context.update(ctx)
        return self._post(f'/{self.db}/rpc/', f'model.{model}.{method}',
            [*args, context])

    def wizard(self, name, steps, ctx=None):
        """Run wizard.<name>: create, then execute each (state, data) step
        (data = {view_state: {field: value}}), then delete."""
        context = dict(self.context)
        if ctx:
            context.update(ctx)
        path = f'/{self.db}/rpc/'
        sid, _start, _end = self._post(path, f'wizard.{name}.create',
            [context])
        results = []
        try:
            for state, data in steps:
                results.append(self._post(path, f'wizard.{name}.execute',
                        [sid, data, state, context]))
        finally:
            self._post(path, f'wizard.{name}.delete', [sid, context])
        return results

    # helpers
    def search(self, model, domain, limit=None, order=None, ctx=None):
        return self.model(model, 'search', domain, 0, limit, order, ctx=ctx)

    def search_read(self, model, domain, fields, limit=None, order=None,
            ctx=None):
        return self.model(model, 'search_read', domain, 0, limit, order,
            fields, ctx=ctx)

    def create(self, model, values, ctx=None):
        out = []
        for i in range(0, len(values), BATCH):
            out += self.model(model, 'create', values[i:i + BATCH], ctx=ctx)
        return out

    def find_one(self, model, domain):
        """The id of the first record matching domain (error if none).
        (ir.model.data is not readable over RPC: records that modules ship,
        e.g. the unit or the sequence types, are found by name.)"""
        ids = self.search(model, domain, 1, [['id', 'ASC']])
        if not ids:
            raise RPCError(f'{model}.search', f'nothing matches {domain}')
        return ids[0]

    def unit(self):
        return self.find_one('product.uom', [('symbol', '=', 'u')])


def log(msg):
    print(f'[seed] {msg}', file=sys.stderr, flush=True)


def first(ids):
    return ids[0] if ids else None


# ---------------------------------------------------------------- company
COMPANY_NAME = 'Plumb Test Co'


def ensure_company(c):
    cur = first(c.search('currency.currency', [('code', '=', 'USD')], 1))
    if not cur:
        cur, = c.create('currency.currency', [{
                    'name': 'US Dollar', 'code': 'USD', 'symbol': '$',
                    'rounding': Decimal('0.01'), 'digits': 2}])
    comp = first(c.search('company.company',
            [('party.name', '=', COMPANY_NAME)], 1))
    if not comp:
        party, = c.create('party.party', [{'name': COMPANY_NAME}])
        comp, = c.create('company.company', [{'party': party,
                    'currency': cur, 'timezone': 'UTC'}])
        log(f'created company {comp}')
    # attach admin to the company, then reload the user context (creates
    # need "company" in the context)
    if c.context.get('company') != comp:
        c.model('res.user', 'write', [c.uid],
            {'companies': [['add', [comp]]], 'company': comp})
        c.reload_context()
    return cur, comp


# ---------------------------------------------------------------- accounting
def ensure_accounting(c, comp):
    """Chart of accounts + defaults + fiscal year + category + payment term.

    Needed because sales with invoice_method 'order' (the default) create an
    invoice when processed, which needs a receivable account on the party
    and a revenue account on the product (via its accounting category), and
    posting an invoice / credit note needs an open fiscal year + period with
    invoice sequences.  Without all this, sale.confirm fails with
    UserError 'missing account revenue' (see README)."""
    if not c.search('account.account', [('company', '=', comp)], 1):
        tmpl = c.find_one('account.account.template', [
                ('parent', '=', None),
                ('name', '=', 'Universal Chart of Accounts')])
        res = c.wizard('account.create_chart', [
                ('account', {}),
                ('create_account', {'account': {
                            'company': comp, 'account_template': tmpl}}),
                ])
        log('created chart of accounts (account.create_chart)')
        del res
    receivable, = c.search('account.account', [
            ('company', '=', comp), ('type.receivable', '=', True),
            ('party_required', '=', True), ('closed', '!=', True)], 1,
        [['code', 'ASC']])
    payable, = c.search('account.account', [
            ('company', '=', comp), ('type.payable', '=', True),
            ('party_required', '=', True), ('closed', '!=', True)], 1,
        [['code', 'ASC']])
    revenue, = c.search('account.account', [
            ('company', '=', comp), ('type.revenue', '=', True),
            ('closed', '!=', True)], 1, [['code', 'ASC']])
    expense, = c.search('account.account', [
            ('company', '=', comp), ('type.expense', '=', True),
            ('closed', '!=', True)], 1, [['code', 'ASC']])
    conf, = c.model('account.configuration', 'read', [1],
        ['default_account_receivable', 'default_account_payable'])
    if (conf['default_account_receivable'] != receivable
            or conf['default_account_payable'] != payable):
        c.model('account.configuration', 'write', [1], {
                'default_account_receivable': receivable,
                'default_account_payable': payable})

    # fiscal year covering today (server date) with monthly periods
    today = c.model('ir.date', 'today')
    fy = first(c.search('account.fiscalyear', [('company', '=', comp),
                ('start_date', '<=', today), ('end_date', '>=', today)], 1))
    if not fy:
        year = today.year
        move_type = c.find_one('ir.sequence.type',
            [('name', '=', 'Account Move')])
        inv_type = c.find_one('ir.sequence.type', [('name', '=', 'Invoice')])
        move_seq, = c.create('ir.sequence.strict', [{
                    'name': f'Account Move {year}', 'company': comp,
                    'sequence_type': move_type}])
        seqs = c.create('ir.sequence.strict', [{
                    'name': f'{name} {year}', 'company': comp,
                    'sequence_type': inv_type, 'prefix': f'{prefix}{year}-'}
                for name, prefix in [
                    ('Customer Invoice', 'INV'),
                    ('Customer Credit Note', 'CN'),
                    ('Supplier Invoice', 'SINV'),
                    ('Supplier Credit Note', 'SCN')]])
        fy, = c.create('account.fiscalyear', [{
                    'name': str(year), 'company': comp,
                    'start_date': dt.date(year, 1, 1),
                    'end_date': dt.date(year, 12, 31),
                    'move_sequence': move_seq,
                    'invoice_sequences': [['create', [{
                                    'company': comp,
                                    'out_invoice_sequence': seqs[0],
                                    'out_credit_note_sequence': seqs[1],
                                    'in_invoice_sequence': seqs[2],
                                    'in_credit_note_sequence': seqs[3],
                                    }]]],
                    }])
        c.model('account.fiscalyear', 'create_period', [fy])
        log(f'created fiscal year {year} ({fy}) with monthly periods')

    cat = first(c.search('product.category',
            [('name', '=', 'Plumb Goods')], 1))
    if not cat:
        cat, = c.create('product.category', [{
                    'name': 'Plumb Goods', 'accounting': True,
                    'account_revenue': revenue,
                    'account_expense': expense}])
    # account_invoice ships "Upon Receipt" (one remainder line)
    term = first(c.search('account.invoice.payment_term',
            [('name', 'in', ['Upon Receipt', 'Immediate'])], 1,
            [['id', 'ASC']]))
    if not term:
        term, = c.create('account.invoice.payment_term', [{
                    'name': 'Immediate',
                    'lines': [['create', [{'type': 'remainder'}]]]}])
    # lines without a product (Plumb's shipping and discount lines) take
    # their revenue account from these defaults
    conf, = c.model('account.configuration', 'read', [1],
        ['default_category_account_revenue',
            'default_category_account_expense'])
    if (conf['default_category_account_revenue'] != revenue
            or conf['default_category_account_expense'] != expense):
        c.model('account.configuration', 'write', [1], {
                'default_category_account_revenue': revenue,
                'default_category_account_expense': expense})
    taxes = ensure_taxes(c, comp)
    # Shopify rounds each line's tax; Tryton's default ("document") sums a
    # tax's lines before rounding and drifts a cent from Shopify's total, so
    # Plumb needs per-line rounding (see agent/src/erp/tryton/pricing.rs)
    conf, = c.model('account.configuration', 'read', [1], ['tax_rounding'])
    if conf['tax_rounding'] != 'line':
        c.model('account.configuration', 'write', [1], {'tax_rounding': 'line'})
    return {'fiscalyear': fy, 'category': cat, 'payment_term': term,
        'receivable': receivable, 'revenue': revenue, 'taxes': taxes}


# Sales taxes Plumb's tests put on orders: Shopify tax titles map to Tryton
# taxes of the same name and rate (an accountant creates them in a real
# deployment; the connector never invents taxes). VAT is for the orders whose
# prices include tax (tests/fixtures/shopify/orders).
TAXES = [('NY State Tax', Decimal('0.04')), ('NYC Sales Tax', Decimal('0.045')),
    ('VAT', Decimal('0.2'))]


def ensure_taxes(c, comp):
    account = c.find_one('account.account', [('company', '=', comp),
            ('name', '=', 'Excise And Sales Taxes')])
    out = {}
    for name, rate in TAXES:
        tax = first(c.search('account.tax', [('company', '=', comp),
                    ('name', '=', name)], 1))
        if not tax:
            tax, = c.create('account.tax', [{'name': name,
                        'description': name, 'company': comp,
                        'type': 'percentage', 'rate': rate,
                        'invoice_account': account,
                        'credit_note_account': account}])
            log(f'created tax {name} ({tax})')
        out[name] = tax
    return out


# ---------------------------------------------------------------- parties
def ensure_customer(c, term):
    cust = first(c.search('party.party', [('name', '=', 'Plumb Customer')],
            1))
    if not cust:
        cust, = c.create('party.party', [{
                    'name': 'Plumb Customer',
                    'customer_payment_term': term,
                    'addresses': [['create', [{
                                    'street': '1 Main St',
                                    'postal_code': '10001',
                                    'city': 'New York'}]]],
                    'contact_mechanisms': [['create', [{
                                    'type': 'email',
                                    'value': 'customer@example.com'}]]],
                    }])
    addr = first(c.search('party.address', [('party', '=', cust)], 1))
    return cust, addr


def ensure_carrier(c):
    """carrier.carrier needs a service product (type 'service')."""
    rows = c.search_read('carrier', [('party.name', '=', 'Plumb Parcel')],
        ['id'], 1)
    if rows:
        return rows[0]['id']
    unit = c.unit()
    party, = c.create('party.party', [{'name': 'Plumb Parcel'}])
    tmpl, = c.create('product.template', [{
                'name': 'Shipping', 'type': 'service',
                'default_uom': unit, 'list_price': Decimal('5'),
                'salable': True, 'sale_uom': unit,
                'products': [['create', [{'suffix_code': 'SHIPPING'}]]]}])
    prod, = c.search('product.product', [('template', '=', tmpl)], 1)
    carrier, = c.create('carrier', [{'party': party,
                'carrier_product': prod}])
    log(f'created carrier {carrier}')
    return carrier


# ---------------------------------------------------------------- warehouses
def ensure_warehouse(c, name, code):
    rows = c.search_read('stock.location',
        [('type', '=', 'warehouse'), ('code', '=', code)],
        ['input_location', 'output_location', 'storage_location',
         'lost_found_location'], 1)
    if rows:
        r = rows[0]
        return {'id': r['id'], 'code': code, 'name': name,
            'input': r['input_location'], 'output': r['output_location'],
            'storage': r['storage_location'],
            'lost_found': r['lost_found_location']}
    # the warehouse first (its locations are required, so give it
    # temporary parentless ones), then its children, then point it at them
    lf, = c.create('stock.location', [{
                'name': f'{name} Lost and Found', 'code': f'{code}-LF',
                'type': 'lost_found'}])
    tmp, = c.create('stock.location', [{
                'name': f'{name} tmp', 'type': 'storage'}])
    wh, = c.create('stock.location', [{
                'name': name, 'code': code, 'type': 'warehouse',
                'input_location': tmp, 'output_location': tmp,
                'storage_location': tmp, 'lost_found_location': lf}])
    inp, out, sto = c.create('stock.location', [
            {'name': f'{name} Input', 'code': f'{code}-IN',
             'type': 'storage', 'parent': wh},
            {'name': f'{name} Output', 'code': f'{code}-OUT',
             'type': 'storage', 'parent': wh},
            {'name': f'{name} Storage', 'code': f'{code}-STO',
             'type': 'storage', 'parent': wh},
            ])
    c.model('stock.location', 'write', [wh], {
            'input_location': inp, 'output_location': out,
            'storage_location': sto, 'lost_found_location': lf})
    c.model('stock.location', 'delete', [tmp])
    log(f'created warehouse {code} ({wh})')
    return {'id': wh, 'code': code, 'name': name, 'input': inp,
        'output': out, 'storage': sto, 'lost_found': lf}


# ---------------------------------------------------------------- products
def ensure_products(c, n, category):
    unit = c.unit()
    skus = [f'SKU-{i:04d}' for i in range(1, n + 1)]
    found = {}
    for i in range(0, len(skus), BATCH):
        for r in c.search_read('product.product',
                [('suffix_code', 'in', skus[i:i + BATCH])],
                ['suffix_code', 'template']):
            found[r['suffix_code']] = r
    missing = [s for s in skus if s not in found]
    if missing:
        c.create('product.template', [{
                    'name': f'Plumb Product {sku}', 'type': 'goods',
                    'default_uom': unit,
                    'list_price': Decimal(10 + int(sku[4:])).quantize(
                        Decimal('0.01')),
                    'salable': True, 'sale_uom': unit,
                    'account_category': category,
                    'products': [['create', [{'suffix_code': sku}]]],
                    } for sku in missing])
        log(f'created {len(missing)} products')
        for i in range(0, len(missing), BATCH):
            for r in c.search_read('product.product',
                    [('suffix_code', 'in', missing[i:i + BATCH])],
                    ['suffix_code', 'template']):
                found[r['suffix_code']] = r
    # an EAN-13 barcode per product (product.identifier, type "ean")
    pids = [found[s]['id'] for s in skus]
    have = set()
    for i in range(0, len(pids), BATCH):
        for r in c.search_read('product.identifier', [
                    ('product', 'in', pids[i:i + BATCH]),
                    ('type', '=', 'ean')], ['product']):
            have.add(r['product'])
    todo = [{'product': found[s]['id'], 'type': 'ean', 'code': ean13(s)}
        for s in skus if found[s]['id'] not in have]
    if todo:
        c.create('product.identifier', todo)
    # products made before the accounting existed get the category now
    tmpls = [found[s]['template'] for s in skus]
    for i in range(0, len(tmpls), BATCH):
        # (NULL != x is not true in SQL: test NULL explicitly)
        todo = c.search('product.template', [
                ('id', 'in', tmpls[i:i + BATCH]),
                ['OR', ('account_category', '=', None),
                    ('account_category', '!=', category)]])
        if todo:
            c.model('product.template', 'write', todo,
                {'account_category': category})
    return {s: found[s]['id'] for s in skus}


# The product gift cards sold in Shopify are booked on (orders.gift_card_sku):
# a service, so selling one moves no stock.
GIFT_CARD_SKU = 'GIFT-CARD'


def ensure_gift_card(c, category):
    found = c.search_read('product.product',
        [('suffix_code', '=', GIFT_CARD_SKU)], ['id'], 1)
    if found:
        return found[0]['id']
    unit = c.unit()
    c.create('product.template', [{
                'name': 'Gift card', 'type': 'service', 'default_uom': unit,
                'list_price': Decimal('0'), 'salable': True, 'sale_uom': unit,
                'account_category': category,
                'products': [['create', [{'suffix_code': GIFT_CARD_SKU}]]]}])
    log('created the gift card product')
    return c.search('product.product',
        [('suffix_code', '=', GIFT_CARD_SKU)], 1)[0]


def ean13(sku):
    """A valid EAN-13 for SKU-NNNN: 200 (in-store range) + the number."""
    body = f'200{int(sku[4:]):09d}'
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def on_hand(c, warehouse, product_ids):
    """{product_id: on-hand quantity} in one warehouse's storage zone."""
    out = {}
    for i in range(0, len(product_ids), 500):
        for r in c.search_read('product.product',
                [('id', 'in', product_ids[i:i + 500])], ['quantity'],
                ctx={'locations': [warehouse], 'stock_skip_warehouse': True}):
            out[r['id']] = r['quantity']
    return out


def ensure_stock(c, wh, targets):
    """Absolute on-hand per product via stock.inventory, only for products
    whose on-hand differs from the target (so re-runs create nothing).
    One inventory per INVENTORY_LINES products (complete_lines grows much
    faster than linearly: 10,000 lines in one inventory ran for more than
    5 minutes), lines added BATCH at a time (SQLite backend)."""
    current = on_hand(c, wh['id'], list(targets))
    lines = [{'product': p, 'quantity': q} for p, q in targets.items()
        if current.get(p, 0) != q]
    invs = []
    for i in range(0, len(lines), INVENTORY_LINES):
        part = lines[i:i + INVENTORY_LINES]
        inv, = c.create('stock.inventory', [{'location': wh['storage']}])
        c.create('stock.inventory.line', [dict(line, inventory=inv)
                for line in part])
        c.model('stock.inventory', 'complete_lines', [inv], False)
        c.model('stock.inventory', 'confirm', [inv])
        log(f'{wh["code"]}: inventory {inv} set {len(part)} lines')
        invs.append(inv)
    return invs or None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--json', help='provision.sh start output (JSON line)')
    ap.add_argument('--url', default=os.environ.get('TRYTON_URL',
            'http://127.0.0.1:8011'))
    ap.add_argument('--db', default=os.environ.get('TRYTON_DB', 'plumb'))
    ap.add_argument('--user', default=os.environ.get('TRYTON_USER',
            'admin'))
    ap.add_argument('--password', default=os.environ.get('TRYTON_PASSWORD',
            'admin-ci-pass'))
    ap.add_argument('--skus', type=int, default=5)
    ap.add_argument('--qty-east', type=int, default=10)
    ap.add_argument('--qty-west', type=int, default=5)
    ap.add_argument('--warehouses', type=int, default=2, choices=[2, 3],
        help='3 adds WH-NORTH (stocked like WH-WEST), for the benchmarks')
    args = ap.parse_args(argv)
    if args.json:
        j = json.loads(args.json)
        args.url, args.db = j['url'], j['database']
        args.user, args.password = j['user'], j['password']

    t0 = time.monotonic()
    c = Tryton(args.url, args.db)
    c.login(args.user, args.password)
    cur, comp = ensure_company(c)
    acc = ensure_accounting(c, comp)
    cust, addr = ensure_customer(c, acc['payment_term'])
    carrier = ensure_carrier(c)
    whs = [ensure_warehouse(c, 'East', 'WH-EAST'),
        ensure_warehouse(c, 'West', 'WH-WEST')]
    products = ensure_products(c, args.skus, acc['category'])
    gift_card = ensure_gift_card(c, acc['category'])
    ensure_stock(c, whs[0], {p: args.qty_east for p in products.values()})
    ensure_stock(c, whs[1], {p: args.qty_west for p in products.values()})
    if args.warehouses == 3:
        whs.append(ensure_warehouse(c, 'North', 'WH-NORTH'))
        ensure_stock(c, whs[2], {p: args.qty_west for p in products.values()})
    unit = c.unit()
    log(f'done in {time.monotonic() - t0:.1f}s')
    print(to_json({
        'url': args.url, 'database': args.db, 'user': args.user,
        'company': comp, 'currency': cur, 'unit': unit,
        'customer': cust, 'customer_address': addr, 'carrier': carrier,
        'payment_term': acc['payment_term'], 'taxes': acc['taxes'],
        'fiscalyear': acc['fiscalyear'],
        'product_category': acc['category'],
        'warehouses': {w['code']: w for w in whs},
        'products': products, 'gift_card': gift_card,
        'stock': {'WH-EAST': args.qty_east, 'WH-WEST': args.qty_west},
        }))


if __name__ == '__main__':
    try:
        main()
    except RPCError as e:
        log(f'RPC error: {e}')
        sys.exit(1)
