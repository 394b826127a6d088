/**
 * <localrank-shelf>: a row (or grid) of product cards for one placement, computed on the shopper's device.
 *
 *   <localrank-shelf bundle="/bundles/shop/" placement="similar" item="85123A" k="8" explain></localrank-shelf>
 *
 * Shadow DOM, keyboard-navigable (one tab stop, arrow keys between cards), labelled for screen readers, themable with
 * --localrank-* custom properties and ::part(). Item text from the bundle is only ever set as textContent. The element
 * never throws into the host page: a failure empties and hides it and dispatches `localrank-error`.
 */
import type { Recommender } from '../client/client.ts';
import type { ListedItem, PageContext } from '../engine/types.ts';
import { RecommenderError, type RecommenderErrorCode } from '../errors.ts';
import type { Reason } from '../rank/explain.ts';
import type { RankingRules } from '../rank/rules.ts';
import type { ScorerName } from '../model/fusion.ts';
import { bundleKey, evictSharedRecommender, sharedRecommender } from './registry.ts';
import { SHELF_CSS } from './styles.ts';

export const PLACEMENTS = ['for-you', 'similar', 'bought-together', 'trending', 'recently-viewed'] as const;
export type Placement = (typeof PLACEMENTS)[number];

const DEFAULT_HEADINGS: Record<Placement, string> = {
  'for-you': 'Recommended for you',
  similar: 'Similar items',
  'bought-together': 'Frequently bought together',
  trending: 'Trending now',
  'recently-viewed': 'Recently viewed',
};
const DEFAULT_K = 8;
const MAX_K = 100;
const OBSERVED = ['bundle', 'placement', 'item', 'category', 'k', 'rules', 'diversity', 'explain', 'heading', 'href', 'locale', 'currency', 'backend'] as const;

/** What a card event tells the host. */
export interface ShelfItemDetail {
  itemId: string;
  title: string;
  category?: string;
  price?: number;
  image?: string;
  /** 0-based position in the shelf. */
  position: number;
  placement: Placement;
  /** The card's link, when the shelf has an `href` template. */
  href?: string;
  reason?: Reason;
  pinned?: boolean;
}

export interface ShelfErrorDetail {
  code: RecommenderErrorCode | 'UNKNOWN';
  message: string;
  placement: string;
  bundle: string;
}

export interface ShelfRenderDetail {
  placement: Placement;
  itemIds: string[];
}

export type ShelfState = 'loading' | 'ready' | 'empty' | 'error';

// In Node (server rendering, unit tests) there is no HTMLElement: the module still imports, the element is never defined.
const Base = (globalThis.HTMLElement ?? class {}) as typeof HTMLElement;

export class LocalrankShelf extends Base {
  static readonly observedAttributes = OBSERVED;

  private readonly root: ShadowRoot;
  private readonly section: HTMLElement;
  private readonly headingText: HTMLElement;
  private readonly list: HTMLUListElement;
  private readonly loading: HTMLElement;
  private readonly empty: HTMLElement;
  private rendered: ListedItem[] = [];
  private renderedKey: string | undefined;
  private generation = 0;
  private scheduled = false;
  private current: Recommender | undefined;
  /** True once the current question has an answer on screen. */
  private answered = false;
  private unsubscribe: (() => void) | undefined;
  private observer: IntersectionObserver | undefined;
  private readonly impressed = new Set<string>();
  private hiddenByError = false;
  private rulesProperty: RankingRules | undefined;
  private itemsProperty: string[] | undefined;
  private weightsProperty: Partial<Record<ScorerName, number>> | undefined;

