/**
 * @module web/dom
 * A tiny element builder. Everything the app renders goes through {@link h}: text becomes
 * text nodes (`textContent`), attributes are set one by one, and nothing is ever parsed as
 * HTML, so message text and names cannot inject markup.
 */

type Child = Node | string | number | null | undefined | false;
type Props = {
  class?: string;
  testid?: string;
  on?: { [K in keyof HTMLElementEventMap]?: (e: HTMLElementEventMap[K]) => void };
  [attr: string]: unknown;
};

/** Builds an element: `h("button", { class: "x", testid: "send", on: { click } }, "Send")`. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = String(value);
    else if (key === "testid") el.dataset.testid = String(value);
    else if (key === "innerHTML" || key === "outerHTML") throw new Error(`h(): ${key} is not allowed`);
    else if (key === "on") {
      for (const [type, fn] of Object.entries(value as Record<string, EventListener>))
        el.addEventListener(type, fn);
    } else if (key in el && typeof value !== "string") {
      // Properties such as `checked`, `disabled`, `rows`.
      (el as unknown as Record<string, unknown>)[key] = value;
    } else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(
      typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c,
    );
  }
}

/** Replaces every child of `el`. */
export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** The element with `data-testid`, inside `root`. */
export function byTestId<T extends HTMLElement = HTMLElement>(root: ParentNode, id: string): T {
  const el = root.querySelector<T>(`[data-testid="${id}"]`);
  if (!el) throw new Error(`no element with data-testid=${id}`);
  return el;
}
