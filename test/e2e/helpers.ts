import { expect, type Page } from '@playwright/test';
import type { Recommender } from '../../src/index.ts';

declare global {
  interface Window {
    /** The demo page's recommender (src/demo/main.ts). */
    localrank?: Recommender;
  }
}

/** Fails the test on any uncaught page error or console error. */
export function watchForErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  return errors;
}

/** Waits until the demo has its recommender and its first shelf. */
export async function openDemo(page: Page, path = '/'): Promise<void> {
  await page.goto(path);
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
}

export async function shelfIds(page: Page, shelf = '#for-you'): Promise<string[]> {
  return page.locator(`${shelf} .card`).evaluateAll((cards) => cards.map((c) => (c as HTMLElement).dataset.itemId!));
}