  constructor() {
    super();
    this.root = this.attachShadow({ mode: 'open' });
    const style = document.createElement('style');
    style.textContent = SHELF_CSS;
    this.section = el('section', 'shelf', 'shelf');
    this.section.setAttribute('aria-labelledby', 'heading');
    const heading = el('div', 'heading', 'heading');
    heading.id = 'heading';
    heading.setAttribute('role', 'heading');
    heading.setAttribute('aria-level', '2');
    const headingSlot = document.createElement('slot');
    headingSlot.name = 'heading';
    this.headingText = el('span');
    headingSlot.append(this.headingText);
    heading.append(headingSlot);
    this.loading = el('div', 'loading', 'loading');
    this.list = el('ul', 'list', 'list') as HTMLUListElement;
    this.list.setAttribute('role', 'list'); // keeps list semantics where list-style: none would drop them
    this.empty = el('p', 'empty', 'empty');
    const emptySlot = document.createElement('slot');
    emptySlot.name = 'empty';
    emptySlot.textContent = 'Nothing to show yet.';
    this.empty.append(emptySlot);
    this.section.append(heading, this.loading, this.list, this.empty);
    this.root.append(style, this.section);
    this.list.addEventListener('click', (event) => this.guard(() => this.onClick(event)));
    this.list.addEventListener('keydown', (event) => this.guard(() => this.onKeyDown(event)));
  }

  // ------------------------------------------------------------ public API

  /** Rules as an object (overrides the `rules` attribute's JSON). */
  get rules(): RankingRules | undefined {
    return this.rulesProperty;
  }
  set rules(value: RankingRules | undefined) {
    this.rulesProperty = value ?? undefined;
    this.schedule();
  }

  /** Fusion weights for placement="for-you" (recommend()'s `weights`): overrides the bundle's tuned ones. */
  get weights(): Partial<Record<ScorerName, number>> | undefined {
    return this.weightsProperty;
  }
  set weights(value: Partial<Record<ScorerName, number>> | undefined) {
    this.weightsProperty = value ?? undefined;
    this.schedule();
  }

  /** Several item ids for placement="bought-together" (a cart); overrides the `item` attribute. */
  get items(): string[] | undefined {
    return this.itemsProperty;
  }
  set items(value: string[] | undefined) {
    this.itemsProperty = value ?? undefined;
    this.schedule();
  }

  /** The shared recommender of this shelf's bundle, for the host's own calls (track a cart or a purchase…). */
  get recommender(): Promise<Recommender> {
    return sharedRecommender(this.getAttribute('bundle') ?? '', this.sharedOptions());
  }

  /** The items shown now. */
  get results(): readonly ListedItem[] {
    return this.rendered;
  }

  get state(): ShelfState {
    return (this.getAttribute('state') as ShelfState | null) ?? 'loading';
  }

  /** Asks again now (the shelf also refreshes by itself when its attributes or the shopper's history change). */
  refresh(): void {
    this.renderedKey = undefined;
    this.schedule();
  }

  // ------------------------------------------------------------ lifecycle

  connectedCallback(): void {
    this.guard(() => {
      if (!this.hasAttribute('state')) this.setState('loading');
      this.schedule();
    });
  }

  disconnectedCallback(): void {
    this.guard(() => {
      this.unsubscribe?.();
      this.unsubscribe = undefined;
      this.current = undefined;
      this.observer?.disconnect();
      this.generation++; // answers still on their way are dropped
    });
  }

  attributeChangedCallback(name: string, before: string | null, after: string | null): void {
    if (before === after) return;
    this.guard(() => {
      if (name === 'heading') {
        this.renderHeading();
      } else if (name === 'explain' || name === 'href' || name === 'locale' || name === 'currency') {
        if (this.answered) this.render(this.rendered); // presentation only: no new query
      } else {
        this.schedule();
      }
    });
  }

  // ------------------------------------------------------------ querying

