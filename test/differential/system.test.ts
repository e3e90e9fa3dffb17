import t from 'tap';
import { systemCases } from './cases/system.js';
import { differential } from './harness.js';
import { systemHostSpecific } from './host_specific/system.js';

await differential(t, 'system', systemCases, systemHostSpecific);
