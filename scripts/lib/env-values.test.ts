import { EnvValueError, envFlag, envInteger, envPort, envString } from "./env-values";

describe("env values", () => {
  it("reads integers with a default and bounds", () => {
    expect(envInteger({}, "X", 7)).toBe(7);
    expect(envInteger({ X: " 42 " }, "X", 7)).toBe(42);
    expect(() => envInteger({ X: "4x" }, "X", 7)).toThrow(EnvValueError);
    expect(() => envInteger({ X: "NaN" }, "X", 7)).toThrow(/X must be an integer/);
    expect(() => envInteger({ X: "-1" }, "X", 7)).toThrow(/between 0/);
  });

  it("reads ports in 0-65535", () => {
    expect(envPort({ PORT: "8080" }, "PORT", 1)).toBe(8080);
    expect(() => envPort({ PORT: "70000" }, "PORT", 1)).toThrow(/PORT/);
  });

  it("reads booleans without treating 'false' as true", () => {
    expect(envFlag({ F: "false" }, "F", true)).toBe(false);
    expect(envFlag({ F: "ON" }, "F", false)).toBe(true);
    expect(envFlag({}, "F", true)).toBe(true);
    expect(() => envFlag({ F: "maybe" }, "F", true)).toThrow(EnvValueError);
  });

  it("treats blank strings as unset", () => {
    expect(envString({ S: "  " }, "S")).toBeUndefined();
    expect(envString({ S: " v " }, "S")).toBe("v");
  });
});
