import { ListFilesQuery } from "@switchyard/contracts";
import { Router } from "express";
import type { Authenticator } from "../middleware/authenticate";
import { requireScopes } from "../middleware/authenticate";
import { principalOf } from "../middleware/request-context";
import type { GatewayResources } from "../resources";
import { fileContent, getFile, listFilesPage, removeFile, uploadFile, type FilesOptions } from "../services/files-service";
import { parseBody } from "../services/validation";

/**
 * OpenAI's Files API for Batch input and output: `POST /v1/files` (multipart: `purpose=batch`,
 * `file` a JSONL file), read, content, delete, list. Tenant-scoped: another tenant's file is 404.
 */
export function filesRouter(r: GatewayResources, auth: Authenticator, opts: FilesOptions = {}): Router {
  const router = Router();

  router.post("/v1/files", requireScopes(auth, "jobs:write"), async (req, res) => {
    res.json(await uploadFile(r, principalOf(req), req, opts));
  });

  router.get("/v1/files", requireScopes(auth, "jobs:read"), async (req, res) => {
    res.json(await listFilesPage(r, principalOf(req), parseBody(ListFilesQuery, { ...req.query })));
  });

  router.get("/v1/files/:id", requireScopes(auth, "jobs:read"), async (req, res) => {
    const { storage: _s, line_count: _l, ...file } = await getFile(r, principalOf(req), String(req.params.id));
    res.json(file);
  });

  router.get("/v1/files/:id/content", requireScopes(auth, "jobs:read"), async (req, res) => {
    const { file, chunks } = await fileContent(r, principalOf(req), String(req.params.id), opts);
    // The name as ASCII for old clients, exactly (RFC 5987) for the rest.
    const ascii = file.filename.replace(/[^\x20-\x7e]|["\\]/g, "_");
    res.status(200).set({
      "Content-Type": "application/octet-stream",
      "Content-Length": String(file.bytes),
      "Content-Disposition": `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(file.filename).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`,
    });
    for await (const c of chunks) {
      if (res.destroyed) return;
      if (!res.write(c))
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off("drain", done);
            res.off("close", done);
            resolve();
          };
          res.on("drain", done);
          res.on("close", done);
        });
    }
    res.end();
  });

  router.delete("/v1/files/:id", requireScopes(auth, "jobs:write"), async (req, res) => {
    res.json(await removeFile(r, principalOf(req), String(req.params.id), opts));
  });

  return router;
}
