/**
 * A React host. <localrank-shelf> is a plain custom element: React passes its string props as attributes; the shelf's
 * localrank-click event is handled through a ref, and the app routes with history.pushState (no page load).
 * Written with createElement (`h`) so that it needs no JSX set-up; in JSX: <localrank-shelf ref={ref} bundle=… />.
 */
import { createElement as h, StrictMode, useCallback, useEffect, useRef, useState, type ReactElement } from 'react';
import { createRoot } from 'react-dom/client';
import { sharedRecommender, type Placement, type ShelfItemDetail } from '../../src/widget/index.ts';

const BUNDLE = '/bundles/online-retail/';

type Product = Pick<ShelfItemDetail, 'itemId' | 'title' | 'price' | 'category'>;

function Shelf(props: { placement: Placement; item?: string | undefined; k?: number; onSelect: (item: ShelfItemDetail) => void }): ReactElement {
  const { placement, item, k = 6, onSelect } = props;
  const ref = useRef<HTMLElement>(null);
  useEffect(() => {
    const shelf = ref.current;
    if (!shelf) return undefined;
    const onClick = (event: CustomEvent<ShelfItemDetail>): void => {
      event.preventDefault(); // the app routes; the card's link (if any) must not load a page
      onSelect(event.detail);
    };
    shelf.addEventListener('localrank-click', onClick);
    return () => shelf.removeEventListener('localrank-click', onClick);
  }, [onSelect]);
  return h('localrank-shelf', { ref, id: placement, bundle: BUNDLE, placement, k: String(k), explain: '', ...(item && { item }) });
}

function App(): ReactElement {
  const [product, setProduct] = useState<Product | null>(() => (history.state as Product | null) ?? null);
  const [cart, setCart] = useState(0);
  const select = useCallback((detail: ShelfItemDetail) => {
    const next: Product = { itemId: detail.itemId, title: detail.title, price: detail.price, category: detail.category };
    history.pushState(next, '', `?item=${encodeURIComponent(next.itemId)}`);
    setProduct(next);
  }, []);
  useEffect(() => {
    const onPop = (): void => setProduct((history.state as Product | null) ?? null);
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);
  // The host tracks its own events through the shelves' shared recommender: every shelf updates.
  const addToCart = async (): Promise<void> => {
    if (!product) return;
    await (await sharedRecommender(BUNDLE)).track({ itemId: product.itemId, type: 'cart' });
    setCart((n) => n + 1);
  };
  return h(
    'div',
    null,
    h('header', null, h('a', { href: './' }, 'Example shop ', h('small', null, 'React')), h('span', null, 'Cart: ', h('output', { id: 'cart-count' }, String(cart)))),
    h(
      'main',
      null,
      product &&
        h(
          'section',
          { id: 'product', 'aria-labelledby': 'product-title' },
          h('h1', { id: 'product-title' }, product.title), // React renders text as text
          h('p', { id: 'product-meta' }, [product.category, product.price?.toFixed(2)].filter(Boolean).join(' · ')),
          h('button', { type: 'button', id: 'add-to-cart', onClick: () => void addToCart() }, 'Add to cart'),
          h(Shelf, { placement: 'similar', item: product.itemId, onSelect: select }),
          h(Shelf, { placement: 'bought-together', item: product.itemId, onSelect: select }),
          h(Shelf, { placement: 'recently-viewed', item: product.itemId, onSelect: select }),
        ),
      h(Shelf, { placement: 'for-you', item: product?.itemId, k: 8, onSelect: select }),
    ),
  );
}

createRoot(document.getElementById('root')!).render(h(StrictMode, null, h(App)));
