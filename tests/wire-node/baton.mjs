// Starts a fresh `baton serve` for a test: $BATON_BIN (else target/debug/baton
// of this repository) on a free 127.0.0.1 port with its own data folder.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

export const REGION = "us-east-1";
export const ACCOUNT = "000000000000";
export const ROLE = "arn:aws:iam::000000000000:role/wire";
export const credentials = { accessKeyId: "test", secretAccessKey: "test" };

function batonBin() {
  const bin = process.env.BATON_BIN || join(here, "..", "..", "target", "debug", "baton");
  if (!existsSync(bin)) {
    throw new Error(`no baton binary at ${bin}: run cargo build -p baton or set BATON_BIN`);
  }
  return bin;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export async function startBaton() {
  const port = await freePort();
  const data = mkdtempSync(join(tmpdir(), "baton-node-"));
  const child = spawn(batonBin(), ["serve", "--listen", `127.0.0.1:${port}`, "--data", data], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || "warn" },
  });
  let log = "";
  child.stderr.on("data", (d) => {
    log += d.toString();
    if (log.length > 65536) log = log.slice(-65536);
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30000;
  for (;;) {
    try {
      const r = await fetch(`${endpoint}/health`);
      if (r.ok) break;
    } catch {
      // not up yet
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`baton serve did not come up:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    endpoint,
    port,
    log: () => log,
    async stop() {
      child.kill("SIGKILL");
      await new Promise((r) => (child.exitCode !== null ? r() : child.once("exit", r)));
      rmSync(data, { recursive: true, force: true });
    },
  };
}

/** Creates a Node.js function in Baton from `source` (the handler file). */
export async function putFunction(baton, name, source, handler = "index.handler", env = {}, timeout = 30) {
  const { writeFileSync } = await import("node:fs");
  const dir = mkdtempSync(join(tmpdir(), "baton-fn-"));
  writeFileSync(join(dir, "index.js"), source);
  const r = await fetch(`${baton.endpoint}/_baton/v1/functions/${name}`, {
    method: "PUT",
    headers: {
      "content-type": "application/json",
      authorization: `AWS4-HMAC-SHA256 Credential=test/20261201/${REGION}/lambda/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: JSON.stringify({
      FunctionName: name,
      Runtime: "nodejs20.x",
      Handler: handler,
      CodeDirectory: dir,
      Timeout: timeout,
      Environment: { Variables: env },
    }),
  });
  if (!r.ok) throw new Error(`PutFunction ${name}: ${r.status} ${await r.text()}`);
  return (await r.json()).FunctionArn;
}

export async function waitFor(fn, what, ms = 30000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let n = 0;
export function unique(prefix) {
  n += 1;
  return `${prefix}-${process.pid}-${n}`;
}
