import t from 'tap';
import { sprintf } from '../../../lib/kselftest/printf.js';

// Each expected string is what glibc's printf printed for the same format
// and the C-typed equivalents of the arguments.
t.test('integers: flags, width, precision, length modifiers', async (t) => {
  t.equal(
    sprintf('[%5d|%-5d|%05d|%+d|% d|%x|%X|%#x|%#X|%o|%#o|%u|%lu|%hhu|%hu|%.3d|%.0d|%5.2d]', 42, 42, 42, 42, 42, 255, 255, 255, 0, 8, 8, -1, -1, -1, -1, 7, 0, 3),
    '[   42|42   |00042|+42| 42|ff|FF|0xff|0|10|010|4294967295|18446744073709551615|255|65535|007||   03]',
  );
  t.equal(sprintf('[%*d|%-*d|%lld|%jd|%zu]', 6, 7, 6, 7, -9223372036854775807n, -5, 77), '[     7|7     |-9223372036854775807|-5|77]');
  t.equal(sprintf('%d %u', true, 3n), '1 3');
});

t.test('strings, characters, pointers, percent', async (t) => {
  t.equal(sprintf('[%s|%.2s|%8.3s|%-8s|%c|%%|%p|%p]', 'hello', 'hello', 'hello', 'hi', 65, 0x1234, 0), '[hello|he|     hel|hi      |A|%|0x1234|(nil)]');
  t.equal(sprintf('%s', null), '(null)');
  t.equal(sprintf('no conversions\n'), 'no conversions\n');
});

t.test('floating point, ties rounded to even like glibc', async (t) => {
  t.equal(
    sprintf('[%f|%.2f|%.0f|%.0f|%.0f|%e|%.3e|%E|%g|%g|%g|%g|%G|%#g|%.3g|%10.4f|%-10.2f|%+.1f]', 3.14159, 2.675, 0.5, 1.5, 2.5, 12345.678, 0.00012345, 1e100, 0.0001, 0.00001, 123456.0, 1234567.0, 1e-10, 1.0, 3.14159, 3.14159, 2.5, 0.05),
    '[3.141590|2.67|0|2|2|1.234568e+04|1.234e-04|1.000000E+100|0.0001|1e-05|123456|1.23457e+06|1E-10|1.00000|3.14|    3.1416|2.50      |+0.1]',
  );
  t.equal(sprintf('%.*f|%5.1f', 2, 1.005, 99.25), '1.00| 99.2');
});

t.test('misuse is loud', async (t) => {
  t.throws(() => sprintf('%d %d', 1), /missing argument for %d/);
  t.throws(() => sprintf('%d', 'x'), /needs a number/);
  t.throws(() => sprintf('%n', 1), /unsupported conversion %n/);
});
