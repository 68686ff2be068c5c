import { appPorts, appSpecs, bannerLines } from "./apps";

describe("apps", () => {
  it("hands out the default ports and honours overrides", () => {
    expect(appPorts({})).toEqual({ gateway: 8080, routerMetrics: 9464, aggregatorMetrics: 9465, ragMetrics: 9466 });
    expect(appPorts({ PORT: "3000", RAG_METRICS_PORT: "9999" })).toMatchObject({ gateway: 3000, ragMetrics: 9999 });
  });

  it("gives each app its connection strings and port variable", () => {
    const specs = appSpecs(appPorts({}), "postgres://db", "redis://r", "/x/apps");
    const byName = Object.fromEntries(specs.map((s) => [s.name, s]));
    expect(Object.keys(byName)).toEqual(["gateway", "router-worker", "rag-worker", "usage-aggregator"]);
    expect(byName.gateway?.env).toEqual({ DATABASE_URL: "postgres://db", REDIS_URL: "redis://r", PORT: "8080" });
    expect(byName["router-worker"]?.env.METRICS_PORT).toBe("9464");
    expect(byName["usage-aggregator"]?.env.METRICS_PORT).toBe("9465");
    expect(byName["rag-worker"]?.entry).toBe("/x/apps/rag-worker/src/main.ts");
  });

  it("prints every URL, the key and a curl example", () => {
    const text = bannerLines({ apps: appSpecs(appPorts({}), "", ""), gatewayPort: 8080, postgres: "pg", redis: "r", bootstrapKey: "sy_live_k_s" }).join("\n");
    for (const s of ["/v1", "/health/ready", "/admin/queues", ":9464/metrics", ":9465/metrics", ":9466/metrics", ":8080/metrics", "Bearer sy_live_k_s"])
      expect(text).toContain(s);
  });
});
