// tools/vm/options.ts: command line over environment defaults, one-line
// errors for bad values.
import t from 'tap';
import { DEFAULT_TIMEOUT_S, parseVmOptions, VmInputError } from '../../../tools/vm/options.js';

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseVmOptions(argv, env, '/src');

t.test('defaults, environment, command line', async (t) => {
  t.match(parse(['--kernel', '/k', '--', 'make', 'run_tests']), {
    kernel: '/k', qemu: 'qemu-system-x86_64', accel: 'auto', memory: '4G', smp: 1, timeout: DEFAULT_TIMEOUT_S,
    dir: '/src', env: [], append: [], keep: false, argv: ['make', 'run_tests'], shell: undefined,
  });
  const env = { KERNEL: '/env/k', KSFT_VM_TIMEOUT: '60', KSFT_VM_ACCEL: 'tcg', KSFT_VM_MEMORY: '2048', KSFT_VM_APPEND: ' quiet  loglevel=3 ', KSFT_VM_KEEP: '1' };
  t.match(parse(['-c', 'true'], env), { kernel: '/env/k', timeout: 60, accel: 'tcg', memory: '2048', append: ['quiet', 'loglevel=3'], keep: true, shell: 'true' });
  t.match(parse(['-k', '/cli/k', '--timeout=5', '--append', 'x=1', '-c', 'true'], env), { kernel: '/cli/k', timeout: 5, append: ['x=1'] },
    'the command line replaces the environment, lists included');
  t.same(parse(['-k', '/k', '-e', 'A=1', '--env', 'B=x=y', '-c', 'true']).env, ['A=1', 'B=x=y']);
  t.same(parse(['-k', '/k', '--', 'sh', '-c', 'echo --timeout']).argv, ['sh', '-c', 'echo --timeout'], 'nothing after -- is an option');
  t.equal(parse(['--help']).help, true, '--help needs no kernel and no job');
});

t.test('one-line errors', async (t) => {
  const bad = (argv: string[], msg: string | RegExp, env: NodeJS.ProcessEnv = {}) =>
    t.throws(() => parse(argv, env), typeof msg === 'string' ? new VmInputError(msg) : msg, msg.toString());
  bad(['-c', 'true'], 'no kernel: pass --kernel BZIMAGE or KERNEL=path/to/bzImage');
  bad(['-k', '/k'], /^no job: give -c/);
  bad(['-k', '/k', '-c', 'true', '--', 'true'], 'give the job either as -c or after --, not both');
  bad(['-k', '/k', '--timeout', '0', '-c', 'x'], "invalid value '0' for option -t/--timeout: expected a whole number of seconds >= 1");
  bad(['-c', 'x'], 'invalid value KSFT_VM_TIMEOUT=soon for option -t/--timeout: expected a whole number of seconds >= 1', { KERNEL: '/k', KSFT_VM_TIMEOUT: 'soon' });
  bad(['-k', '/k', '--accel', 'hvf', '-c', 'x'], "invalid value 'hvf' for option --accel: expected auto, kvm or tcg");
  bad(['-k', '/k', '-m', '4T', '-c', 'x'], "invalid value '4T' for option -m/--memory: expected MiB, or a size like 4G or 512M");
  bad(['-k', '/k', '--smp', '9', '-c', 'x'], "invalid value '9' for option --smp: expected a number of CPUs from 1 to 8");
  bad(['-k', '/k', '-e', '1A=2', '-c', 'x'], "invalid value '1A=2' for option -e/--env: expected NAME=VALUE");
  bad(['-k', '/k', '--timeout'], 'option -t/--timeout needs a value (a whole number of seconds >= 1)');
  bad(['-k', '/k', '--keep=yes', '-c', 'x'], "option --keep takes no value, got 'yes'");
  bad(['-k', '/k', 'make'], /^unknown argument 'make' \(usage: run\.ts /);
});
