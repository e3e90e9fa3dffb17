import t from 'tap';
import { gmemCases } from './cases/gmem.js';
import { differential } from './harness.js';
import { gmemHostSpecific } from './host_specific/gmem.js';

await differential(t, 'gmem', gmemCases, gmemHostSpecific);
