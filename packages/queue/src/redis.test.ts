import { parseClusterUrl } from "./redis";

test("a plain redis:// URL is not a cluster", () => {
  expect(parseClusterUrl("redis://127.0.0.1:6379")).toBeNull();
  expect(parseClusterUrl("rediss://user:pw@cache:6380/0")).toBeNull();
});

test("redis-cluster:// lists the seed nodes, with credentials and TLS", () => {
  expect(parseClusterUrl("redis-cluster://10.0.0.1:7000,10.0.0.2:7001, redis-c:7002")).toEqual({
    nodes: [
      { host: "10.0.0.1", port: 7000 },
      { host: "10.0.0.2", port: 7001 },
      { host: "redis-c", port: 7002 },
    ],
    tls: false,
  });
  expect(parseClusterUrl("rediss-cluster://app:s%40cret@[::1]:7000")).toEqual({
    nodes: [{ host: "::1", port: 7000 }],
    username: "app",
    password: "s@cret",
    tls: true,
  });
  expect(parseClusterUrl("redis-cluster://:only-password@a:1/")).toEqual({ nodes: [{ host: "a", port: 1 }], password: "only-password", tls: false });
});

test("a malformed cluster URL is refused naming REDIS_URL and the bad node", () => {
  expect(() => parseClusterUrl("redis-cluster://a:1,b")).toThrow('REDIS_URL: "b" is not host:port in redis-cluster:// URL');
  expect(() => parseClusterUrl("redis-cluster://")).toThrow("REDIS_URL");
});
