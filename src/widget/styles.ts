/**
 * The shelf's Shadow DOM styles. Themable from the page through CSS custom properties (--localrank-*) and ::part();
 * system colours by default, so it reads well in light and dark pages alike.
 */
export const SHELF_CSS = /* css */ `
:host {
  display: block;
  color: var(--localrank-text-color, inherit);
  font: var(--localrank-font, inherit);
  --_gap: var(--localrank-gap, 0.75rem);
  --_radius: var(--localrank-card-radius, 0.75rem);
  --_padding: var(--localrank-card-padding, 0.5rem);
  --_muted: var(--localrank-muted-color, color-mix(in srgb, currentColor 62%, transparent));
  --_line: color-mix(in srgb, currentColor 14%, transparent);
}
:host([hidden]) { display: none; }
* { box-sizing: border-box; }
.shelf { margin: 0; }
.heading {
  margin: 0 0 0.5em;
  font: var(--localrank-heading-font, 600 1.125rem/1.3 system-ui, sans-serif);
  color: var(--localrank-heading-color, inherit);
}
.list {
  list-style: none;
  margin: 0;
  padding: 4px 2px 8px;
  display: grid;
  gap: var(--_gap);
}
:host(:not([layout="grid"])) .list {
  grid-auto-flow: column;
  grid-auto-columns: var(--localrank-card-width, clamp(8.5rem, 38vw, 11rem));
  overflow-x: auto;
  overscroll-behavior-x: contain;
  scroll-snap-type: x proximity;
  scrollbar-width: thin;
}
:host([layout="grid"]) .list {
  grid-template-columns: repeat(auto-fill, minmax(var(--localrank-card-width, 9.5rem), 1fr));
}
.item { display: flex; min-width: 0; scroll-snap-align: start; }
.card {
  all: unset;
  box-sizing: border-box;
  display: flex;
  flex-direction: column;
  gap: 0.35rem;
  width: 100%;
  padding: var(--_padding);
  border: var(--localrank-card-border, 1px solid var(--_line));
  border-radius: var(--_radius);
  background: var(--localrank-card-background, Canvas);
  color: var(--localrank-card-color, CanvasText);
  box-shadow: var(--localrank-card-shadow, none);
  font: inherit;
  text-align: start;
  cursor: pointer;
  transition: border-color 120ms, transform 120ms;
}
.card:hover { border-color: var(--localrank-accent-color, color-mix(in srgb, currentColor 40%, transparent)); }
.card:focus-visible {
  outline: var(--localrank-focus-ring, 3px solid var(--localrank-accent-color, Highlight));
  outline-offset: 2px;
}
.image, .placeholder {
  display: block;
  width: 100%;
  aspect-ratio: var(--localrank-image-ratio, 1);
  border-radius: calc(var(--_radius) - var(--_padding) / 2);
  object-fit: cover;
  background: var(--localrank-placeholder-background, hsl(var(--_hue, 210) 40% 90%));
}
.placeholder {
  display: grid;
  place-items: center;
  color: var(--localrank-placeholder-color, hsl(var(--_hue, 210) 30% 38%));
  font: 600 2rem/1 system-ui, sans-serif;
  user-select: none;
}
.title {
  display: -webkit-box;
  -webkit-box-orient: vertical;
  -webkit-line-clamp: var(--localrank-title-lines, 2);
  line-clamp: var(--localrank-title-lines, 2);
  overflow: hidden;
  font-size: 0.875rem;
  line-height: 1.3;
  overflow-wrap: anywhere;
}
.price { font-weight: 600; font-size: 0.875rem; color: var(--localrank-price-color, inherit); }
.reason { font-size: 0.75rem; line-height: 1.3; color: var(--_muted); overflow-wrap: anywhere; }
.empty { margin: 0; padding: 0.75rem 0; color: var(--_muted); font-size: 0.875rem; }
.skeleton {
  border-radius: var(--_radius);
  border: 1px solid var(--_line);
  padding: var(--_padding);
  display: flex;
  flex-direction: column;
  gap: 0.4rem;
}
.skeleton::before, .skeleton::after {
  content: '';
  display: block;
  border-radius: calc(var(--_radius) / 2);
  background: linear-gradient(90deg, var(--_line) 0%, color-mix(in srgb, currentColor 6%, transparent) 50%, var(--_line) 100%);
  background-size: 200% 100%;
  animation: localrank-shimmer 1.4s ease-in-out infinite;
}
.skeleton::before { aspect-ratio: var(--localrank-image-ratio, 1); }
.skeleton::after { height: 2.4em; width: 80%; }
@keyframes localrank-shimmer { from { background-position: 100% 0; } to { background-position: -100% 0; } }
@media (prefers-reduced-motion: reduce) {
  .skeleton::before, .skeleton::after { animation: none; }
  .card { transition: none; }
}
.visually-hidden {
  position: absolute !important;
  width: 1px;
  height: 1px;
  margin: -1px;
  padding: 0;
  overflow: hidden;
  clip: rect(0 0 0 0);
  white-space: nowrap;
  border: 0;
}
`;
