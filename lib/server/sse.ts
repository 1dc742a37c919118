/**
 * Server-Sent Events exactly as OpenAI streams them: `data: {json}\n\n` per chunk, an error as
 * `data: {"error": ...}\n\n`, and `data: [DONE]\n\n` at the end.
 */
import type { ServerResponse } from 'http';

import type { ApiError } from './errors';

/** A client that stops reading while this much is buffered for it is cut off (slow-client guard). */
const MAX_BUFFERED_BYTES = 8 << 20;

export class SseStream {
  constructor(
    private readonly res: ServerResponse,
    private readonly onStalled: () => void,
  ) {}

  /** Sends the 200 status and event-stream headers (after admission, so a 429 can still be a status). */
  open(extraHeaders: Record<string, string> = {}): void {
    this.res.writeHead(200, {
      ...extraHeaders,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no', // proxies such as nginx must not hold events back
    });
    this.res.flushHeaders();
  }

  /** True once the client is gone or the stream ended. */
  get closed(): boolean {
    return this.res.writableEnded || this.res.destroyed;
  }

  send(data: unknown): void {
    this.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  /** An error after the stream started (the status is already 200). */
  error(e: ApiError): void {
    this.send(e.toBody());
  }

  /** `data: [DONE]` and the end of the response. */
  done(): void {
    this.write('data: [DONE]\n\n');
    this.end();
  }

  end(): void {
    if (!this.closed) this.res.end();
  }

  private write(text: string): void {
    if (this.closed) return;
    this.res.write(text);
    if (this.res.writableLength > MAX_BUFFERED_BYTES) {
      this.onStalled();
      this.res.destroy();
    }
  }
}
