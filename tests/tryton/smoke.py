#!/usr/bin/env python3
"""End-to-end check of the Tryton flows Plumb relies on (stdlib only).

Runs against a server made by provision.sh and seeded by seed.py (it runs
seed.py's idempotent setup itself), and asserts the stock / document states
after every step:

  1. sale: create -> quote -> confirm (shipment + invoice created)
  2. shipment: carrier + tracking number, assign_try -> pick -> pack -> ship
     -> do; the invoice is posted
  3. pack without carrier -> UserWarning, acknowledged through
     res.user.warning, retried
  4. return with restock: sale.return_sale wizard -> return sale with
     negative quantities -> confirm -> stock.shipment.out.return
     receive -> do (stock back) + credit note posted
  5. refund without restock: account.invoice.credit wizard on a posted
     invoice (credit note, stock untouched)
  6. change detection: stock.move by write_date / create_date

Every RPC is logged to stderr as `method params` (context omitted), or to
--shapes FILE.  Last stdout line: JSON summary.  Exit 1 on any mismatch.

Usage: smoke.py --json "$(tests/tryton/provision.sh start | tail -n1)"
"""
import argparse
import json
import os
import sys
import time
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seed  # noqa: E402  (same directory)
from seed import RPCError, Tryton, to_json  # noqa: E402


class LoggingTryton(Tryton):
    def __init__(self, url, db, out):
        super().__init__(url, db)
        self.out = out

    def _post(self, path, method, params):
        shown = params
        if method == 'common.db.login':
            shown = [params[0], {'password': '***'}, params[2]]
        elif params and isinstance(params[-1], dict) and 'company' in str(
                params[-1].keys()):
            extra = {k: v for k, v in params[-1].items()
                if k in {'locations', 'stock_skip_warehouse', 'active_model',
                    'active_id', 'active_ids', 'stock_assign'}}
            shown = params[:-1] + ([{'ctx+': extra}] if extra else [])
        t = time.perf_counter()
        try:
            res = super()._post(path, method, params)
        except RPCError as e:
            print(f'{method} {to_json(shown)} -> ERROR {e.error!r:.300}',
                file=self.out, flush=True)
            raise
        ms = (time.perf_counter() - t) * 1000
        print(f'{method} {to_json(shown)} -> {to_json(res)[:300]} '
            f'[{ms:.0f} ms]', file=self.out, flush=True)
        return res


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def qty(c, wh, pid):
    """(on hand, forecast) of one product in one warehouse."""
    r, = c.search_read('product.product', [('id', '=', pid)],
        ['quantity', 'forecast_quantity'],
        ctx={'locations': [wh], 'stock_skip_warehouse': True})
    return r['quantity'], r['forecast_quantity']


