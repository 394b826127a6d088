/**
 * The product managers' demo: the Online Retail shop with <localrank-shelf> placements where a shop puts them, real
 * customers to replay, sliders that steer the fusion live, the offline evaluation and live latency as charts, and a
 * privacy panel (the page's requests, the local history, "forget me"). All text from the bundle is set as textContent.
 */
import { SCORERS } from '../model/fusion.ts';
import { RecommenderError, type Backend, type HistoryEvent, type ItemMeta, type Recommender, type Recommendation, type ScorerName } from '../index.ts';
import { sharedRecommender } from '../widget/registry.ts';
import type { LocalrankShelf, ShelfItemDetail } from '../widget/shelf.ts';
import type { LatencyChart } from './charts.ts';

declare global {
  interface Window {
    /** The demo's recommender (the one its shelves share), for exploring the API from the console and for the tests. */
    localrank?: Recommender;
  }
}

const BUNDLE_URL = new URL('bundles/online-retail/manifest.json', document.baseURI).href;
const PERSONAS_URL = new URL('demo/personas.json', document.baseURI).href;
const PAGE_SIZE = 48;
const SCORER_LABELS: Record<ScorerName, string> = { itemKnn: 'Item-kNN (bought with your items)', sequential: 'Next-item transitions (what comes next)', userKnn: 'User prototypes (shoppers like you)', deep: 'Deep model (your taste)', popularity: 'Popularity (trending)' };

interface Persona {
  customer: string;
  items: string[];
  heldOut: string;
}
interface ManifestView {
  bundleVersion: string;
  fusion: { weights: Record<ScorerName, number> };
  evaluation?: { users?: number; scorers?: Record<string, { hr10: number; ndcg10: number }> };
  files: Record<string, { name: string; bytes: number }>;
}

