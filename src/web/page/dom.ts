/** The page's elements by id; a missing one is a bug in index.html, so it fails loudly. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`index.html has no #${id}`);
  return element as T;
}

/** Creates an element with text content and attributes. */
export function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

export function show(node: HTMLElement, visible: boolean): void {
  node.hidden = !visible;
}

/** Same-origin path of a video URL, so playback and download work however the page was reached. */
export function localVideoUrl(url: string): string {
  const parsed = new URL(url, location.href);
  return parsed.pathname.startsWith('/videos/') ? parsed.pathname + parsed.search : parsed.href;
}
