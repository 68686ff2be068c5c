import type { BreakerView } from "@switchyard/contracts";
import type { GatewayResources } from "../resources";

/** Breaker views for every catalog model, as ops see them (the admin list, /health/ai, the ops overview). */
export async function breakerStates(r: GatewayResources): Promise<BreakerView[]> {
  const ids = r.catalog.models.map((m) => m.id);
  const states = await r.breakers.states(ids);
  const iso = (ms?: number) => (ms ? new Date(ms).toISOString() : null);
  return r.catalog.models.map((m) => {
    const s = states[m.id]!;
    return {
      model: m.id,
      provider: m.provider,
      tier: m.tier,
      state: s.state,
      opened_at: iso(s.opened_at),
      open_until: iso(s.open_until),
      failures: s.failures,
      successes: s.successes,
    };
  });
}
