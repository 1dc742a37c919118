/** Servers on ephemeral loopback ports and official `openai` clients pointed at them. */
import OpenAI from 'openai';

import { serve, type RecurrentGemma, type RecurrentGemmaServer, type ServerOptions } from '../../lib';

export interface TestServer {
  server: RecurrentGemmaServer;
  url: string;
  client: OpenAI;
  close(): Promise<void>;
}

export async function startServer(model: RecurrentGemma, options: ServerOptions = {}): Promise<TestServer> {
  const server = await serve(model, { port: 0, log: false, ...options });
  const url = server.url!;
  return { server, url, client: clientFor(url, options.apiKey), close: () => server.close() };
}

/** No retries: a test must see the server's first answer (a 429 retried would hide it). */
export function clientFor(url: string, apiKey = 'unused'): OpenAI {
  return new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0, timeout: 60_000 });
}

/** GET /health as JSON. */
export async function health(url: string): Promise<{ status: string; active_sequences: number; queue_depth: number; [k: string]: unknown }> {
  const r = await fetch(`${url}/health`);
  return (await r.json()) as { status: string; active_sequences: number; queue_depth: number };
}

/** Polls `check` every 20 ms until it holds or `ms` pass (bounded: returns the last result). */
export async function waitFor(check: () => Promise<boolean>, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** POSTs raw JSON (for bodies the typed client refuses to send). */
export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; json: any }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await r.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: r.status, headers: r.headers, json };
}
