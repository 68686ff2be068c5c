import { newId } from "./ids";

test("ids carry their prefix and sort by creation time", () => {
  const a = newId("job", 1_700_000_000_000);
  const b = newId("job", 1_700_000_000_001);
  const c = newId("job", 1_800_000_000_000);
  expect(a).toMatch(/^job_[0-9a-z]{26}$/);
  expect([c, a, b].sort()).toEqual([a, b, c]);
  expect(newId("job")).not.toBe(newId("job"));
});