const $ = <T extends HTMLElement>(selector: string): T => document.querySelector<T>(selector)!;
const shelf = (id: string): LocalrankShelf => document.getElementById(id) as LocalrankShelf;
// Made on first use, not as this module runs: a page's first Intl call costs 35–90 ms here (src/widget/shelf.ts:
// warmUpPriceFormats), which would lengthen the page's start-up task.
let money: Intl.NumberFormat | undefined;
const pounds = (n: number): string => (money ??= new Intl.NumberFormat('en-GB', { style: 'currency', currency: 'GBP' })).format(n);
const bytes = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} kB` : `${n} B`);

let recommender: Recommender;
let manifest: ManifestView;
let catalog: ItemMeta[] = [];
const byId = new Map<string, ItemMeta>();
let personas: Persona[] = [];
let shown = PAGE_SIZE;
let openItem: ItemMeta | null = null;
let tuned: Record<ScorerName, number>;
let weights: Record<ScorerName, number>;
let diversity = 0;
let history: HistoryEvent[] = [];
let latency: LatencyChart | undefined;
/** Latencies measured before the chart exists (it is drawn after the first shelves). */
const earlyLatencies: Array<[string, number]> = [];
let busy = Promise.resolve();
/** The replayed customer, whose held-out item each setting is scored on. */
let replayed: Persona | undefined;

// ------------------------------------------------------------------ shop

/** The catalog has no images: a tile coloured by category with the title's initial stands in. */
function paintPlaceholder(art: HTMLElement, item: { title: string; category?: string | undefined }): void {
  art.dataset.category = item.category ?? '';
  art.textContent = (item.title.match(/[A-Z0-9]/i)?.[0] ?? '?').toUpperCase();
}

function card(item: ItemMeta): HTMLElement {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'card';
  button.dataset.itemId = item.id;
  const art = document.createElement('span');
  art.className = 'placeholder';
  art.setAttribute('aria-hidden', 'true');
  paintPlaceholder(art, item);
  const title = document.createElement('span');
  title.className = 'title';
  title.textContent = item.title;
  const meta = document.createElement('span');
  meta.className = 'meta';
  meta.textContent = [item.price === undefined ? '' : pounds(item.price), item.category ?? ''].filter(Boolean).join(' · ');
  button.append(art, title, meta);
  return button;
}

function renderCatalog(): void {
  const query = $<HTMLInputElement>('#search').value.trim().toUpperCase();
  const category = $<HTMLSelectElement>('#category').value;
  const matches = catalog.filter((it) => (!query || it.title.toUpperCase().includes(query)) && (!category || it.category === category));
  $('#catalog').replaceChildren(...matches.slice(0, shown).map(card));
  $('#catalog-count').textContent = `${matches.length.toLocaleString('en-GB')} products`;
  $('#more').hidden = matches.length <= shown;
}

function openProduct(item: ItemMeta): void {
  openItem = item;
  $('#product').hidden = false;
  $('#product-title').textContent = item.title;
  $('#product-category').textContent = item.category ?? '';
  paintPlaceholder($('#product .placeholder'), item);
  $('#product-meta').textContent = item.price === undefined ? '' : pounds(item.price);
  shelf('similar').setAttribute('item', item.id);
  shelf('together').setAttribute('item', item.id);
}

async function track(itemId: string, type: 'click' | 'cart'): Promise<void> {
  await recommender.track({ itemId, type });
}

// ------------------------------------------------------------------ status, history, cart

async function refreshStatus(): Promise<void> {
  const stats = await recommender.stats();
  $('#status-backend').textContent = stats.backend;
  $('#fact-backend').textContent = stats.backend;
  $('#fact-implementation').textContent = stats.implementation;
  $('#status-latency').textContent = stats.lastLatencyMs === null ? '–' : `${stats.lastLatencyMs.toFixed(1)} ms`;
  $('#status-bundle').textContent = `${stats.bundleVersion} · ${stats.itemCount.toLocaleString('en-GB')} items`;
  $('#fact-items').textContent = stats.itemCount.toLocaleString('en-GB');
}

async function refreshHistory(): Promise<void> {
  history = await recommender.history();
  $('#status-history').textContent = String(history.length);
  $('#for-you-basis').textContent = history.length === 0 ? '— popular items until you click something' : '— from your activity';
  // The local history, newest first.
  const rows = history
    .slice()
    .reverse()
    .slice(0, 200)
    .map((event) => {
      const tr = document.createElement('tr');
      for (const text of [new Date(event.ts).toLocaleString('en-GB'), event.type, byId.get(event.itemId)?.title ?? event.itemId]) {
        const td = document.createElement('td');
        td.textContent = text;
        tr.append(td);
      }
      return tr;
    });
  $('#history-log').replaceChildren(...rows);
  $('#history-caption').textContent =
    history.length === 0 ? 'Nothing stored: your history on this device is empty.' : `${history.length} events, in this browser's IndexedDB only${history.length > 200 ? ' (newest 200 shown)' : ''}.`;
  // The cart: what the shopper added.
  const cart = [...new Set(history.filter((e) => e.type === 'cart').map((e) => e.itemId))];
  $('#cart-count').textContent = cart.length === 0 ? '(empty)' : `(${cart.length})`;
  $('#cart-items').replaceChildren(
    ...cart.map((id) => {
      const li = document.createElement('li');
      li.textContent = byId.get(id)?.title ?? id;
      return li;
    }),
  );
  const together = shelf('cart-together');
  together.hidden = cart.length === 0;
  if (cart.length > 0 && JSON.stringify(together.items) !== JSON.stringify(cart)) together.items = cart;
  updatePrivacyVerdict();
  await Promise.all([refreshStatus(), refreshCompare()]);
}

// ------------------------------------------------------------------ personas

function summary(persona: Persona): string {
  const categories = new Map<string, number>();
  for (const id of persona.items) {
    const category = byId.get(id)?.category;
    if (category) categories.set(category, (categories.get(category) ?? 0) + 1);
  }
  const top = [...categories].sort((a, b) => b[1] - a[1]).slice(0, 2).map(([c]) => c);
  const example = byId.get(persona.items.at(-1) ?? '')?.title ?? '';
  return `${persona.items.length} items, mostly ${top.join(' and ') || 'mixed'}; lately ${example.toLowerCase()}`;
}

