// What a session reports when a request (HTTP) or a connection (TCP) ends: HAProxy's log
// fields, raw. Sessions fill it; lib/observe formats it, counts it and sends it. Times are
// milliseconds; -1 means "that step was never reached", as in HAProxy's logs.

export interface TrafficRecord {
  mode: 'http' | 'tcp';
  frontend: string;
  /** backend name, or the frontend's name when no backend was chosen */
  backend: string;
  /** server name, or '<NOSRV>' when none was reached */
  server: string;
  clientIp: string;
  clientPort: number;
  frontendIp: string;
  frontendPort: number;
  serverIp: string;
  serverPort: number;
  /** when the connection was accepted, or when the previous request on it ended (ms epoch) */
  acceptDate: number;
  /** handshake (0: no TLS), idle before the request, request head reception */
  Th: number;
  Ti: number;
  TR: number;
  /** queue, connect, response head (from connect) */
  Tw: number;
  Tc: number;
  Tr: number;
  /** whole session from accept to end of log */
  Tt: number;
  /** HTTP status sent to the client, -1 in TCP or when nothing was sent */
  status: number;
  /** bytes sent to the client / received from it */
  bytesOut: number;
  bytesIn: number;
  /** HAProxy's two-character termination state: cause and session state at the end */
  termination: string;
  /** persistence cookie flags: client side (N, I, D, V) and server side (N, I, P, R, D, U); '-' without a cookie */
  clientCookie: string;
  serverCookie: string;
  retries: number;
  redispatched: boolean;
  /** queue lengths ahead of this request when it was queued */
  srvQueue: number;
  backendQueue: number;
  /** the request line as received, '<BADREQ>' when none could be read (HTTP) */
  requestLine: string;
  /** request headers lookup for %[req.hdr(...)]-less captures (lower-case name) */
  header?: (name: string) => string | undefined;
  /** the connection sent nothing at all (`option dontlognull` skips it) */
  empty: boolean;
}

/** A record with every field at its "not reached" value; sessions fill what they know. */
export function emptyRecord(mode: 'http' | 'tcp', frontend: string, acceptDate: number): TrafficRecord {
  return {
    mode,
    frontend,
    backend: frontend,
    server: '<NOSRV>',
    clientIp: '-',
    clientPort: 0,
    frontendIp: '-',
    frontendPort: 0,
    serverIp: '-',
    serverPort: 0,
    acceptDate,
    Th: 0,
    Ti: 0,
    TR: -1,
    Tw: -1,
    Tc: -1,
    Tr: -1,
    Tt: 0,
    status: -1,
    bytesOut: 0,
    bytesIn: 0,
    termination: '--',
    clientCookie: '-',
    serverCookie: '-',
    retries: 0,
    redispatched: false,
    srvQueue: 0,
    backendQueue: 0,
    requestLine: '<BADREQ>',
    empty: false,
  };
}
