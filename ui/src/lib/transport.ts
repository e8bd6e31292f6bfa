// One interface to the engine, with a web implementation (HTTP API + live WebSocket, used in a
// browser against chargeyard-server) and a Tauri one (invoke + Channel, used in the desktop
// window). Chosen once at start-up; tests pass a fake.

import type { EngineInfo } from './bindings/EngineInfo';
import type { ErrorBody } from './bindings/ErrorBody';
import type { Event } from './bindings/Event';
import type { StationView } from './bindings/StationView';

export interface Transport {
  readonly kind: 'web' | 'tauri' | 'fake';
  info(): Promise<EngineInfo>;
  stations(): Promise<StationView[]>;
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

export class WebTransport implements Transport {
  readonly kind = 'web';
  constructor(private readonly base = '') {}

  private async get<T>(path: string): Promise<T> {
    let resp: Response;
    try {
      resp = await fetch(this.base + path);
    } catch {
      throw new EngineError('unreachable', 'Chargeyard is not reachable. Is chargeyard-server running?');
    }
    const body: unknown = await resp.json().catch(() => null);
    if (!resp.ok) {
      if (isErrorBody(body)) throw new EngineError(body.code, body.message);
      throw new EngineError('internal', `HTTP ${resp.status}`);
    }
    return body as T;
  }

  info(): Promise<EngineInfo> {
    return this.get('/api/info');
  }

  stations(): Promise<StationView[]> {
    return this.get('/api/stations');
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

  private async call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
    const { invoke } = await import('@tauri-apps/api/core');
    try {
      return await invoke<T>(cmd, args);
    } catch (e) {
      if (isErrorBody(e)) throw new EngineError(e.code, e.message);
      throw new EngineError('internal', String(e));
    }
  }

  info(): Promise<EngineInfo> {
    return this.call('info');
  }

  stations(): Promise<StationView[]> {
    return this.call('stations');
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