  private schedule(): void {
    if (this.scheduled || !this.isConnected) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      if (this.isConnected) void this.update();
    });
  }

  private async update(): Promise<void> {
    const generation = ++this.generation;
    try {
      const query = this.query();
      this.renderHeading();
      if (query.key !== this.renderedKey) {
        // A different question: show the loading state; a refresh of the same one keeps the cards until it answers.
        this.renderedKey = query.key;
        this.impressed.clear();
        this.showLoading(query.k);
      }
      const recommender = await sharedRecommender(query.bundle, this.sharedOptions());
      if (generation !== this.generation) return;
      if (recommender !== this.current) {
        this.unsubscribe?.();
        this.current = recommender;
        this.unsubscribe = recommender.onHistoryChange(() => this.schedule());
      }
      const items = await query.run(recommender);
      if (generation !== this.generation) return;
      this.render(items);
    } catch (error) {
      // A dead worker is not coming back: the next question starts a new one.
      if (error instanceof RecommenderError && (error.code === 'WORKER_FAILED' || error.code === 'DISPOSED') && this.current) {
        evictSharedRecommender(this.getAttribute('bundle') ?? '', this.current);
        this.unsubscribe?.();
        this.unsubscribe = undefined;
        this.current = undefined;
      }
      if (generation === this.generation) this.fail(error);
    }
  }

  private query(): { key: string; bundle: string; placement: Placement; k: number; run: (r: Recommender) => Promise<ListedItem[]> } {
    const bundle = this.getAttribute('bundle');
    if (!bundle) throw new RecommenderError('INVALID_OPTION', '<localrank-shelf>: the bundle attribute is required (the URL of a bundle manifest or its folder)');
    const placementAttribute = this.getAttribute('placement') ?? 'for-you';
    if (!PLACEMENTS.includes(placementAttribute as Placement)) {
      throw new RecommenderError('INVALID_OPTION', `<localrank-shelf>: placement: expected one of ${PLACEMENTS.join(', ')}, got ${JSON.stringify(placementAttribute)}`);
    }
    const placement = placementAttribute as Placement;
    const k = this.integerAttribute('k', 1, MAX_K, DEFAULT_K);
    const diversity = this.numberAttribute('diversity', 0, 1);
    const rules = this.rulesProperty ?? this.rulesAttribute();
    const item = this.getAttribute('item') || undefined;
    const category = this.getAttribute('category') || undefined;
    const context: PageContext | undefined = item || category ? { ...(item && { itemId: item }), ...(category && { category }) } : undefined;
    const list = { k, ...(rules && { rules }), ...(diversity !== undefined && { diversity }) };
    const weights = this.weightsProperty;
    const key = JSON.stringify([bundleKey(bundle), placement, item, category, k, diversity, rules, this.itemsProperty, weights]);
    const run = async (r: Recommender): Promise<ListedItem[]> => {
      switch (placement) {
        case 'for-you':
          return (await r.recommend({ ...list, ...(context && { context }), ...(weights && { weights }) })).items;
        case 'similar':
          // Waiting for its item (a host may set it after mounting the shelf): empty, not an error.
          return item ? (await r.similarItems(item, list)).items : [];
        case 'bought-together':
          return (await r.boughtTogether(this.itemsProperty ?? (item ? [item] : undefined), list)).items;
        case 'trending':
          return (await r.trending({ ...list, ...(context && { context }) })).items;
        case 'recently-viewed': {
          // The page's own item is not "recently viewed" on its own page.
          const withPage = item ? { ...rules, exclude: [...(rules?.exclude ?? []), item] } : rules;
          return (await r.recentlyViewed({ k, ...(withPage && { rules: withPage }) })).items;
        }
      }
    };
    return { key, bundle, placement, k, run };
  }

  private sharedOptions(): { backend?: 'auto' | 'webgpu' | 'webgl' | 'wasm' | 'cpu' } {
    const backend = this.getAttribute('backend');
    return backend ? { backend: backend as 'auto' } : {};
  }

  private integerAttribute(name: string, min: number, max: number, fallback: number): number {
    const raw = this.getAttribute(name);
    if (raw === null || raw.trim() === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) throw new RecommenderError('INVALID_OPTION', `<localrank-shelf>: ${name}: expected an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    return value;
  }

  private numberAttribute(name: string, min: number, max: number): number | undefined {
    const raw = this.getAttribute(name);
    if (raw === null || raw.trim() === '') return undefined;
    const value = Number(raw);
    if (!(value >= min && value <= max)) throw new RecommenderError('INVALID_OPTION', `<localrank-shelf>: ${name}: expected a number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    return value;
  }

  private rulesAttribute(): RankingRules | undefined {
    const raw = this.getAttribute('rules');
    if (raw === null || raw.trim() === '') return undefined;
    try {
      return JSON.parse(raw) as RankingRules;
    } catch {
      throw new RecommenderError('INVALID_OPTION', '<localrank-shelf>: rules: expected JSON, e.g. {"maxPrice": 20, "excludeCategories": ["gift cards"]}');
    }
  }

  // ------------------------------------------------------------ rendering

  private renderHeading(): void {
    const placement = this.getAttribute('placement') as Placement | null;
    this.headingText.textContent = this.getAttribute('heading') ?? DEFAULT_HEADINGS[placement && PLACEMENTS.includes(placement) ? placement : 'for-you'];
  }

  private showLoading(k: number): void {
    this.answered = false;
    this.setState('loading');
    this.section.setAttribute('aria-busy', 'true');
    this.list.replaceChildren();
    this.rendered = [];
    this.empty.hidden = true;
    const skeletons = el('ul', 'list');
    skeletons.setAttribute('aria-hidden', 'true');
    for (let i = 0; i < Math.min(k, 6); i++) skeletons.append(el('li', 'skeleton', 'skeleton'));
    const label = el('span', 'visually-hidden');
    label.textContent = 'Loading recommendations…';
    this.loading.replaceChildren(label, skeletons);
    this.loading.hidden = false;
  }

  private render(items: ListedItem[]): void {
    const focusedIndex = this.focusedIndex();
    this.rendered = items;
    this.answered = true;
    this.loading.hidden = true;
    this.loading.replaceChildren();
    this.section.setAttribute('aria-busy', 'false');
    if (this.hiddenByError) {
      this.hidden = false;
      this.hiddenByError = false;
    }
    this.observer?.disconnect();
    const placement = (this.getAttribute('placement') ?? 'for-you') as Placement;
    const cards = items.map((item, position) => this.card(item, position));
    this.list.replaceChildren(
      ...cards.map((card) => {
        const li = el('li', 'item', 'item');
        li.append(card);
        return li;
      }),
    );
    this.empty.hidden = items.length > 0;
    this.setState(items.length > 0 ? 'ready' : 'empty');
    // Keyboard users keep their place when the shelf re-renders (without scrolling a page the host may have moved).
    if (focusedIndex !== undefined && cards.length > 0) this.focusCard(Math.min(focusedIndex, cards.length - 1), true);
    this.watchImpressions(cards, placement);
    this.emit<ShelfRenderDetail>('localrank-render', { placement, itemIds: items.map((i) => i.itemId) });
  }

  private card(item: ListedItem, position: number): HTMLElement {
    const href = this.hrefFor(item.itemId);
    const card = el(href ? 'a' : 'button', 'card', 'card');
    if (href) (card as HTMLAnchorElement).href = href;
    else (card as HTMLButtonElement).type = 'button';
    card.dataset.itemId = item.itemId;
    card.dataset.position = String(position);
    card.tabIndex = position === 0 ? 0 : -1;
    card.append(this.picture(item));
    const title = el('span', 'title', 'title');
    title.textContent = item.title;
    card.append(title);
    if (item.price !== undefined) {
      const price = el('span', 'price', 'price');
      price.textContent = this.formatPrice(item.price);
      card.append(price);
    }
    if (this.hasAttribute('explain') && item.reason) {
      const reason = el('span', 'reason', 'reason');
      reason.textContent = item.reason.text;
      card.append(reason);
    }
    return card;
  }

  /** The item's image where it has a safe (http/https) URL; otherwise a tile with the title's initial. */
  private picture(item: ListedItem): HTMLElement {
    const hue = String(hash(item.category ?? item.title) % 360);
    const placeholder = (): HTMLElement => {
      const tile = el('span', 'placeholder', 'placeholder');
      tile.setAttribute('aria-hidden', 'true');
      tile.style.setProperty('--_hue', hue);
      tile.textContent = (/[\p{L}\p{N}]/u.exec(item.title)?.[0] ?? '•').toUpperCase();
      return tile;
    };
    const src = item.image && safeUrl(item.image, bundleKey(this.getAttribute('bundle') ?? ''));
    if (!src) return placeholder();
    const image = el('img', 'image', 'image') as HTMLImageElement;
    image.alt = ''; // the title next to it names the card
    image.loading = 'lazy';
    image.decoding = 'async';
    image.style.setProperty('--_hue', hue);
    image.addEventListener('error', () => image.replaceWith(placeholder()), { once: true });
    image.src = src;
    return image;
  }

  private hrefFor(itemId: string): string | undefined {
    const template = this.getAttribute('href');
    if (!template) return undefined;
    return safeUrl(template.replaceAll('{id}', encodeURIComponent(itemId)), document.baseURI);
  }

  private formatPrice(price: number): string {
    const locale = this.getAttribute('locale') || undefined;
    const currency = this.getAttribute('currency') || undefined;
    try {
      return priceFormat(locale, currency).format(price);
    } catch {
      return price.toFixed(2);
    }
  }

  private fail(error: unknown): void {
    this.list.replaceChildren();
    this.loading.replaceChildren();
    this.rendered = [];
    this.renderedKey = undefined;
    this.answered = false;
    this.observer?.disconnect();
    this.section.setAttribute('aria-busy', 'false');
    this.setState('error');
    if (!this.hidden) {
      this.hidden = true;
      this.hiddenByError = true;
    }
    this.report(error);
  }

  /** Tells the host about a failure without throwing. */
  private report(error: unknown): void {
    const code = error instanceof RecommenderError ? error.code : 'UNKNOWN';
    const message = error instanceof Error ? error.message : String(error);
    this.emit<ShelfErrorDetail>('localrank-error', { code, message, placement: this.getAttribute('placement') ?? 'for-you', bundle: this.getAttribute('bundle') ?? '' });
  }

  private setState(state: ShelfState): void {
    if (this.getAttribute('state') !== state) this.setAttribute('state', state);
  }

  // ------------------------------------------------------------ interaction

  private onClick(event: MouseEvent): void {
    const card = this.cardOf(event);
    if (!card) return;
    const position = Number(card.dataset.position);
    const item = this.rendered[position];
    if (!item) return;
    this.focusCard(position);
    const detail = this.detail(item, position, card);
    const accepted = this.emit<ShelfItemDetail>('localrank-click', detail, true);
    // The host routes in its SPA: preventDefault() on localrank-click keeps the link from loading a page.
    if (!accepted) event.preventDefault();
    if (!this.hasAttribute('no-track') && this.current) {
      this.current.track({ itemId: item.itemId, type: 'click' }).catch((error: unknown) => this.report(error));
    }
  }

  private onKeyDown(event: KeyboardEvent): void {
    const card = this.cardOf(event);
    if (!card) return;
    const cards = this.cards();
    const at = cards.indexOf(card);
    const grid = this.getAttribute('layout') === 'grid';
    const columns = grid ? this.columns(cards) : 1;
    const moves: Record<string, number> = {
      ArrowRight: at + 1,
      ArrowLeft: at - 1,
      Home: 0,
      End: cards.length - 1,
      ...(grid && { ArrowDown: at + columns, ArrowUp: at - columns }),
    };
    const next = moves[event.key];
    if (next === undefined) return;
    event.preventDefault();
    this.focusCard(Math.max(0, Math.min(cards.length - 1, next)));
  }

  private cards(): HTMLElement[] {
    return Array.from(this.list.querySelectorAll<HTMLElement>('.card'));
  }

  private cardOf(event: Event): HTMLElement | undefined {
    for (const target of event.composedPath()) {
      if (target instanceof HTMLElement && target.classList.contains('card')) return target;
      if (target === this.list) break;
    }
    return undefined;
  }

  /** Roving tab stop: the focused card is the shelf's only tab stop. */
  private focusCard(index: number, preventScroll = false): void {
    const cards = this.cards();
    cards.forEach((card, i) => (card.tabIndex = i === index ? 0 : -1));
    cards[index]?.focus({ preventScroll });
  }

  private focusedIndex(): number | undefined {
    const active = this.root.activeElement as HTMLElement | null;
    return active?.classList.contains('card') ? Number(active.dataset.position) : undefined;
  }

  private columns(cards: HTMLElement[]): number {
    const top = cards[0]?.offsetTop;
    const perRow = cards.findIndex((card) => card.offsetTop !== top);
    return perRow > 0 ? perRow : cards.length || 1;
  }

  private watchImpressions(cards: HTMLElement[], placement: Placement): void {
    const seen = (card: HTMLElement): void => {
      const position = Number(card.dataset.position);
      const item = this.rendered[position];
      if (!item || this.impressed.has(item.itemId)) return;
      this.impressed.add(item.itemId);
      this.emit<ShelfItemDetail>('localrank-impression', { ...this.detail(item, position, card), placement });
    };
    if (typeof IntersectionObserver === 'undefined') {
      cards.forEach(seen);
      return;
    }
    this.observer ??= new IntersectionObserver(
      (entries) =>
        this.guard(() => {
          for (const entry of entries) {
            if (!entry.isIntersecting) continue;
            this.observer?.unobserve(entry.target);
            seen(entry.target as HTMLElement);
          }
        }),
      { threshold: 0.5 },
    );
    for (const card of cards) this.observer.observe(card);
  }

  private detail(item: ListedItem, position: number, card: HTMLElement): ShelfItemDetail {
    const { itemId, title, category, price, image, reason, pinned } = item;
    const href = card instanceof HTMLAnchorElement ? card.href : undefined;
    return {
      itemId,
      title,
      position,
      placement: (this.getAttribute('placement') ?? 'for-you') as Placement,
      ...(category !== undefined && { category }),
      ...(price !== undefined && { price }),
      ...(image !== undefined && { image }),
      ...(href && { href }),
      ...(reason && { reason }),
      ...(pinned && { pinned }),
    };
  }

  /** Dispatches a bubbling, composed event; false when a listener called preventDefault(). */
  private emit<T>(type: string, detail: T, cancelable = false): boolean {
    return this.dispatchEvent(new CustomEvent<T>(type, { detail, bubbles: true, composed: true, cancelable }));
  }

  /** Nothing the element does may throw into the host page. */
  private guard(op: () => void): void {
    try {
      op();
    } catch (error) {
      this.fail(error);
    }
  }
}

