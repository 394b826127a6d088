/**
 * The product managers' demo: the Online Retail catalog, a live "Recommended for you" shelf that re-ranks after every
 * click or add-to-cart, and "Similar items" on the open product. All text from the bundle is set as textContent.
 */
import { createRecommender, RecommenderError, type Backend, type ItemMeta, type Recommender, type EventType } from '../index.ts';

declare global {
  interface Window {
    /** The demo's recommender, for exploring the API from the console (and for the browser tests). */
    localrank?: Recommender;
  }
}

const BUNDLE_URL = new URL('bundles/online-retail/manifest.json', document.baseURI).href;
const PAGE_SIZE = 48;
const SHELF_SIZE = 8;

const $ = <T extends HTMLElement>(selector: string): T => document.querySelector<T>(selector)!;
const price = new Intl.NumberFormat('en-GB', { style: 'currency', currency: 'GBP' });

let recommender: Recommender;
let catalog: ItemMeta[] = [];
const byId = new Map<string, ItemMeta>();
let shown = PAGE_SIZE;
let openItem: ItemMeta | null = null;

/** The catalog has no images: a tile coloured by category with the title's initial stands in. */
function paintPlaceholder(art: HTMLElement, item: { title: string; category?: string | undefined }): void {
  art.dataset.category = item.category ?? '';
  art.textContent = (item.title.match(/[A-Z0-9]/i)?.[0] ?? '?').toUpperCase();
}

function card(item: { itemId?: string; id?: string; title: string; category?: string | undefined; price?: number | undefined }, note?: string): HTMLElement {
  const id = item.itemId ?? item.id!;
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'card';
  button.dataset.itemId = id;
  const art = document.createElement('span');
  art.className = 'placeholder';
  art.setAttribute('aria-hidden', 'true');
  paintPlaceholder(art, item);
  const title = document.createElement('span');
  title.className = 'title';
  title.textContent = item.title;
  const meta = document.createElement('span');
  meta.className = 'meta';
  meta.textContent = [item.price === undefined ? '' : price.format(item.price), note ?? item.category ?? ''].filter(Boolean).join(' · ');
  button.append(art, title, meta);
  return button;
}

function explain(contributions: Record<string, number>): string {
  const [top] = Object.entries(contributions).sort((a, b) => b[1] - a[1]);
  const label: Record<string, string> = { itemKnn: 'bought with your items', userKnn: 'shoppers like you chose it', deep: 'matches your taste', popularity: 'popular now' };
  return top && top[1] > 0 ? label[top[0]] ?? top[0] : '';
}

async function refreshShelf(): Promise<void> {
  const result = await recommender.recommend({ k: SHELF_SIZE });
  $('#for-you .cards').replaceChildren(...result.items.map((r) => card(r, explain(r.contributions))));
  $('#for-you-basis').textContent = result.basis === 'popularity' ? '— popular items until you click something' : '— from your activity';
  await refreshStatus();
}

async function refreshStatus(): Promise<void> {
  const stats = await recommender.stats();
  $('#status-backend').textContent = stats.backend;
  $('#status-latency').textContent = stats.lastLatencyMs === null ? '–' : `${stats.lastLatencyMs.toFixed(1)} ms`;
  $('#status-history').textContent = String(stats.historySize);
  $('#status-bundle').textContent = `${stats.bundleVersion} · ${stats.itemCount.toLocaleString('en-GB')} items`;
}

async function openProduct(item: ItemMeta): Promise<void> {
  openItem = item;
  $('#product').hidden = false;
  $('#product-title').textContent = item.title;
  paintPlaceholder($('#product .placeholder'), item);
  $('#product-meta').textContent = [item.price === undefined ? '' : price.format(item.price), item.category ?? ''].filter(Boolean).join(' · ');
  const similar = await recommender.similarItems(item.id, { k: SHELF_SIZE });
  $('#similar .cards').replaceChildren(...similar.items.map((s) => card(s)));
}

async function track(itemId: string, type: EventType): Promise<void> {
  await recommender.track({ itemId, type });
  await refreshShelf();
}

function renderCatalog(): void {
  const query = $<HTMLInputElement>('#search').value.trim().toUpperCase();
  const category = $<HTMLSelectElement>('#category').value;
  const matches = catalog.filter((it) => (!query || it.title.toUpperCase().includes(query)) && (!category || it.category === category));
  $('#catalog').replaceChildren(...matches.slice(0, shown).map((it) => card(it)));
  $('#more').hidden = matches.length <= shown;
}

function showError(error: unknown): void {
  const box = $('#error');
  box.hidden = false;
  box.textContent = `The recommender is unavailable: ${(error as Error).message}. The shop still works.`;
  document.body.dataset.errorCode = error instanceof RecommenderError ? error.code : 'UNKNOWN';
}

async function main(): Promise<void> {
  // ?backend=wasm (webgpu, webgl, cpu) pins the compute backend; by default the fastest measured one is used.
  const backend = (new URLSearchParams(location.search).get('backend') ?? 'auto') as Backend | 'auto';
  recommender = await createRecommender({ bundleUrl: BUNDLE_URL, backend });
  window.localrank = recommender;
  catalog = await recommender.items();
  for (const it of catalog) byId.set(it.id, it);
  const categories = [...new Set(catalog.map((it) => it.category).filter((c): c is string => !!c))].sort();
  $('#category').append(...categories.map((c) => Object.assign(document.createElement('option'), { value: c, textContent: c })));
  renderCatalog();
  await refreshShelf();

  // One delegated listener: a click on any product card is a tracked click and opens the product.
  document.addEventListener('click', (event) => {
    const target = (event.target as HTMLElement).closest<HTMLElement>('.card[data-item-id]');
    const item = target && byId.get(target.dataset.itemId!);
    if (!item) return;
    void Promise.all([openProduct(item), track(item.id, 'click')]).catch(showError);
    $('#product').scrollIntoView({ block: 'nearest' });
  });
  $('#add-to-cart').addEventListener('click', () => {
    if (openItem) void track(openItem.id, 'cart').catch(showError);
  });
  $('#search').addEventListener('input', () => ((shown = PAGE_SIZE), renderCatalog()));
  $('#category').addEventListener('change', () => ((shown = PAGE_SIZE), renderCatalog()));
  $('#more').addEventListener('click', () => ((shown += PAGE_SIZE), renderCatalog()));
  $('#forget').addEventListener('click', () => {
    void recommender
      .forget()
      .then(() => {
        $('#product').hidden = true;
        return refreshShelf();
      })
      .catch(showError);
  });
  document.body.dataset.ready = 'true';
}

main().catch(showError);
