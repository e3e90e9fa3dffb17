import t from 'tap';
import { attributeCases } from './cases/attributes.js';
import { differential } from './harness.js';
import { attributeHostSpecific } from './host_specific/attributes.js';

await differential(t, 'attributes', attributeCases, attributeHostSpecific);
