import { describe, expect, it } from "vitest";
import { localReceivers, pushEndpointProblem } from "./push-endpoint.ts";

describe("push endpoints", () => {
  it.each([
    "https://fcm.googleapis.com/fcm/send/dpH5lCsTSSM:APA91bH",
    "https://updates.push.services.mozilla.com/wpush/v2/gAAAAA",
    "https://web.push.apple.com/QGuQyavXutnMH",
    "https://wns2-par02p.notify.windows.com/w/?token=AwYAAAB",
    "https://push.example.test/send/abc",
    "https://push.example.com:8443/x",
  ])("accepts a public push service: %s", (endpoint) => {
    expect(pushEndpointProblem(endpoint)).toBeNull();
  });

  it.each([
    ["https://127.0.0.1/x", "IP address"],
    ["https://10.0.0.8/x", "IP address"],
    ["https://192.168.1.1:8443/x", "IP address"],
    ["https://169.254.169.254/latest/meta-data", "IP address"],
    ["https://8.8.8.8/x", "IP address"],
    ["https://0x7f000001/x", "IP address"],
    ["https://2130706433/x", "IP address"],
    ["https://0177.0.0.1/x", "IP address"],
    ["https://127.1/x", "IP address"],
    ["https://[::1]/x", "IP address"],
    ["https://[fe80::1]/x", "IP address"],
    ["https://[::ffff:10.0.0.1]/x", "IP address"],
    ["https://localhost/x", "single-label"],
    ["https://LOCALHOST./x", "single-label"],
    ["https://router:8443/x", "single-label"],
    ["https://push.localhost/x", "(.localhost)"],
    ["https://printer.local/x", "(.local)"],
    ["https://metadata.google.internal/computeMetadata", "(.internal)"],
    ["https://nas.home.arpa/x", "(.arpa)"],
    ["https://1.0.0.127.in-addr.arpa/x", "(.arpa)"],
    ["https://box.lan/x", "(.lan)"],
    ["https://wiki.corp./x", "(.corp)"],
    ["https://db.localdomain/x", "(.localdomain)"],
    ["http://fcm.googleapis.com/fcm/send/x", "https"],
    ["https://user:pass@fcm.googleapis.com/x", "credentials"],
    ["not a url", "URL"],
  ])("refuses %s (%s)", (endpoint, why) => {
    expect(pushEndpointProblem(endpoint)).toContain(why);
  });

  it("accepts exactly the local receivers named by the setting, over http too", () => {
    const receivers = localReceivers(" http://127.0.0.1:8790, https://localhost:9443/ not-a-url ");
    expect(receivers).toEqual(["http://127.0.0.1:8790", "https://localhost:9443"]);
    expect(pushEndpointProblem("http://127.0.0.1:8790/push/abc", receivers)).toBeNull();
    expect(pushEndpointProblem("https://localhost:9443/push/abc", receivers)).toBeNull();
    // Another port, scheme or host of the same machine is still refused.
    expect(pushEndpointProblem("http://127.0.0.1:8791/push/abc", receivers)).toContain("https");
    expect(pushEndpointProblem("https://127.0.0.1:8790/push/abc", receivers)).toContain("IP address");
    expect(pushEndpointProblem("https://localhost/push/abc", receivers)).toContain("single-label");
    expect(localReceivers("")).toEqual([]);
    expect(localReceivers(undefined)).toEqual([]);
  });
});
