/** When a posting window holds an event: daily times in the site's time zone, holds, classes. */
import type { PostingWindowConfig } from "../../sidecar/src/contracts/site-config.js";
import { nextDailyTime, windowWait } from "../../sidecar/src/pipeline/posting-windows.js";

const shiftEnd: PostingWindowConfig = {
  id: 1,
  name: "Shift end",
  event_class: "critical",
  mode: "batched",
  times: ["06:00", "14:00", "22:00"],
};
const periodClose: PostingWindowConfig = {
  id: 2,
  name: "Period close",
  event_class: "production",
  mode: "hold",
  start: "2026-11-30T22:00:00Z",
  end: "2026-12-01T06:00:00Z",
};
const at = (iso: string) => Date.parse(iso);

describe("posting windows", () => {
  it("batches to the next daily time in the site's time zone, across daylight saving", () => {
    // 13:10 in Berlin (UTC+1 in winter): the 14:00 local batch, 13:00Z
    expect(nextDailyTime(shiftEnd.times, at("2026-12-01T12:10:00Z"), "Europe/Berlin")).toBe(
      at("2026-12-01T13:00:00Z"),
    );
    // summer (UTC+2): 14:00 local is 12:00Z
    expect(nextDailyTime(shiftEnd.times, at("2026-07-01T11:10:00Z"), "Europe/Berlin")).toBe(
      at("2026-07-01T12:00:00Z"),
    );
    // after the last time of the day: the first of the next day
    expect(nextDailyTime(shiftEnd.times, at("2026-12-01T21:30:00Z"), "Europe/Berlin")).toBe(
      at("2026-12-02T05:00:00Z"),
    );
    expect(nextDailyTime(["17:00"], at("2026-12-01T12:00:00Z"), "America/Chicago")).toBe(
      at("2026-12-01T23:00:00Z"),
    );
  });

  it("holds an event received before its batch time until then, and lets it go after", () => {
    const received = at("2026-12-01T12:10:00Z");
    expect(
      windowWait("production", received, [shiftEnd], "Europe/Berlin", received + 1000),
    ).toEqual({ window: shiftEnd, until: at("2026-12-01T13:00:00Z") });
    expect(
      windowWait("production", received, [shiftEnd], "Europe/Berlin", at("2026-12-01T13:00:01Z")),
    ).toBeUndefined();
    // the bulk lane is not in a window of the critical lane: real time
    expect(
      windowWait("machine_status", received, [shiftEnd], "Europe/Berlin", received),
    ).toBeUndefined();
  });

  it("holds every event of its class while a hold runs, the longest wait winning", () => {
    const during = at("2026-11-30T23:00:00Z");
    expect(
      // the shift end at 06:00 Berlin (05:00Z) comes before the end of the hold
      windowWait("production", during - 1000, [shiftEnd, periodClose], "Europe/Berlin", during),
    ).toEqual({ window: periodClose, until: at("2026-12-01T06:00:00Z") });
    expect(windowWait("scrap", during, [periodClose], "UTC", during)).toBeUndefined();
    expect(
      windowWait("production", during, [periodClose], "UTC", at("2026-12-01T06:00:00Z")),
    ).toBeUndefined();
    expect(
      windowWait("production", during, [periodClose], "UTC", at("2026-11-30T21:59:00Z")),
    ).toBeUndefined();
  });
});
