// The primary's side of health checks across workers (lib/cluster/health-service.ts), against
// a stand-in channel: one checker elected, its changes kept and passed to the others, a dead
// checker replaced at once by the lowest live worker, other workers' reports ignored.
import t from 'tap';
import type { PrimaryChannel } from '../../lib/cluster/cluster-bus.js';
import { healthService } from '../../lib/cluster/health-service.js';
import { HEALTH_TOPICS, type HealthHello, type HealthState } from '../../lib/cluster/health-protocol.js';
import type { Config } from '../../lib/config/types.js';
import type { Logger } from '../../lib/observe/logger.js';

function primary() {
  const handlers = new Map<string, (payload: unknown, workerId: number) => unknown>();
  const sent: Array<{ to: number | 'all'; topic: string; payload?: unknown; except?: number }> = [];
  const channel = {
    on: (topic: string, h: (payload: unknown, workerId: number) => unknown) => void handlers.set(topic, h),
    sendTo: (to: number, topic: string, payload?: unknown) => void sent.push({ to, topic, payload }),
    broadcast: (topic: string, payload?: unknown, except?: number) => void sent.push({ to: 'all', topic, payload, except }),
  } as unknown as PrimaryChannel;
  const notices: string[] = [];
  const log = { notice: (m: string) => notices.push(m) } as unknown as Logger;
  const service = healthService({ channel, config: () => ({}) as Config, log, workers: 3, reload: async () => '' });
  const hello = (id: number) => handlers.get(HEALTH_TOPICS.hello)!(undefined, id) as HealthHello;
  const change = (id: number, s: HealthState) => handlers.get(HEALTH_TOPICS.change)!(s, id);
  t.teardown(() => service.close?.());
  return { service, hello, change, sent, notices };
}

const state = (server: string, up: boolean): HealthState => ({ backend: 'app', server, up, reason: up ? 'Layer4 check passed' : 'Layer4 timeout', at: 1 });

t.test('the first worker to say hello checks; its changes go to the others and to later hellos', async (t) => {
  const p = primary();
  t.same(p.hello(2), { checker: true, states: [] });
  t.same(p.hello(1), { checker: false, states: [] });
  p.change(2, state('s1', false));
  t.same(p.sent, [{ to: 'all', topic: HEALTH_TOPICS.state, payload: state('s1', false), except: 2 }], 'passed to every other worker');
  p.change(1, state('s2', false));
  t.equal(p.sent.length, 1, 'a worker that does not check is not listened to');
  p.change(2, state('s1', true));
  t.same(p.hello(3).states, [state('s1', true)], 'a starting worker gets the latest state of each server');
});

t.test('a dead checker is replaced by the lowest live worker at once; its own replacement does not check', async (t) => {
  const p = primary();
  p.hello(3);
  p.hello(2);
  p.hello(1);
  p.service.workerExited?.(2);
  t.same(p.sent, [], 'a worker that did not check exits: nothing to do');
  p.service.workerExited?.(3);
  t.same(p.sent, [{ to: 1, topic: HEALTH_TOPICS.role, payload: undefined }], 'worker 1 runs the checks now');
  t.match(p.notices[0], /worker 3 exited; worker 1 runs them now/);
  t.equal(p.hello(3).checker, false, 'the replacement of worker 3 does not');
  p.change(1, state('s1', false));
  t.equal(p.sent.length, 2, 'the new checker is listened to');
});

t.test('with no live worker left, the next hello checks; a reload forgets removed servers', async (t) => {
  const p = primary();
  p.hello(1);
  p.change(1, state('s1', false));
  p.change(1, state('gone', false));
  p.service.workerExited?.(1);
  t.same(p.sent.filter((m) => m.topic === HEALTH_TOPICS.role), [], 'nobody to hand the checks to');
  t.equal(p.hello(1).checker, true, 'the replacement checks');
  p.service.reload?.({ proxies: [{ name: 'app', kind: 'backend', servers: [{ name: 's1' }] }] } as unknown as Config);
  t.same(p.hello(2).states.map((s) => s.server), ['s1']);
});
