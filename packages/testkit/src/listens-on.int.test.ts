import { spawn } from "node:child_process";
import net from "node:net";
import { freePort } from "./net";
import { listensOn } from "./spawn-app";

const listen = (port = 0) =>
  new Promise<net.Server>((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(port, "127.0.0.1", () => resolve(s));
  });
const portOf = (s: net.Server) => (s.address() as net.AddressInfo).port;

test("a process listens on a port only when it holds the listening socket", async () => {
  const mine = await listen();
  try {
    expect(await listensOn(process.pid, portOf(mine))).toBe(true);
    expect(await listensOn(process.pid, await freePort())).toBe(false);
  } finally {
    await new Promise((r) => mine.close(r));
  }
});

test("a port another process listens on is not this one's (a stranger answering a readiness probe)", async () => {
  const child = spawn(
    process.execPath,
    ["-e", 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>console.log(s.address().port));setTimeout(()=>{},20000)'],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  try {
    const port = await new Promise<number>((resolve) => child.stdout.once("data", (d: Buffer) => resolve(Number(d.toString().trim()))));
    expect(await listensOn(child.pid!, port)).toBe(true);
    expect(await listensOn(process.pid, port)).toBe(false);
  } finally {
    child.kill("SIGKILL");
  }
});
