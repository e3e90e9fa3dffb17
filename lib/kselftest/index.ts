export * from './codes.js';
export * from './kselftest.js';
export { sprintf, vsprintf, type PrintfArg } from './printf.js';
export { writeStdout, writeStderr, writeFd, type StreamFd } from './stdio.js';
