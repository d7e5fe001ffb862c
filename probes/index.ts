// Probe registry: one file per probe. Loaded eagerly (statically imported by the backend): net-ping's
// raw-socket addon never sees replies when it is first loaded from inside an I/O callback.
import type { ProbeName } from './catalog.js';
import { http } from './http.js';
import { ping } from './ping.js';
import { ssh } from './ssh.js';
import { tcp } from './tcp.js';
import type { Probe } from './types.js';

export const probes: Record<ProbeName, Probe> = { ping, tcp, http, ssh };
