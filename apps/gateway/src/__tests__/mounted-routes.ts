/** What the route test reads of express 5's router (the `router` package's Layer and Route). */
interface Layer {
  route?: { path: unknown; methods: Record<string, boolean> };
  /** The path given to `use` or to the route (`/` when `use` had none). */
  rawPath?: unknown;
  /** A router has `stack`; an express app used as middleware has its router's (`router` in express 5, `_router` in 4). */
  handle?: { stack?: Layer[]; router?: { stack?: Layer[] }; _router?: { stack?: Layer[] } };
}

/** A (method, path) express answers; `prefix`: an app mounted under `path` answers everything below it. */
export interface MountedRoute {
  method: string;
  path: string;
  prefix: boolean;
}

const join = (base: string, path: string) => base + (path === "/" ? "" : path) || "/";

/**
 * Every route of an express 5 app, nested routers included, with its full path: a router used at
 * the root is walked into; one used under a path (a mounted app such as the queue dashboard) is
 * one prefix entry for `GET` there (routers and express apps alike), since the app behind it is not ours to describe route by route.
 * Middleware that is not a router (auth checks, body parsers) answers nothing by itself and is skipped.
 */
export function mountedRoutes(app: { router: { stack: Layer[] } }): MountedRoute[] {
  const out: MountedRoute[] = [];
  const walk = (stack: Layer[], base: string) => {
    for (const layer of stack) {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const p of paths) {
          if (typeof p !== "string") throw new Error(`a route with a non-string path (${String(p)}) under ${base || "/"}: the route test cannot name it`);
          for (const [method, on] of Object.entries(layer.route.methods)) if (on && method !== "_all") out.push({ method, path: join(base, p), prefix: false });
        }
      } else {
        const sub = layer.handle?.stack ?? layer.handle?.router?.stack ?? layer.handle?._router?.stack;
        if (!Array.isArray(sub)) continue;
        const at = typeof layer.rawPath === "string" ? layer.rawPath : "/";
        if (at === "/") walk(sub, base);
        else out.push({ method: "get", path: join(base, at), prefix: true });
      }
    }
  };
  walk(app.router.stack, "");
  return out;
}
