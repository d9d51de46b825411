// The services the primary runs, in start order (one line each; see primary-service.ts).
import type { PrimaryServiceFactory } from './primary-service.js';
import { stickTableService } from './stick-service.js';
import { runtimeApiPrimary } from './runtime-api-primary.js';
import { slotPoolService } from './slot-pool-service.js';
import { healthService } from './health-service.js';

export const PRIMARY_SERVICES: PrimaryServiceFactory[] = [
  stickTableService,
  runtimeApiPrimary,
  slotPoolService,
  healthService,
];
