// `npm run screenshots`: refreshes the README's screenshots (docs/screenshots/*.png). They come
// from the browser test of a group of three (test/browser/group.test.mjs), which on an ordinary
// `npm test` writes the same pictures to .ci/screenshots/ instead, so test runs leave the
// committed images alone. Needs /usr/bin/chromium, as the browser tests do, and an emoji font
// for the reactions in them (Debian: fonts-noto-color-emoji), or they show as empty boxes.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const bin = path.join(root, "node_modules", ".bin");
const node = existsSync(path.join(bin, "node")) ? path.join(bin, "node") : process.execPath;
const r = spawnSync(node, ["--test", "--test-concurrency=1", "test/browser/group.test.mjs"], {
  cwd: root,
  stdio: "inherit",
  env: {
    ...process.env,
    EDGE_CHAT_SCREENSHOTS: "docs",
    WRANGLER_SEND_METRICS: "false",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
  },
});
if (r.status === 0)
  console.log("[screenshots] wrote docs/screenshots/desktop.png, phone-conversation.png, phone-list.png");
process.exit(r.status ?? 1);
