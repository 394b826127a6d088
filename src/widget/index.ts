/**
 * The widget entry: importing it defines <localrank-shelf> (once, wherever it is imported from).
 *
 *   import 'localrank/widget';            // or src/widget/index.ts
 *   <localrank-shelf bundle="/bundles/shop/" placement="trending"></localrank-shelf>
 */
import { LocalrankShelf, warmUpPriceFormats } from './shelf.ts';

export { LocalrankShelf, PLACEMENTS, type Placement, type ShelfErrorDetail, type ShelfItemDetail, type ShelfRenderDetail, type ShelfState } from './shelf.ts';
export { sharedRecommender, disposeSharedRecommenders, type HistoryChangedDetail, type SharedRecommenderOptions } from './registry.ts';

export const SHELF_TAG = 'localrank-shelf';

/** Defines <localrank-shelf> under its name (or another one); does nothing outside a browser or when already defined. */
export function defineShelf(tag = SHELF_TAG): void {
  if (typeof customElements === 'undefined' || customElements.get(tag)) return;
  // A second name needs its own subclass: a constructor can be registered once.
  customElements.define(tag, tag === SHELF_TAG ? LocalrankShelf : class extends LocalrankShelf {});
  warmUpPriceFormats();
}

defineShelf();
