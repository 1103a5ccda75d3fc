/**
 * @module web/format
 * Display helpers: times, "last seen", initials and avatar colours. Times come from the
 * server (`ts`, `last_active_at`) and are only ever shown, never used for ordering.
 */

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
const dayFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });

/** "14:05" today, "Mar 3" on another day. */
export function shortTime(ts: number, now = Date.now()): string {
  if (!ts) return "";
  const d = new Date(ts);
  return new Date(now).toDateString() === d.toDateString() ? timeFormat.format(d) : dayFormat.format(d);
}

const weekdayFormat = new Intl.DateTimeFormat(undefined, { weekday: "long" });
const dateFormat = new Intl.DateTimeFormat(undefined, { weekday: "long", month: "long", day: "numeric" });
const fullDateFormat = new Intl.DateTimeFormat(undefined, {
  weekday: "long",
  month: "long",
  day: "numeric",
  year: "numeric",
});

/** The local calendar day of a time, "2026-03-14": messages of one day share it. */
export function dayKey(ts: number): string {
  const d = new Date(ts);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;
}

/**
 * A date separator's label: "Today", "Yesterday", the weekday within the past week, then
 * "Monday, March 3", with the year when it is not this year's.
 */
export function dayLabel(ts: number, now = Date.now()): string {
  const day = new Date(ts);
  const today = new Date(now);
  const midnight = (d: Date) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  // Rounded: a day with a daylight-saving change is 23 or 25 hours long.
  const daysAgo = Math.round((midnight(today) - midnight(day)) / 86_400_000);
  if (daysAgo === 0) return "Today";
  if (daysAgo === 1) return "Yesterday";
  if (daysAgo > 1 && daysAgo < 7) return weekdayFormat.format(day);
  return day.getFullYear() === today.getFullYear() ? dateFormat.format(day) : fullDateFormat.format(day);
}

/** The time of day of a message. */
export function clockTime(ts: number): string {
  return ts ? timeFormat.format(new Date(ts)) : "";
}

/** "online", "last seen 5 min ago", "offline". */
export function presenceText(
  p: { status: string; last_active_at: number } | undefined,
  now = Date.now(),
): string {
  if (!p) return "";
  if (p.status === "online") return "online";
  if (!p.last_active_at) return "offline";
  const minutes = Math.round((now - p.last_active_at) / 60_000);
  if (minutes < 1) return "last seen just now";
  if (minutes < 60) return `last seen ${minutes} min ago`;
  if (minutes < 24 * 60) return `last seen at ${timeFormat.format(new Date(p.last_active_at))}`;
  return `last seen ${dayFormat.format(new Date(p.last_active_at))}`;
}

/** One letter for an avatar, two for a name of several words ("Alice" → "A", "Bob Smith" → "BS"). */
export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const first = (w: string | undefined) => [...(w ?? "")][0] ?? "";
  const letters = words.length > 1 ? first(words[0]) + first(words.at(-1)) : first(words[0]);
  return letters.toUpperCase() || "?";
}

/** A stable hue (0–359) for an id, so each person keeps their colour. */
export function hueOf(id: string): number {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) % 360;
  return h;
}