async function replay(persona: Persona): Promise<void> {
  $('#persona-result').hidden = true;
  replayed = undefined;
  await recommender.forget();
  const start = Date.now() - persona.items.length * 60_000;
  // One event per item in the customer's order, a minute apart, as purchases (the dataset records purchases).
  for (const [i, itemId] of persona.items.entries()) {
    if (!byId.has(itemId)) continue;
    await recommender.track({ itemId, type: 'purchase', ts: start + i * 60_000 });
  }
  replayed = persona;
  document.body.dataset.persona = persona.customer;
  await refreshCompare();
}

/** Where the tuned setting and the sliders' setting rank the replayed customer's held-out item. */
function showHeldOut(tunedItems: Recommendation[], steeredItems: Recommendation[]): void {
  const box = $('#persona-result');
  if (!replayed || history.length === 0) {
    box.hidden = true;
    return;
  }
  const where = (items: Recommendation[]): string => {
    const rank = items.findIndex((r) => r.itemId === replayed!.heldOut);
    return rank < 0 ? 'not in the top 100' : `#${rank + 1}${rank < 8 ? ' (on the shelf)' : ''}`;
  };
  const next = byId.get(replayed.heldOut)?.title ?? replayed.heldOut;
  box.hidden = false;
  box.textContent = `Held out: the next new item customer ${replayed.customer} bought was “${next}”. Of ${catalog.length.toLocaleString('en-GB')} items, the tuned weights rank it ${where(tunedItems)}; your setting ${where(steeredItems)}.`;
}

// ------------------------------------------------------------------ steering

function renderSliders(): void {
  const make = (id: string, label: string, value: number, onInput: (v: number) => void): HTMLElement => {
    const row = document.createElement('div');
    row.className = 'slider';
    const name = document.createElement('label');
    name.htmlFor = id;
    name.textContent = label;
    const input = document.createElement('input');
    input.type = 'range';
    input.id = id;
    input.min = '0';
    input.max = '1';
    input.step = '0.05';
    input.value = String(value);
    const output = document.createElement('output');
    output.htmlFor.add(id);
    output.textContent = value.toFixed(2);
    input.addEventListener('input', () => {
      output.textContent = Number(input.value).toFixed(2);
      onInput(Number(input.value));
    });
    row.append(name, input, output);
    return row;
  };
  $('#sliders').replaceChildren(
    ...SCORERS.map((m) => make(`weight-${m}`, SCORER_LABELS[m], weights[m], (v) => ((weights = { ...weights, [m]: v }), applySteering()))),
    make('diversity', 'Diversity (variety over relevance)', diversity, (v) => ((diversity = v), applySteering())),
  );
}

let steeringFrame = 0;
function applySteering(): void {
  cancelAnimationFrame(steeringFrame);
  steeringFrame = requestAnimationFrame(() => {
    const valid = SCORERS.some((m) => weights[m] > 0);
    $('#weights-warning').hidden = valid;
    if (!valid) return;
    const forYou = shelf('for-you');
    forYou.weights = { ...weights };
    if (diversity > 0) forYou.setAttribute('diversity', String(diversity));
    else forYou.removeAttribute('diversity');
    void refreshCompare().catch(showError);
  });
}

function ranked(list: HTMLElement, items: Recommendation[], other: Set<string>): void {
  list.replaceChildren(
    ...items.map((r) => {
      const li = document.createElement('li');
      li.dataset.itemId = r.itemId;
      const title = document.createElement('span');
      title.textContent = r.title;
      li.append(title);
      if (!other.has(r.itemId)) {
        li.classList.add('only');
        const mark = document.createElement('span');
        mark.className = 'badge';
        mark.textContent = 'only here';
        li.append(' ', mark);
      }
      if (r.reason && $<HTMLInputElement>('#explain').checked) {
        const why = document.createElement('small');
        why.textContent = r.reason.text;
        li.append(why);
      }
      return li;
    }),
  );
}

