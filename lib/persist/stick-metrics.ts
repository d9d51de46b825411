// Stick tables and their Redis links as Prometheus families and as a stats-page section, from
// StickRuntime.status(). Kept here so the observability code only calls these two functions.
import type { StickTableStatus } from './stick-runtime.js';

export interface MetricFamily {
  name: string;
  kind: 'gauge' | 'counter';
  help: string;
  samples: string[];
}

const label = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** Families with no sample are left out. */
export function stickTableFamilies(tables: readonly StickTableStatus[]): MetricFamily[] {
  const t = (s: StickTableStatus) => `table="${label(s.table)}"`;
  const shared = tables.filter((s) => s.redis);
  // Round trips belong to a redis section, which several tables may share.
  const links = [...new Map(shared.map((s) => [s.redis!.name, s.redis!])).values()];
  const r = (name: string) => `redis="${label(name)}"`;
  const families: MetricFamily[] = [
    { name: 'limpet_stick_table_entries', kind: 'gauge', help: 'Entries held by this instance in a stick table.', samples: tables.map((s) => `limpet_stick_table_entries{${t(s)}} ${s.entries}`) },
    { name: 'limpet_stick_table_size', kind: 'gauge', help: 'Configured size of a stick table.', samples: tables.map((s) => `limpet_stick_table_size{${t(s)}} ${s.size}`) },
    {
      name: 'limpet_stick_table_hits_total', kind: 'counter', help: 'Stick lookups that found an entry, in local memory or (shared tables) in Redis.',
      samples: tables.flatMap((s) => [
        `limpet_stick_table_hits_total{${t(s)},source="local"} ${s.counters.localHits}`,
        ...(s.redis ? [`limpet_stick_table_hits_total{${t(s)},source="redis"} ${s.counters.redisHits}`] : []),
      ]),
    },
    { name: 'limpet_stick_table_misses_total', kind: 'counter', help: 'Stick lookups that found no entry (the client was balanced).', samples: tables.map((s) => `limpet_stick_table_misses_total{${t(s)}} ${s.counters.misses}`) },
    {
      name: 'limpet_stick_table_redis_timeouts_total', kind: 'counter', help: "Shared-table lookups Redis did not answer within the redis section's timeout.",
      samples: shared.map((s) => `limpet_stick_table_redis_timeouts_total{${t(s)}} ${s.counters.timeouts}`),
    },
    {
      name: 'limpet_redis_up', kind: 'gauge', help: 'Whether the Redis a shared stick table uses answers (1) or not (0).',
      samples: shared.map((s) => `limpet_redis_up{${r(s.redis!.name)},${t(s)}} ${s.redis!.up ? 1 : 0}`),
    },
    { name: 'limpet_redis_round_trips_total', kind: 'counter', help: 'Stick lookups and claims Redis answered.', samples: links.map((l) => `limpet_redis_round_trips_total{${r(l.name)}} ${l.roundTrips}`) },
    {
      name: 'limpet_redis_round_trip_seconds_total', kind: 'counter', help: 'Total time of those round trips (divide by limpet_redis_round_trips_total for the mean).',
      samples: links.map((l) => `limpet_redis_round_trip_seconds_total{${r(l.name)}} ${l.roundTripMs / 1000}`),
    },
  ];
  return families.filter((f) => f.samples.length > 0);
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The stats page's "stick tables" table, or '' when the configuration has none. */
export function stickTablesHtml(tables: readonly StickTableStatus[]): string {
  if (tables.length === 0) return '';
  const heads = ['table', 'entries', 'size', 'local hits', 'Redis hits', 'misses', 'Redis timeouts', 'redis', 'Redis up', 'round trips', 'mean RTT ms', 'recent RTT ms'];
  const rows = tables.map((s) => {
    const c = s.counters;
    const rd = s.redis;
    const cells = [s.table, s.entries, s.size, c.localHits, rd ? c.redisHits : '', c.misses, rd ? c.timeouts : '', rd?.name ?? '', rd ? (rd.up ? 'UP' : 'DOWN') : '',
      rd?.roundTrips ?? '', rd && rd.roundTrips > 0 ? (rd.roundTripMs / rd.roundTrips).toFixed(3) : '', rd && rd.roundTrips > 0 ? rd.recentRoundTripMs.toFixed(3) : ''];
    const state = rd ? (rd.up ? 'up' : 'down') : 'no-check';
    return `<tr class="stick ${state}" data-table="${esc(s.table)}">${cells.map((v) => `<td>${esc(String(v))}</td>`).join('')}</tr>`;
  });
  return `<table class="proxy" id="stick-tables">\n<caption>stick tables</caption>\n<thead><tr>${heads.map((h) => `<th>${h}</th>`).join('')}</tr></thead>\n<tbody>\n${rows.join('\n')}\n</tbody></table>\n`;
}