def call_acking_warnings(c, model, method, ids):
    """Call a button; on UserWarning acknowledge it (res.user.warning, as
    the GUI client does) and retry once.  Returns the warning names."""
    try:
        c.model(model, method, ids)
        return []
    except RPCError as e:
        if e.kind != 'UserWarning':
            raise
        name = e.error[1][0]
        c.model('res.user.warning', 'create', [{'user': c.uid,
                    'name': name, 'always': False}])
        c.model(model, method, ids)
        return [name]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--json', required=True,
        help='provision.sh start output (JSON line)')
    ap.add_argument('--shapes', help='write the RPC log here, not stderr')
    args = ap.parse_args()
    j = json.loads(args.json)
    out = open(args.shapes, 'w') if args.shapes else sys.stderr
    c = LoggingTryton(j['url'], j['database'], out)
    c.login(j['user'], j['password'])
    cur, comp = seed.ensure_company(c)
    acc = seed.ensure_accounting(c, comp)
    cust, addr = seed.ensure_customer(c, acc['payment_term'])
    carrier = seed.ensure_carrier(c)
    east = seed.ensure_warehouse(c, 'East', 'WH-EAST')
    prods = seed.ensure_products(c, 2, acc['category'])
    p1, p2 = prods['SKU-0001'], prods['SKU-0002']
    seed.ensure_stock(c, east, {p1: 10, p2: 10})
    unit = c.unit()
    summary = {}

    # watermark for change detection: the server's own clock (naive UTC)
    last = c.search_read('stock.move', [], ['write_date', 'create_date'], 1,
        [['write_date', 'DESC NULLS LAST'], ['id', 'DESC']])
    mark = max(filter(None, [last[0]['write_date'], last[0]['create_date']]))

    # 1. sale --------------------------------------------------------------
    print('## 1. sale create/quote/confirm', file=out)
    h0, f0 = qty(c, east['id'], p1)   # on hand, forecast before the sale
    sale, = c.model('sale.sale', 'create', [{
                'party': cust, 'invoice_address': addr,
                'shipment_address': addr, 'warehouse': east['id'],
                'currency': cur, 'payment_term': acc['payment_term'],
                'invoice_method': 'order', 'shipment_method': 'order',
                'reference': 'SHOPIFY-1001',
                'lines': [['create', [
                            {'type': 'line', 'product': p1, 'quantity': 3,
                             'unit': unit, 'unit_price': Decimal('11.00')},
                            {'type': 'line', 'product': p2, 'quantity': 1,
                             'unit': unit, 'unit_price': Decimal('12.00')},
                            ]]],
                }])
    c.model('sale.sale', 'quote', [sale])
    c.model('sale.sale', 'confirm', [sale])
    s, = c.model('sale.sale', 'read', [sale], ['number', 'state',
            'shipment_state', 'invoice_state', 'shipments', 'invoices',
            'total_amount'])
    # confirm queues sale.process; without a queue worker it runs right
    # after the commit, inside the same request, and a failure there is
    # swallowed: the sale stays 'confirmed' with no shipment.  Calling the
    # process button directly raises the real error.
    if s['state'] == 'confirmed':
        c.model('sale.sale', 'process', [sale])
    check(s['state'] == 'processing' and s['shipments'] and s['invoices'],
        f'sale not processed: {s}')
    check(qty(c, east['id'], p1) == (h0, f0 - 3), qty(c, east['id'], p1))
    ship = s['shipments'][0]
    inv = s['invoices'][0]

    # 2. ship with carrier + tracking ---------------------------------------
    print('## 2. ship with carrier + tracking', file=out)
    c.model('stock.shipment.out', 'write', [ship], {
            'carrier': carrier, 'shipping_reference': '1Z999AA10123456784'})
    c.model('stock.shipment.out', 'assign_try', [ship])
    st, = c.model('stock.shipment.out', 'read', [ship], ['state'])
    check(st['state'] == 'assigned', st)
    check(qty(c, east['id'], p1) == (h0, f0 - 3), 'reservation moved stock')
    r, = c.search_read('product.product', [('id', '=', p1)], ['quantity'],
        ctx={'locations': [east['id']], 'stock_skip_warehouse': True,
            'stock_assign': True})
    check(r['quantity'] <= h0 - 3, f'stock_assign quantity {r}')
    for step in ('pick', 'pack', 'ship', 'do'):
        c.model('stock.shipment.out', step, [ship])
    st, = c.model('stock.shipment.out', 'read', [ship], ['number', 'state',
            'carrier', 'carrier.rec_name', 'shipping_reference',
            'effective_date', 'moves', 'outgoing_moves'])
    check(st['state'] == 'done' and st['shipping_reference'], st)
    check(qty(c, east['id'], p1) == (h0 - 3, f0 - 3), qty(c, east['id'], p1))
    s, = c.model('sale.sale', 'read', [sale], ['state', 'shipment_state',
            'invoice_state'])
    check(s['shipment_state'] == 'sent', s)
    c.model('account.invoice', 'post', [inv])
    i, = c.model('account.invoice', 'read', [inv], ['number', 'state',
            'type', 'total_amount'])
    check(i['state'] == 'posted' and i['number'].startswith('INV'), i)
    summary['sale'] = {'id': sale, 'shipment': st, 'invoice': i}

    # 3. pack without a carrier -> warning ----------------------------------
    print('## 3. pack without carrier', file=out)
    sale_b, = c.model('sale.sale', 'create', [{
                'party': cust, 'invoice_address': addr,
                'shipment_address': addr, 'warehouse': east['id'],
                'currency': cur, 'payment_term': acc['payment_term'],
                'lines': [['create', [{'type': 'line', 'product': p2,
                                'quantity': 1, 'unit': unit,
                                'unit_price': Decimal('12.00')}]]],
                }])
    c.model('sale.sale', 'quote', [sale_b])
    c.model('sale.sale', 'confirm', [sale_b])
    ship_b, = c.model('sale.sale', 'read', [sale_b], ['shipments'])[0][
        'shipments']
    c.model('stock.shipment.out', 'assign_try', [ship_b])
    c.model('stock.shipment.out', 'pick', [ship_b])
    warned = call_acking_warnings(c, 'stock.shipment.out', 'pack', [ship_b])
    c.model('stock.shipment.out', 'do', [ship_b])
    summary['pack_without_carrier_warnings'] = warned

    # 4. return with restock ------------------------------------------------
    print('## 4. return with restock (sale.return_sale wizard)', file=out)
    before = qty(c, east['id'], p1)
    res = c.wizard('sale.return_sale', [('return_', {})],
        ctx={'active_model': 'sale.sale', 'active_id': sale,
            'active_ids': [sale]})
    ret_sale = res[0]['actions'][0][1]['res_id'][0]
    lines = c.search_read('sale.line', [('sale', '=', ret_sale)],
        ['product', 'quantity'])
    # partial return: 2 of the 3 x SKU-0001, nothing of SKU-0002
    for ln in lines:
        if ln['product'] == p1:
            c.model('sale.line', 'write', [ln['id']], {'quantity': -2})
        else:
            c.model('sale.line', 'delete', [ln['id']])
    c.model('sale.sale', 'quote', [ret_sale])
    c.model('sale.sale', 'confirm', [ret_sale])
    rs, = c.model('sale.sale', 'read', [ret_sale], ['state', 'origin',
            'shipment_returns', 'invoices', 'shipment_state', 'total_amount'])
    check(rs['state'] == 'processing' and rs['shipment_returns'], rs)
    ret = rs['shipment_returns'][0]
    c.model('stock.shipment.out.return', 'receive', [ret])
    c.model('stock.shipment.out.return', 'do', [ret])
    r, = c.model('stock.shipment.out.return', 'read', [ret], ['state'])
    check(r['state'] == 'done', r)
    after = qty(c, east['id'], p1)
    check(after[0] == before[0] + 2, (before, after))
    cn = rs['invoices'][0]
    c.model('account.invoice', 'post', [cn])
    i, = c.model('account.invoice', 'read', [cn], ['number', 'state',
            'type', 'total_amount'])
    # a credit note is an 'out' invoice with a negative total; posting
    # numbers it from the fiscal year's credit-note sequence (CN...)
    check(i['state'] == 'posted' and i['total_amount'] < 0
        and i['number'].startswith('CN'), i)
    summary['return'] = {'sale': ret_sale, 'origin': rs['origin'],
        'shipment_return': ret, 'credit_note': i, 'stock': [before, after]}

    # 5. refund without restock: credit the posted invoice -------------------
    print('## 5. refund without restock (account.invoice.credit)', file=out)
    before = qty(c, east['id'], p1)
    res = c.wizard('account.invoice.credit', [('credit', {'start': {
                        'with_refund': False, 'invoice_date': None}})],
        ctx={'active_model': 'account.invoice', 'active_id': inv,
            'active_ids': [inv]})
    credit = res[0]['actions'][0][1]['res_id'][0]
    c.model('account.invoice', 'post', [credit])
    i, = c.model('account.invoice', 'read', [credit], ['number', 'state',
            'type', 'total_amount'])
    check(i['total_amount'] < 0 and i['number'].startswith('CN'), i)
    check(qty(c, east['id'], p1) == before, 'credit note moved stock')
    summary['credit_only'] = i

    # 6. change detection ---------------------------------------------------
    print('## 6. change detection', file=out)
    moves = c.search_read('stock.move',
        ['OR', ('write_date', '>=', mark), ('create_date', '>=', mark)],
        ['product', 'product.code', 'from_location', 'to_location',
         'quantity', 'state', 'shipment', 'origin', 'write_date',
         'create_date'], None, [['id', 'ASC']])
    touched = sorted({m['product'] for m in moves})
    check(p1 in touched, touched)
    summary['changed_moves'] = len(moves)
    summary['touched_products'] = touched
    print(to_json(summary))


if __name__ == '__main__':
    try:
        main()
    except (AssertionError, RPCError) as e:
        print(f'[smoke] FAILED: {e}', file=sys.stderr)
        sys.exit(1)
