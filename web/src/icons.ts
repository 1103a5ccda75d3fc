/**
 * @module web/icons
 * A few line icons as inline SVG, built with the DOM from constant path data (no icon font,
 * no emoji: they render the same on every system, fonts or not).
 */
const PATHS = {
  /** Two people side by side: a new group (not a plus on one person, which is "add a friend"). */
  newGroup: [
    "M8.5 11a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7z",
    "M2 20c0-3.6 2.9-6 6.5-6s6.5 2.4 6.5 6",
    "M15.5 4.3a3.5 3.5 0 0 1 0 6.4",
    "M18 14.4c2.4.8 4 2.9 4 5.6",
  ],
  /** One person and a plus: add a friend, add people to a group. */
  addPerson: [
    "M10 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8z",
    "M3 21c0-3.9 3.1-6.5 7-6.5s7 2.6 7 6.5",
    "M19 8v6",
    "M16 11h6",
  ],
  /** An arrow out of a door: leave. */
  leave: ["M14 4h5v16h-5", "M10 8l-4 4 4 4", "M6 12h10"],
  /** An arrow to the left: back. */
  back: ["M19 12H5", "M11 6l-6 6 6 6"],
  /** An arrow down: jump to the latest message. */
  down: ["M12 5v14", "M6 13l6 6 6-6"],
  /** A paper clip: attach a file. */
  attach: [
    "M21 11.5l-8.6 8.6a5.5 5.5 0 0 1-7.8-7.8l8.6-8.6a3.7 3.7 0 0 1 5.2 5.2l-8.6 8.6a1.8 1.8 0 0 1-2.6-2.6l7.9-7.9",
  ],
  /** A document: a file. */
  file: ["M14 3H6v18h12V7z", "M14 3v4h4"],
  /** A magnifier: search. */
  search: ["M10.5 17a6.5 6.5 0 1 0 0-13 6.5 6.5 0 0 0 0 13z", "M15.5 15.5L21 21"],
  /** A clock: sending. */
  clock: ["M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z", "M12 7v5l3 2"],
  /** Three dots: a message's menu. */
  more: ["M5 12h.01", "M12 12h.01", "M19 12h.01"],
  /** A plus: more reactions. */
  plus: ["M12 5v14", "M5 12h14"],
  /** An arrow turning back: reply. */
  reply: ["M9 14l-5-5 5-5", "M4 9h10a6 6 0 0 1 6 6v5"],
  /** A pencil: edit. */
  pencil: ["M16.5 3.5a2.1 2.1 0 0 1 3 3L7 19l-4 1 1-4z", "M14.5 5.5l3 3"],
  /** Two sheets: copy. */
  copy: ["M9 9h11v11H9z", "M5 15H4V4h11v1"],
  /** A bin: delete. */
  trash: ["M3 6h18", "M8 6V4h8v2", "M6 6l1 14h10l1-14", "M10 11v5", "M14 11v5"],
  /** A cross: cancel. */
  close: ["M6 6l12 12", "M18 6L6 18"],
} as const;

export type IconName = keyof typeof PATHS;

const SVG = "http://www.w3.org/2000/svg";

export function icon(name: IconName, size = 20): SVGSVGElement {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", String(size));
  svg.setAttribute("height", String(size));
  svg.setAttribute("fill", "none");
  svg.setAttribute("stroke", "currentColor");
  svg.setAttribute("stroke-width", "2");
  svg.setAttribute("stroke-linecap", "round");
  svg.setAttribute("stroke-linejoin", "round");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  for (const d of PATHS[name]) {
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}