let compareGeneration = 0;
async function refreshCompare(): Promise<void> {
  if (!recommender || !SCORERS.some((m) => weights[m] > 0)) return;
  const generation = ++compareGeneration;
  const [a, b] = await Promise.all([recommender.recommend({ k: 100, weights: tuned }), recommender.recommend({ k: 100, weights, diversity })]);
  if (generation !== compareGeneration) return;
  const [topA, topB] = [a.items.slice(0, 8), b.items.slice(0, 8)];
  ranked($('#compare-a'), topA, new Set(topB.map((r) => r.itemId)));
  ranked($('#compare-b'), topB, new Set(topA.map((r) => r.itemId)));
  showHeldOut(a.items, b.items);
  $('#compare').dataset.basis = b.basis;
}

// ------------------------------------------------------------------ evidence

/** Records every ranking's latency (the shelves' calls included: they share this recommender). */
function instrument(r: Recommender): void {
  const methods = ['recommend', 'similarItems', 'boughtTogether', 'trending'] as const;
  for (const method of methods) {
    const original = (r[method] as (...args: unknown[]) => Promise<{ latencyMs: number }>).bind(r);
    (r as unknown as Record<string, unknown>)[method] = async (...args: unknown[]) => {
      const result = await original(...args);
      if (latency) latency.add(method, result.latencyMs);
      else earlyLatencies.push([method, result.latencyMs]);
      $('#status-latency').textContent = `${result.latencyMs.toFixed(1)} ms`;
      return result;
    };
  }
}

function renderEvidence(): void {
  const total = Object.values(manifest.files).reduce((sum, f) => sum + f.bytes, 0);
  $('#fact-version').textContent = manifest.bundleVersion;
  $('#fact-size').textContent = `${bytes(total)} in ${Object.keys(manifest.files).length + 1} files`;
  const scorers = manifest.evaluation?.scorers;
  if (scorers) {
    const names = evaluated(scorers);
    const best = names.reduce((x, y) => (scorers[y]!.ndcg10 > scorers[x]!.ndcg10 ? y : x));
    $('#quality-summary').textContent =
      `${(manifest.evaluation?.users ?? 0).toLocaleString('en-GB')} held-out customers. ` +
      names.map((n) => `${n}: HR@10 ${scorers[n]!.hr10.toFixed(3)}, NDCG@10 ${scorers[n]!.ndcg10.toFixed(3)}`).join('; ') +
      `. Best NDCG@10: ${best}.`;
  }
}

/** The scorers (and the fusion) that the bundle's evaluation scored, in the fusion's order. */
const evaluated = (scorers: Record<string, unknown>): string[] => [...SCORERS, 'fusion'].filter((n) => scorers[n]);

/** The charts: chart.js is most of this page's script, and drawing them takes a long task, so they come last. */
async function drawCharts(): Promise<void> {
  const { latencyChart, qualityChart } = await import('./charts.ts');
  const scorers = manifest.evaluation?.scorers;
  if (scorers) {
    const names = evaluated(scorers);
    qualityChart($<HTMLCanvasElement>('#quality-chart'), names, names.map((n) => scorers[n]!.hr10), names.map((n) => scorers[n]!.ndcg10));
  }
  // Each chart in a task of its own, so that their first layouts do not add up to one long task.
  await new Promise((resolve) => setTimeout(resolve));
  latency = latencyChart($<HTMLCanvasElement>('#latency-chart'), (text) => ($('#latency-summary').textContent = text));
  for (const [method, ms] of earlyLatencies.splice(0)) latency.add(method, ms);
}

// ------------------------------------------------------------------ privacy

interface Logged {
  url: string;
  bytes: number;
  kind: string;
}
const network: Logged[] = [];

