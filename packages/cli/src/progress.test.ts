import { createProgress } from "./progress";

const sink = (isTTY: boolean) => {
  let text = "";
  return { isTTY, write: (s: string) => ((text += s), true), text: () => text };
};

describe("createProgress", () => {
  it("writes one plain n/N line per step when not on a terminal", () => {
    const s = sink(false);
    const p = createProgress(s, 3);
    p.tick("2026-03-01", "2 reports");
    p.tick("2026-03-02");
    p.tick("2026-03-03", "1 report");
    p.done();
    expect(s.text()).toBe("1/3 2026-03-01 2 reports\n2/3 2026-03-02\n3/3 2026-03-03 1 report\n");
  });

  it("redraws one bar in place on a terminal and ends its line when done", () => {
    const s = sink(true);
    const p = createProgress(s, 4);
    p.tick("2026-03-01");
    p.tick("2026-03-02");
    expect(s.text()).toBe(`\r\x1b[2K[${"#".repeat(6)}${".".repeat(18)}] 1/4 2026-03-01\r\x1b[2K[${"#".repeat(12)}${".".repeat(12)}] 2/4 2026-03-02`);
    expect(s.text()).not.toContain("\n");
    p.tick("2026-03-03");
    p.tick("2026-03-04");
    p.done();
    expect(s.text().endsWith(`[${"#".repeat(24)}] 4/4 2026-03-04\n`)).toBe(true);
  });

  it("set jumps to a count read elsewhere: one line per change on a pipe, the bar redrawn on a terminal", () => {
    const s = sink(false);
    const p = createProgress(s, 0);
    p.set(0, 0, "validating");
    p.set(0, 0, "validating");
    p.set(2, 4, "in_progress");
    p.set(2, 4, "in_progress");
    p.set(4, 4, "completed");
    p.done();
    expect(s.text()).toBe("0/0 validating\n2/4 in_progress\n4/4 completed\n");
    const t = sink(true);
    const bar = createProgress(t, 0);
    bar.set(1, 4, "in_progress");
    bar.done();
    expect(t.text()).toBe(`\r\x1b[2K[${"#".repeat(6)}${".".repeat(18)}] 1/4 in_progress\n`);
  });

  it("writes nothing for a task with no steps", () => {
    const s = sink(true);
    createProgress(s, 0).done();
    expect(s.text()).toBe("");
  });
});
