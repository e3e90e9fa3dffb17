#!/usr/bin/env node
// A stand-in for qemu-system-x86_64 in the tests of tools/vm: it reads the
// same command line, connects to the runner's sockets as QEMU does, and
// plays the guest on the host as tools/vm/init.sh would: runs the scratch
// share's job.sh with stdout and stderr on the ports, writes the uptimes and
// the status, then sends the end marker on each port and waits for the
// answer. FAKE_QEMU selects what happens instead:
//   sleep    hang (the timeout path)
//   panic    a panic on the console, exit 0 without a status
//   nodrain  as run, but exit without the end marker
// FAKE_QEMU_ARGS=FILE records the arguments, one per line. Plain JavaScript:
// started as a program, without tsx.
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';

const args = process.argv.slice(2);
if (process.env.FAKE_QEMU_ARGS) appendFileSync(process.env.FAKE_QEMU_ARGS, args.map((a) => `${a}\n`).join(''));
let scratch;
const sockets = {};
for (let i = 0; i < args.length; i++) {
  const v = args[i + 1] ?? '';
  if (args[i] === '-fsdev' && v.includes(',id=scratch,')) scratch = /,path=([^,]*)/.exec(v)[1];
  if (args[i] === '-chardev' && v.startsWith('socket,')) sockets[/,id=([^,]*)/.exec(v)[1]] = /,path=([^,]*)/.exec(v)[1];
}
process.stderr.write('qemu-system-x86_64: warning: a QEMU warning on stderr\n');
process.stdout.write('QEMU stdout: must not reach the job stdout\n');
const open = (path) => new Promise((resolve, reject) => {
  const s = connect(path, () => resolve(s));
  s.on('error', reject);
});
const con = await open(sockets.console);
const out = await open(sockets.out);
const err = await open(sockets.err);
const mode = process.env.FAKE_QEMU ?? 'run';
if (mode === 'sleep') {
  setInterval(() => {}, 1000);
} else if (mode === 'panic') {
  con.end('[    1.000000] Kernel panic - not syncing: Attempted to kill init!\n', () => process.exit(0));
} else {
  con.write('[    0.500000] booting\n');
  writeFileSync(`${scratch}/uptime.start`, '0.50 0.40\n');
  const job = spawn('sh', [`${scratch}/job.sh`], { stdio: ['ignore', 'pipe', 'pipe'] });
  job.stdout.on('data', (c) => out.write(c));
  job.stderr.on('data', (c) => err.write(c));
  const status = await new Promise((resolve) => job.on('close', (code) => resolve(code ?? 128)));
  writeFileSync(`${scratch}/uptime.end`, '2.00 1.80\n');
  writeFileSync(`${scratch}/status`, `${status}\n`);
  if (mode !== 'nodrain') {
    const marker = readFileSync(`${scratch}/marker`);
    for (const port of [out, err]) {
      port.write(marker);
      await new Promise((resolve) => port.once('data', resolve));
    }
  }
  let open = 3;
  for (const s of [con, out, err]) s.end(() => --open === 0 && process.exit(0));
}
