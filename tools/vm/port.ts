// The host end of a guest's output port: a UNIX socket QEMU connects to
// (-chardev socket), whose bytes go to one of our streams.
//
// Why a drain handshake: when our side reads slowly, QEMU keeps the
// guest's unsent bytes in the virtqueue and the guest's write() has already
// returned, so an init that reboots right after the job would lose the end
// of the output (the TAP plan, the totals). init.sh therefore writes the
// run's end marker to the port after the job, and waits for a line back
// before it reboots. The marker is random per run, so job output never
// contains it; it is cut from the stream.
import { createServer, type Server, type Socket } from 'node:net';
import type { Writable } from 'node:stream';

/** The answer init.sh waits for: one line. */
export const DRAIN_ACK = 'drained\n';

/** Length of the longest suffix of `buf` that is a proper prefix of `marker`. */
export function partialMarkerAt(buf: Buffer, marker: Buffer): number {
  for (let n = Math.min(marker.length - 1, buf.length); n > 0; n--) {
    if (buf.subarray(buf.length - n).equals(marker.subarray(0, n))) return n;
  }
  return 0;
}

/**
 * Splits the end marker off a byte stream. `push` returns what may be
 * forwarded now and whether the marker has been seen; bytes that might be
 * the start of the marker are held back until the next chunk decides.
 */
export class MarkerSplitter {
  private held = Buffer.alloc(0);
  private seen = false;

  constructor(private readonly marker: Buffer) {}

  push(chunk: Buffer): { out: Buffer; marker: boolean } {
    if (this.seen) return { out: chunk, marker: false };
    const buf = this.held.length > 0 ? Buffer.concat([this.held, chunk]) : chunk;
    const at = buf.indexOf(this.marker);
    if (at >= 0) {
      this.seen = true;
      this.held = Buffer.alloc(0);
      // Anything after the marker (a background process of the job still
      // writing) is output too.
      return { out: Buffer.concat([buf.subarray(0, at), buf.subarray(at + this.marker.length)]), marker: true };
    }
    const keep = partialMarkerAt(buf, this.marker);
    this.held = Buffer.from(buf.subarray(buf.length - keep));
    return { out: buf.subarray(0, buf.length - keep), marker: false };
  }

  /** At the end of the stream: what was held back was output after all. */
  flush(): Buffer {
    const b = this.held;
    this.held = Buffer.alloc(0);
    return b;
  }
}

/**
 * Listens on `path` for QEMU's one connection and copies it to `to`.
 * `marker` undefined: a plain copy (the kernel console). `done` settles when
 * the connection ends or the server is closed without one.
 */
export class PortListener {
  readonly done: Promise<void>;
  /** The end marker came: everything the job wrote here has arrived. */
  drained = false;
  private readonly server: Server;
  private socket?: Socket;

  private constructor(server: Server, to: Writable, marker: Buffer | undefined) {
    this.server = server;
    this.done = new Promise((resolve) => {
      server.on('close', () => {
        if (!this.socket) resolve();
      });
      server.on('connection', (s) => {
        // One connection per port: QEMU's.
        server.close();
        this.socket = s;
        const split = marker ? new MarkerSplitter(marker) : undefined;
        // No back-pressure on the socket: it is read as fast as it comes, so
        // QEMU's writes do not stall while our stdout is slow (bytes
        // queue in our stream instead, bounded by what the job prints).
        s.on('data', (chunk: Buffer) => {
          if (!split) {
            to.write(chunk);
            return;
          }
          const r = split.push(chunk);
          if (r.out.length > 0) to.write(r.out);
          if (r.marker) {
            this.drained = true;
            s.write(DRAIN_ACK);
          }
        });
        const end = (): void => {
          const rest = split?.flush();
          if (rest && rest.length > 0) to.write(rest);
          resolve();
        };
        s.on('end', end);
        s.on('error', end);
      });
    });
  }

  static async listen(path: string, to: Writable, marker?: Buffer): Promise<PortListener> {
    const server = createServer({ allowHalfOpen: false });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    return new PortListener(server, to, marker);
  }

  /** QEMU has exited: stop waiting for a connection that will not come. */
  close(): void {
    if (!this.socket) this.server.close();
  }
}