function el(tag: string, className?: string, part?: string): HTMLElement {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (part) node.setAttribute('part', part);
  return node;
}

/** An absolute http(s) URL, or undefined: javascript:, data: and other schemes never reach an href or src. */
function safeUrl(value: string, base: string): string | undefined {
  try {
    const url = new URL(value, base);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

function hash(text: string): number {
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (Math.imul(h, 31) + text.charCodeAt(i)) >>> 0;
  return h;
}

declare global {
  interface HTMLElementTagNameMap {
    'localrank-shelf': LocalrankShelf;
  }
  interface HTMLElementEventMap {
    'localrank-click': CustomEvent<ShelfItemDetail>;
    'localrank-impression': CustomEvent<ShelfItemDetail>;
    'localrank-error': CustomEvent<ShelfErrorDetail>;
    'localrank-render': CustomEvent<ShelfRenderDetail>;
  }
}

/** One formatter per locale and currency, made when first needed. */
const priceFormats = new Map<string, Intl.NumberFormat>();

/**
 * A page's first Intl call of any kind loads ICU's locale data: 35–90 ms here, later formatters 0.02–0.08 ms (and
 * 0.3–1.5 ms for another locale's first). Done in a task of its own while the recommender starts, so that the first
 * shelf's rendering does not pay it; the next task rather than an idle one, because a loading page is seldom idle
 * before its first shelf renders (on a page without Intl of its own, the idle callback came after every shelf, and
 * the first one took 54–112 ms to render instead of 6–13).
 */
export function warmUpPriceFormats(): void {
  setTimeout(() => void new Intl.NumberFormat().format(0), 0);
}

function priceFormat(locale: string | undefined, currency: string | undefined): Intl.NumberFormat {
  const key = `${locale ?? ''} ${currency ?? ''}`;
  let format = priceFormats.get(key);
  if (!format) {
    format = new Intl.NumberFormat(locale, currency ? { style: 'currency', currency } : { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    priceFormats.set(key, format);
  }
  return format;
}
