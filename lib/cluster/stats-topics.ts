// The messages by which workers' statistics and runtime-API commands travel between the
// primary and its workers (lib/cluster/runtime-api-primary.ts and lib/observe/observer.ts).

/** primary -> worker: this worker's own StatsSnapshot */
export const STATS_SNAPSHOT = 'stats:snapshot';
/** worker -> primary: every worker's snapshot merged (for a stats page a worker serves) */
export const STATS_WHOLE = 'stats:whole';
/** primary -> worker: run one runtime-API command, { cmd, level }; the reply is its answer */
export const RUNTIME_COMMAND = 'runtime:command';

/** How long the primary waits for each worker's snapshot; a late worker is left out. */
export const SNAPSHOT_TIMEOUT_MS = 1000;
/** How long a worker waits for the whole (the primary's wait plus its merging). */
export const WHOLE_TIMEOUT_MS = 3000;
/** How long the primary waits for a worker to run a command. */
export const COMMAND_TIMEOUT_MS = 5000;
