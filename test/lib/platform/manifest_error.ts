/** The ManifestError a call throws, for tests that read its fields; any other outcome fails the test. */
import { ManifestError } from '../../../lib/platform/validate.js';

export function errorOf(fn: () => unknown): ManifestError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ManifestError) return e;
    throw e;
  }
  throw new Error('no ManifestError thrown');
}
