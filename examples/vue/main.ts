/**
 * A Vue host. <localrank-shelf> is a plain custom element rendered with h(); Vue turns `onLocalrankClick` into a
 * listener for the shelf's localrank-click event, and the app routes with history.pushState (no page load).
 * In a template: <localrank-shelf :item="id" @localrank-click.prevent="select($event.detail)" />, with
 * compilerOptions.isCustomElement = (tag) => tag.startsWith('localrank-') in the Vue plugin's options.
 */
import { createApp, defineComponent, h, onBeforeUnmount, ref, type VNode } from 'vue';
import { sharedRecommender, type Placement, type ShelfItemDetail } from '../../src/widget/index.ts';

const BUNDLE = '/bundles/online-retail/';

type Product = Pick<ShelfItemDetail, 'itemId' | 'title' | 'price' | 'category'>;

function shelf(placement: Placement, item: string | undefined, onSelect: (item: ShelfItemDetail) => void, k = 6): VNode {
  return h('localrank-shelf', {
    id: placement,
    bundle: BUNDLE,
    placement,
    k,
    explain: '',
    item,
    onLocalrankClick: (event: CustomEvent<ShelfItemDetail>) => {
      event.preventDefault(); // the app routes; the card's link (if any) must not load a page
      onSelect(event.detail);
    },
  });
}

const App = defineComponent({
  setup() {
    const product = ref<Product | null>((history.state as Product | null) ?? null);
    const cart = ref(0);
    const select = (detail: ShelfItemDetail): void => {
      const next: Product = { itemId: detail.itemId, title: detail.title, price: detail.price, category: detail.category };
      history.pushState(next, '', `?item=${encodeURIComponent(next.itemId)}`);
      product.value = next;
    };
    const onPop = (): void => void (product.value = (history.state as Product | null) ?? null);
    addEventListener('popstate', onPop);
    onBeforeUnmount(() => removeEventListener('popstate', onPop));
    // The host tracks its own events through the shelves' shared recommender: every shelf updates.
    const addToCart = async (): Promise<void> => {
      if (!product.value) return;
      await (await sharedRecommender(BUNDLE)).track({ itemId: product.value.itemId, type: 'cart' });
      cart.value++;
    };
    return () => {
      const p = product.value;
      return h('div', [
        h('header', [h('a', { href: './' }, ['Example shop ', h('small', 'Vue')]), h('span', ['Cart: ', h('output', { id: 'cart-count' }, String(cart.value))])]),
        h('main', [
          p &&
            h('section', { id: 'product', 'aria-labelledby': 'product-title' }, [
              h('h1', { id: 'product-title' }, p.title), // Vue renders text as text
              h('p', { id: 'product-meta' }, [p.category, p.price?.toFixed(2)].filter(Boolean).join(' · ')),
              h('button', { type: 'button', id: 'add-to-cart', onClick: () => void addToCart() }, 'Add to cart'),
              shelf('similar', p.itemId, select),
              shelf('bought-together', p.itemId, select),
              shelf('recently-viewed', p.itemId, select),
            ]),
          shelf('for-you', p?.itemId, select, 8),
        ]),
      ]);
    };
  },
});

createApp(App).mount('#app');
