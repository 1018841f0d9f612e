// A small Socket.IO v5 client over one Engine.IO v4 WebSocket (no polling fallback), for the
// dashboard only: same origin, so the session cookie authenticates the handshake.
// It answers pings, emits with acks, reconnects with jittered backoff, and asks the server to
// recover the session (Socket.IO's connection-state recovery: `pid` plus the last offset,
// which the server appends as the last argument of every broadcast event). When the server
// could not recover (a long disconnect), the "connect" handlers get `recovered: false` and
// the app catches up through GET /api/events.

const ENGINE_OPEN = "0", ENGINE_CLOSE = "1", ENGINE_PING = "2", ENGINE_PONG = "3", ENGINE_MESSAGE = "4";
const SIO_CONNECT = "0", SIO_DISCONNECT = "1", SIO_EVENT = "2", SIO_ACK = "3", SIO_CONNECT_ERROR = "4";

/** Parses a Socket.IO packet (after Engine.IO's "4"): type, ack id and JSON data. */
export function parsePacket(text) {
  const type = text[0];
  let i = 1;
  if (text[i] === "/") { // a namespace other than "/": not used by the dashboard
    const comma = text.indexOf(",", i);
    i = comma < 0 ? text.length : comma + 1;
  }
  let id = "";
  while (i < text.length && text[i] >= "0" && text[i] <= "9") id += text[i++];
  const data = i < text.length ? JSON.parse(text.slice(i)) : undefined;
  return { type, id: id === "" ? null : Number(id), data };
}

export class SocketClient {
  constructor({ path = "/socket.io/", minDelay = 500, maxDelay = 10000 } = {}) {
    this.path = path;
    this.minDelay = minDelay;
    this.maxDelay = maxDelay;
    this.handlers = new Map();
    this.acks = new Map();
    this.nextAck = 0;
    this.connected = false;
    this.attempts = 0;
    this.pid = null;
    this.offset = null;
    this.stopped = false;
  }

  /** Registers a handler; "connect" ({recovered}), "disconnect" (reason), "connect_error" (message) are local. */
  on(name, handler) {
    if (!this.handlers.has(name)) this.handlers.set(name, []);
    this.handlers.get(name).push(handler);
    return this;
  }

  fire(name, ...args) {
    for (const handler of this.handlers.get(name) ?? []) {
      try { handler(...args); } catch (error) { console.error(error); }
    }
  }

  open() {
    this.stopped = false;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}${this.path}?EIO=4&transport=websocket`);
    this.ws = ws;
    ws.onmessage = (event) => this.receive(String(event.data));
    ws.onclose = () => this.closed(ws, "transport close");
    ws.onerror = () => ws.close();
  }

  close() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(ENGINE_MESSAGE + SIO_DISCONNECT);
    this.ws?.close();
  }

  receive(text) {
    switch (text[0]) {
      case ENGINE_OPEN: {
        const open = JSON.parse(text.slice(1));
        this.heartbeat = open.pingInterval + open.pingTimeout;
        this.watchHeartbeat();
        const auth = this.pid ? { pid: this.pid, offset: this.offset } : {};
        this.ws.send(ENGINE_MESSAGE + SIO_CONNECT + JSON.stringify(auth));
        break;
      }
      case ENGINE_PING:
        this.watchHeartbeat();
        this.ws.send(ENGINE_PONG);
        break;
      case ENGINE_CLOSE:
        this.ws.close();
        break;
      case ENGINE_MESSAGE:
        this.packet(parsePacket(text.slice(1)));
        break;
    }
  }

  watchHeartbeat() {
    clearTimeout(this.heartbeatTimer);
    const ws = this.ws;
    this.heartbeatTimer = setTimeout(() => ws.close(), this.heartbeat);
  }

  packet({ type, id, data }) {
    switch (type) {
      case SIO_CONNECT: {
        const recovered = Boolean(this.pid) && data?.pid === this.pid;
        this.pid = data?.pid ?? null;
        if (!recovered) this.offset = null;
        this.connected = true;
        this.attempts = 0;
        this.fire("connect", { recovered });
        break;
      }
      case SIO_CONNECT_ERROR:
        this.fire("connect_error", data?.message ?? "refused");
        this.ws.close();
        break;
      case SIO_DISCONNECT:
        this.ws.close();
        break;
      case SIO_EVENT: {
        const [name, ...args] = data;
        if (this.pid && args.length && typeof args[args.length - 1] === "string") this.offset = args[args.length - 1];
        if (id !== null) args.push((...reply) => this.ws.send(ENGINE_MESSAGE + SIO_ACK + id + JSON.stringify(reply)));
        this.fire(name, ...args);
        break;
      }
      case SIO_ACK: {
        const resolve = this.acks.get(id);
        this.acks.delete(id);
        resolve?.(data?.[0]);
        break;
      }
    }
  }

  closed(ws, reason) {
    if (ws !== this.ws) return;
    clearTimeout(this.heartbeatTimer);
    const wasConnected = this.connected;
    this.connected = false;
    for (const resolve of this.acks.values()) resolve({ error: { code: "disconnected", message: "The connection dropped." } });
    this.acks.clear();
    if (wasConnected) this.fire("disconnect", reason);
    if (this.stopped) return;
    const delay = Math.min(this.maxDelay, this.minDelay * 2 ** this.attempts++) * (0.5 + Math.random() / 2);
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  /** Sends an event; without a connection it is dropped (typing, presence: live only). */
  emit(name, ...args) {
    if (this.connected) this.ws.send(ENGINE_MESSAGE + SIO_EVENT + JSON.stringify([name, ...args]));
  }

  /** Sends an event and resolves with the server's ack (or an error after `timeout` ms). */
  request(name, data, timeout = 10000) {
    if (!this.connected) return Promise.resolve({ error: { code: "disconnected", message: "Not connected." } });
    const id = this.nextAck++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.acks.delete(id);
        resolve({ error: { code: "timeout", message: "No answer from the server." } });
      }, timeout);
      this.acks.set(id, (value) => { clearTimeout(timer); resolve(value); });
      this.ws.send(ENGINE_MESSAGE + SIO_EVENT + id + JSON.stringify([name, data]));
    });
  }
}
