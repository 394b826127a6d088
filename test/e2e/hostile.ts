/** The hostile synthetic bundle the widget tests use (written by global-setup.ts). */
export const HOSTILE_BUNDLE = 'bundles/hostile';

/** Each would run script if it reached innerHTML, an attribute or a URL; alert() makes a dialog the test watches for. */
export const HOSTILE_TITLES = [
  '<img src=x onerror=alert(1)>',
  '"><svg onload=alert(2)>',
  '</style><script>alert(3)</script>',
  "'; alert(4); '",
  '<a href="javascript:alert(5)">five</a>',
  '{{constructor.constructor("alert(6)")()}}',
];
