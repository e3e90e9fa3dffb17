import t from 'tap';
import { ArgsError, argsVariable, splitArgs, testArgs } from '../../../tools/runner/test_args.js';

t.test('variable name: upper-cased, non-alnum to _', async (t) => {
  t.equal(argsVariable('private_mem_conversions_test'), 'KSELFTEST_PRIVATE_MEM_CONVERSIONS_TEST_ARGS');
  t.equal(argsVariable('cpu-on-off-test.sh'), 'KSELFTEST_CPU_ON_OFF_TEST_SH_ARGS');
  t.equal(argsVariable('a b\tc'), 'KSELFTEST_ABC_ARGS', 'blanks are deleted, not replaced');
});

t.test('splitting', async (t) => {
  t.same(splitArgs('  -n 2   -m 2 ', 'V'), ['-n', '2', '-m', '2']);
  t.same(splitArgs(`"a b" 'c "d"' e\\ f ""`, 'V'), ['a b', 'c "d"', 'e f', '']);
  t.same(splitArgs('$HOME * `x`', 'V'), ['$HOME', '*', '`x`'], 'no expansion of any kind');
  t.same(splitArgs('', 'V'), []);
  t.throws(() => splitArgs("'x", 'V'), new ArgsError(`V: unterminated ' quote in ''x'`));
});

t.test('testArgs reads the environment', async (t) => {
  t.same(testArgs('foo-test', { KSELFTEST_FOO_TEST_ARGS: '-v 3' }), ['-v', '3']);
  t.same(testArgs('foo-test', {}), []);
});
