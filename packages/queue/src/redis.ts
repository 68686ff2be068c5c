import { Cluster, Redis as SingleRedis, type ClusterNode, type RedisOptions } from "ioredis";

/** A connection to one Redis server or to a Redis Cluster: every key is under one hash-tagged prefix, so both work. */
export type Redis = SingleRedis | Cluster;

const CLUSTER_SCHEMES = ["redis-cluster:", "rediss-cluster:"];

/**
 * The seed nodes of a `redis-cluster://[user:password@]host:port[,host:port…]` URL (TLS with
 * `rediss-cluster://`), or null for a plain `redis://` URL. Throws naming REDIS_URL when a cluster
 * URL is malformed.
 */
export function parseClusterUrl(url: string): { nodes: ClusterNode[]; username?: string; password?: string; tls: boolean } | null {
  const scheme = CLUSTER_SCHEMES.find((s) => url.startsWith(`${s}//`));
  if (!scheme) return null;
  const rest = url.slice(scheme.length + 2).replace(/\/.*$/, "");
  const at = rest.lastIndexOf("@");
  const [auth, hosts] = at >= 0 ? [rest.slice(0, at), rest.slice(at + 1)] : ["", rest];
  const nodes = hosts.split(",").map((h) => {
    const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(h.trim());
    if (!m) throw new Error(`REDIS_URL: "${h}" is not host:port in ${scheme}// URL`);
    return { host: m[1]!.replace(/^\[|\]$/g, ""), port: Number(m[2]) };
  });
  const [user, password] = auth.includes(":") ? [auth.slice(0, auth.indexOf(":")), auth.slice(auth.indexOf(":") + 1)] : [auth, ""];
  return {
    nodes,
    ...(user ? { username: decodeURIComponent(user) } : {}),
    ...(password ? { password: decodeURIComponent(password) } : {}),
    tls: scheme === "rediss-cluster:",
  };
}

/**
 * A Redis connection: a single server for `redis://` / `rediss://`, a Redis Cluster for
 * `redis-cluster://host:port,host:port`. `maxRetriesPerRequest: null` because BullMQ's blocking
 * connections need it; commands wait for a reconnect instead of failing fast, so request paths
 * that must answer quickly (readiness) use their own timeout.
 */
export function createRedis(url: string, opts: RedisOptions = {}): Redis {
  const redisOptions: RedisOptions = { maxRetriesPerRequest: null, enableReadyCheck: true, retryStrategy: (n) => Math.min(n * 200, 2000), ...opts };
  const cluster = parseClusterUrl(url);
  if (!cluster) return new SingleRedis(url, redisOptions);
  return new Cluster(cluster.nodes, {
    redisOptions: { ...redisOptions, username: cluster.username, password: cluster.password, ...(cluster.tls ? { tls: {} } : {}) },
    clusterRetryStrategy: (n) => Math.min(n * 200, 2000),
    enableReadyCheck: true,
    ...(opts.enableAutoPipelining ? { enableAutoPipelining: true } : {}),
  });
}

/**
 * Another connection with the same settings, without auto-pipelining: for a connection that only
 * blocks (a tail's `XREAD BLOCK`) or sends its own explicit pipelines, where batching commands of
 * the same tick saves nothing and a blocking command must not share a batch.
 */
export function duplicateUnpipelined(r: Redis): Redis {
  return r instanceof Cluster ? r.duplicate([], { enableAutoPipelining: false }) : r.duplicate({ enableAutoPipelining: false });
}
