// Services `http-request use-service NAME` can answer with. limpet has one, HAProxy's
// `prometheus-exporter`; the running configuration's observer provides it (a reload swaps it).
import type { LocalAnswer } from './stats-page.js';

export const SERVICES = ['prometheus-exporter'] as const;
export type ServiceName = (typeof SERVICES)[number];

const providers = new Map<ServiceName, () => LocalAnswer>();

export function provideService(name: ServiceName, answer: () => LocalAnswer): void {
  providers.set(name, answer);
}

/**
 * The service's answer (a promise in a worker of several, which gathers every worker's numbers
 * first); 503 when nothing provides it (no running configuration).
 */
export function serviceResponse(name: ServiceName): LocalAnswer {
  const answer = providers.get(name);
  if (answer) return answer();
  const body = 'service unavailable\n';
  return { status: 503, bytes: Buffer.from(`HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`) };
}