function watchNetwork(): void {
  const add = (entries: PerformanceEntryList): void => {
    for (const entry of entries as PerformanceResourceTiming[]) network.push({ url: entry.name, bytes: entry.transferSize || entry.encodedBodySize, kind: entry.initiatorType });
    renderNetwork();
  };
  add(performance.getEntriesByType('resource'));
  new PerformanceObserver((list) => add(list.getEntries())).observe({ type: 'resource' });
}

function renderNetwork(): void {
  const ids = new Set(history.map((e) => e.itemId));
  const row = (cells: string[], className?: string): HTMLTableRowElement => {
    const tr = document.createElement('tr');
    if (className) tr.className = className;
    for (const text of cells) {
      const td = document.createElement('td');
      td.textContent = text;
      tr.append(td);
    }
    return tr;
  };
  const pageRows = network.map((r) => {
    const url = new URL(r.url);
    const carries = [...ids].some((id) => decodeURIComponent(r.url).includes(id));
    return row(['GET', `${url.pathname}${url.search}`, r.bytes ? bytes(r.bytes) : '(cached)', carries ? 'an item you touched!' : 'none'], carries ? 'leak' : undefined);
  });
  const workerRows = manifest
    ? [['manifest.json', 0] as const, ...Object.values(manifest.files).map((f) => [f.name, f.bytes] as const)].map(([name, size]) =>
        row(['GET', `/bundles/online-retail/${name} (worker)`, size ? bytes(size) : '–', 'none (same for all)'], 'worker'),
      )
    : [];
  $('#network-log').replaceChildren(...pageRows, ...workerRows);
  updatePrivacyVerdict();
}

function updatePrivacyVerdict(): void {
  const ids = [...new Set(history.map((e) => e.itemId))];
  const leaks = network.filter((r) => ids.some((id) => decodeURIComponent(r.url).includes(id))).length;
  const verdict = $('#privacy-verdict');
  verdict.classList.toggle('ok', leaks === 0);
  verdict.textContent =
    leaks > 0
      ? `${leaks} requests name an item from your history.`
      : ids.length === 0
        ? `${network.length} requests seen by this page, all GETs for the shop's own files. Your history is empty: there is nothing of yours to send.`
        : `${network.length} requests seen by this page, all GETs for the shop's own files; none names any of the ${ids.length} items in your history.`;
}

// ------------------------------------------------------------------ start

function showError(error: unknown): void {
  const box = $('#error');
  box.hidden = false;
  box.textContent = `The recommender is unavailable: ${(error as Error).message}. The shop still works.`;
  document.body.dataset.errorCode = error instanceof RecommenderError ? error.code : 'UNKNOWN';
}

/** Runs one thing at a time (replays, resets, forget), so that their events do not interleave. */
function serial(op: () => Promise<void>): void {
  busy = busy.then(op).catch(showError);
}

