// The registry of gap checks, in the order findings are reported. One gap, one file.
import type { GapCheck } from '../engine/types.js';
import { dockerSocket } from './docker-socket.js';
import { envSecrets } from './env-secrets.js';
import { flatNetwork } from './flat-network.js';
import { privileged } from './privileged.js';
import { resourceLimits } from './resource-limits.js';
import { runAsRoot } from './run-as-root.js';
import { staleImage } from './stale-image.js';
import { unverifiedImage } from './unverified-image.js';

export const ALL_CHECKS: readonly GapCheck[] = [
  dockerSocket,
  privileged,
  runAsRoot,
  envSecrets,
  unverifiedImage,
  flatNetwork,
  resourceLimits,
  staleImage,
];
