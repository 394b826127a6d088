/**
 * Turns the raw UCI Online Retail CSV (../shared/data/online-retail) into the committed demo shop in
 * data/online-retail/: interactions.csv.gz and items.csv in the trainer's generic format.
 * Cleaning, as the dataset's provenance recommends: customer known, quantity and price positive, no
 * cancellations, product codes only (no postage, fees or vouchers), one name per stock code (the most frequent).
 * Run: npx tsx src/train/prepare-online-retail.ts [RAW.csv.gz] [OUT_DIR]
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { parseCsv, csvField } from './csv.ts';
import { categoryOf } from './categories.ts';

const raw = process.argv[2] ?? '../shared/data/online-retail/online_retail.csv.gz';
const out = process.argv[3] ?? 'data/online-retail';

const text = gunzipSync(readFileSync(raw)).toString('utf8');
const rows = parseCsv(text);
const header = rows.next().value?.fields.join(',');
if (header !== 'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country') {
  throw new Error(`${raw}: unexpected header ${header}`);
}

/** (customer, invoice, code) → summed quantity; the same line can appear several times in one invoice. */
const lines = new Map<string, { user: string; item: string; ts: number; qty: number }>();
const names = new Map<string, Map<string, number>>();
const prices = new Map<string, number[]>();
for (const { fields } of rows) {
  const [invoice, code, description, quantity, date, price, customer] = fields as [string, string, string, string, string, string, string];
  const qty = Number(quantity);
  const unitPrice = Number(price);
  if (!customer || invoice.startsWith('C') || !(qty > 0) || !(unitPrice > 0)) continue;
  if (!/^\d{5}/.test(code)) continue; // postage, fees, manual adjustments, vouchers
  const item = code.toUpperCase();
  const ts = Date.parse(date.replace(' ', 'T') + 'Z') / 1000;
  const key = `${customer}\u0000${invoice}\u0000${item}`;
  const prev = lines.get(key);
  if (prev) prev.qty += qty;
  else lines.set(key, { user: customer, item, ts, qty });
  if (description) {
    const counts = names.get(item) ?? new Map<string, number>();
    counts.set(description, (counts.get(description) ?? 0) + 1);
    names.set(item, counts);
  }
  const p = prices.get(item) ?? [];
  p.push(unitPrice);
  prices.set(item, p);
}

const events = [...lines.values()].sort((a, b) => a.ts - b.ts || a.user.localeCompare(b.user) || a.item.localeCompare(b.item));
const interactions = ['user_id,item_id,timestamp,event,value'];
for (const e of events) interactions.push(`${e.user},${csvField(e.item)},${e.ts},purchase,${e.qty}`);

const items = ['item_id,title,category,price'];
for (const item of [...names.keys()].sort()) {
  const title = [...names.get(item)!].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]![0];
  const p = prices.get(item)!.sort((a, b) => a - b);
  const median = p[Math.floor(p.length / 2)]!;
  items.push([item, title, categoryOf(title), median.toFixed(2)].map(csvField).join(','));
}

mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'interactions.csv.gz'), gzipSync(interactions.join('\n') + '\n', { level: 9 }));
writeFileSync(join(out, 'items.csv'), items.join('\n') + '\n');
console.log(`${events.length} interactions, ${names.size} items, ${new Set(events.map((e) => e.user)).size} users → ${out}`);
