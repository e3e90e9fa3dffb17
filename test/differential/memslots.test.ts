import t from 'tap';
import { memslotCases } from './cases/memslots.js';
import { differential } from './harness.js';
import { memslotHostSpecific } from './host_specific/memslots.js';

await differential(t, 'memslots', memslotCases, memslotHostSpecific);