async function main(): Promise<void> {
  watchNetwork();
  // ?backend=wasm (webgpu, webgl, cpu) pins the compute backend; by default the fastest measured one is used.
  const backend = (new URLSearchParams(location.search).get('backend') ?? 'auto') as Backend | 'auto';
  // Created here, before the element is defined, so that every shelf shares this recommender (and its backend).
  const starting = sharedRecommender(BUNDLE_URL, { backend });
  const [r, manifestResponse, personasResponse] = await Promise.all([starting, fetch(BUNDLE_URL), fetch(PERSONAS_URL)]);
  recommender = r;
  instrument(recommender);
  window.localrank = recommender;
  manifest = (await manifestResponse.json()) as ManifestView;
  // Written by `npm run build` / `npm start` (src/train/demo-bundle.ts); without it the page offers the new shopper only.
  personas = personasResponse.ok ? await personasResponse.json().then((p: unknown) => (Array.isArray(p) ? (p as Persona[]) : []), () => []) : [];
  tuned = { ...manifest.fusion.weights };
  weights = { ...tuned };
  renderEvidence();
  await import('../widget/index.ts'); // defines <localrank-shelf>: the shelves start now

  catalog = await recommender.items();
  for (const it of catalog) byId.set(it.id, it);
  const categories = [...new Set(catalog.map((it) => it.category).filter((c): c is string => !!c))].sort();
  $('#category').append(...categories.map((c) => Object.assign(document.createElement('option'), { value: c, textContent: c })));
  $('#persona').append(...personas.map((p) => Object.assign(document.createElement('option'), { value: p.customer, textContent: `Customer ${p.customer}: ${summary(p)}` })));
  renderCatalog();
  renderSliders();
  await refreshHistory();
  renderNetwork();

  window.addEventListener('localrank-history-changed', () => void refreshHistory().catch(showError));
  // A click on a catalog card is a tracked click and opens the product; a shelf card opens it too (the shelf tracks it).
  $('#catalog').addEventListener('click', (event) => {
    const target = (event.target as HTMLElement).closest<HTMLElement>('.card[data-item-id]');
    const item = target && byId.get(target.dataset.itemId!);
    if (!item) return;
    openProduct(item);
    void track(item.id, 'click').catch(showError);
    $('#product').scrollIntoView({ block: 'nearest' });
  });
  document.addEventListener('localrank-click', (event) => {
    const item = byId.get((event as CustomEvent<ShelfItemDetail>).detail.itemId);
    if (!item) return;
    openProduct(item);
    $('#product').scrollIntoView({ block: 'nearest' });
  });
  $('#add-to-cart').addEventListener('click', () => {
    if (openItem) void track(openItem.id, 'cart').catch(showError);
  });
  $('#close-product').addEventListener('click', () => {
    $('#product').hidden = true;
    openItem = null;
  });
  $('#search').addEventListener('input', () => ((shown = PAGE_SIZE), renderCatalog()));
  $('#category').addEventListener('change', () => ((shown = PAGE_SIZE), renderCatalog()));
  $('#more').addEventListener('click', () => ((shown += PAGE_SIZE), renderCatalog()));
  $('#persona').addEventListener('change', () => {
    const persona = personas.find((p) => p.customer === $<HTMLSelectElement>('#persona').value);
    $('#persona-summary').textContent = persona
      ? `Customer ${persona.customer}: ${summary(persona)}. Their last new item is held out, as in the evaluation.`
      : 'A new shopper: no history, so the shelves start from popularity and the page you are on.';
  });
  $('#replay').addEventListener('click', () => {
    const persona = personas.find((p) => p.customer === $<HTMLSelectElement>('#persona').value);
    serial(async () => {
      document.body.dataset.replaying = 'true';
      if (persona) await replay(persona);
      else await recommender.forget();
      delete document.body.dataset.replaying;
    });
  });
  $('#reset').addEventListener('click', () =>
    serial(async () => {
      await recommender.forget();
      $<HTMLSelectElement>('#persona').value = '';
      $('#persona-result').hidden = true;
      $('#product').hidden = true;
      replayed = undefined;
      delete document.body.dataset.persona;
      weights = { ...tuned };
      diversity = 0;
      renderSliders();
      applySteering();
    }),
  );
  $('#tuned').addEventListener('click', () => {
    weights = { ...tuned };
    diversity = 0;
    renderSliders();
    applySteering();
  });
  $<HTMLInputElement>('#explain').addEventListener('change', (event) => {
    const on = (event.target as HTMLInputElement).checked;
    for (const s of document.querySelectorAll('localrank-shelf')) s.toggleAttribute('explain', on);
    void refreshCompare().catch(showError);
  });
  $('#forget').addEventListener('click', () =>
    serial(async () => {
      await recommender.forget();
      $('#product').hidden = true;
      $('#persona-result').hidden = true;
      replayed = undefined;
      delete document.body.dataset.persona;
      await refreshHistory();
    }),
  );
  document.body.dataset.ready = 'true';
  await drawCharts();
}

main().catch(showError);
