// test_util.h's number and backing-source parsers on good input (what they
// refuse, and how, is in failures.test.ts: a refusal ends the process).
import t from 'tap';
import { atoiNonNegative, atoiParanoid, atoiPositive, backingSrcHelp, parseBackingSrcType } from '../../../lib/kvm_util/test_util.js';

t.test('atoi_paranoid(): strtol base 0 over the whole word', async (t) => {
  t.equal(atoiParanoid('42'), 42);
  t.equal(atoiParanoid('  -7'), -7, 'leading space and a sign');
  t.equal(atoiParanoid('0x10'), 16, 'hex');
  t.equal(atoiParanoid('010'), 8, 'octal');
  t.equal(atoiParanoid('0'), 0);
  t.equal(atoiParanoid('2147483647'), 2147483647, 'INT_MAX');
  t.equal(atoiParanoid('-2147483648'), -2147483648, 'INT_MIN');
  t.equal(atoiPositive('n', '3'), 3);
  t.equal(atoiNonNegative('n', '0'), 0);
});

t.test('parse_backing_src_type(): the sources this build backs', async (t) => {
  t.equal(parseBackingSrcType('anonymous'), 'anonymous');
  t.equal(parseBackingSrcType('shmem'), 'shmem');
  t.equal(backingSrcHelp(), '     Available backing src types:\n         anonymous\n         shmem\n');
});
