/**
 * The kselftest.h calls kvm_util needs, in one place: TEST_REQUIRE ends in
 * ksft_exit_skip(), exactly as tools/testing/selftests/kvm/include/test_util.h;
 * all output goes through kselftest's synchronous fd writers.
 */
export { ksftExitSkip, writeStdout, writeStderr } from '../kselftest/index.js';
