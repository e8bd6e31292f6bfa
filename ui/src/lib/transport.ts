// One interface to the engine, with a web implementation (HTTP API + live WebSocket, used in a
// browser against chargeyard-server) and a Tauri one (invoke + Channel, used in the desktop
// window, which answers the same API routes in-process). Chosen once at start-up; tests pass a
// fake.

import type { ErrorBody } from './bindings/ErrorBody';
import type { Event } from './bindings/Event';

export interface Transport {
  readonly kind: 'web' | 'tauri' | 'fake';
  /** One API call: `path` starts with `/api/`. Resolves to the JSON answer, rejects with an
   * {@link EngineError}. A string body is sent as is (CSV), anything else as JSON. */
  request<T>(method: string, path: string, body?: unknown): Promise<T>;
  /** Live events until the returned function is called. */
  subscribe(onEvent: (e: Event) => void): () => void;
}

/** An error from the engine: the UI branches on `code`, never on the message. */
export class EngineError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function isErrorBody(v: unknown): v is ErrorBody {
  return typeof v === 'object' && v !== null && 'code' in v && 'message' in v;
}

function encode(body: unknown): { text?: string; type: string } {
  if (body === undefined) return { type: 'application/json' };
  if (typeof body === 'string') return { text: body, type: 'text/csv; charset=utf-8' };
  return { text: JSON.stringify(body), type: 'application/json' };
}

/** The answer of an API call as both transports see it: status and parsed body. */
function answer<T>(status: number, body: unknown): T {
  if (status >= 200 && status < 300) return body as T;
  if (isErrorBody(body)) throw new EngineError(body.code, body.message);
  throw new EngineError('internal', `HTTP ${status}`);
}

export class WebTransport implements Transport {
  readonly kind = 'web';
  constructor(private readonly base = '') {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const { text, type } = encode(body);
    let resp: Response;
    try {
      resp = await fetch(this.base + path, { method, body: text, headers: text === undefined ? {} : { 'content-type': type } });
    } catch {
      throw new EngineError('unreachable', 'Chargeyard is not reachable. Is chargeyard-server running?');
    }
    const raw = await resp.text();
    let parsed: unknown = null;
    try {
      parsed = raw ? JSON.parse(raw) : null;
    } catch {
      parsed = raw;
    }
    return answer<T>(resp.status, parsed);
  }

  subscribe(onEvent: (e: Event) => void): () => void {
    let socket: WebSocket | null = null;
    let stopped = false;
    let delay = 500;
    const connect = () => {
      const url = new URL(this.base + '/api/live', window.location.href);
      url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
      socket = new WebSocket(url);
      socket.onopen = () => (delay = 500);
      socket.onmessage = (m) => {
        try {
          onEvent(JSON.parse(String(m.data)) as Event);
        } catch {
          // A message we cannot read is skipped; the next refresh catches up.
        }
      };
      socket.onclose = () => {
        if (!stopped) {
          setTimeout(connect, delay);
          delay = Math.min(delay * 2, 10_000);
        }
      };
    };
    connect();
    return () => {
      stopped = true;
      socket?.close();
    };
  }
}

export class TauriTransport implements Transport {
  readonly kind = 'tauri';

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const { invoke } = await import('@tauri-apps/api/core');
    const { text, type } = encode(body);
    let r: { status: number; body: unknown };
    try {
      r = await invoke('api', { method, path, body: text ?? null, contentType: type });
    } catch (e) {
      throw new EngineError('internal', String(e));
    }
    return answer<T>(r.status, r.body);
  }

  subscribe(onEvent: (e: Event) => void): () => void {
    let active = true;
    void import('@tauri-apps/api/core').then(({ Channel, invoke }) => {
      const channel = new Channel<Event>();
      channel.onmessage = (e) => {
        if (active) onEvent(e);
      };
      return invoke('subscribe', { onEvent: channel });
    });
    return () => {
      active = false;
    };
  }
}

export function chooseTransport(): Transport {
  return '__TAURI_INTERNALS__' in window ? new TauriTransport() : new WebTransport();
}
