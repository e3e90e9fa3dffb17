import t from 'tap';
import { OptionValueError, parseOptions, UsageError } from '../../../tools/runner/options.js';

t.test('short and long forms, repeatable options', async (t) => {
  const o = parseOptions(['-s', '--per-test-log', '-t', 'kvm:a', '--test', 'kvm:b', '-c', 'x', '--collection=y',
    '-S', 'kvm:c', '-d', '-n', '-o', '30', '-f', '--base-dir', '/b', '--list-file=/l']);
  t.match(o, {
    summary: true, perTestLog: true, tests: ['kvm:a', 'kvm:b'], collections: ['x', 'y'], skip: ['kvm:c'],
    dryRun: true, netns: true, overrideTimeout: 30, noErrorOnFail: true, baseDir: '/b', listFile: '/l', list: false, help: false,
  });
  t.same(parseOptions([]).tests, []);
  t.equal(parseOptions(['-o', '0']).overrideTimeout, 0);
});

t.test('errors', async (t) => {
  t.throws(() => parseOptions(['-x']), new UsageError("unknown option '-x'"));
  t.throws(() => parseOptions(['extra']), new UsageError("unknown option 'extra'"), 'no positional arguments');
  t.throws(() => parseOptions(['-o', '1.5']), new OptionValueError("invalid value '1.5' for option -o/--override-timeout: expected a whole number of seconds >= 0"));
  t.throws(() => parseOptions(['-c', '']), new OptionValueError("invalid value '' for option -c/--collection: expected a collection name"));
  t.throws(() => parseOptions(['--base-dir']), new OptionValueError('option --base-dir needs a value (a directory)'));
});
