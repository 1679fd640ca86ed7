/**
 * The seam under WorkerChannel: something that moves whole frames both ways. The ZeroMQ implementation
 * serves real workers; tests plug in an in-memory pair so the channel logic runs without processes.
 */
import { Dealer } from "zeromq";

/** A bidirectional frame pipe to one peer. */
export interface Transport {
  /** Queues one frame for the peer; rejects once the transport is closed. */
  send(frame: Uint8Array): Promise<void>;
  /** Frames from the peer, in order; ends when the transport is closed. */
  frames(): AsyncIterable<Uint8Array>;
  /** Closes the transport; unsent frames are dropped. Idempotent. */
  close(): void;
}

/** A bound ZeroMQ DEALER socket (see protocol.ts for why DEALER and ipc). */
export class ZmqTransport implements Transport {
  private readonly socket: Dealer;
  // zeromq.js allows one blocked send at a time (EBUSY otherwise), so sends go through a chain.
  private sendChain: Promise<void> = Promise.resolve();

  private constructor(
    socket: Dealer,
    /** The endpoint the socket is bound to, for the worker's `--endpoint`. */
    readonly endpoint: string,
  ) {
    this.socket = socket;
  }

  /** Binds a fresh DEALER socket on `endpoint` (e.g. `ipc:///tmp/sax-w-x/w1.sock`). */
  static async bind(endpoint: string): Promise<ZmqTransport> {
    // linger 0: on close, frames for a peer that is gone are dropped instead of holding the context.
    const socket = new Dealer({ linger: 0 });
    try {
      await socket.bind(endpoint);
    } catch (err) {
      socket.close();
      throw err;
    }
    return new ZmqTransport(socket, endpoint);
  }

  send(frame: Uint8Array): Promise<void> {
    const sent = this.sendChain.then(() => this.socket.send(frame));
    this.sendChain = sent.catch(() => undefined);
    return sent;
  }

  async *frames(): AsyncIterable<Uint8Array> {
    while (!this.socket.closed) {
      let parts: Buffer[];
      try {
        parts = await this.socket.receive();
      } catch (err) {
        if (this.socket.closed) return;
        throw err;
      }
      // Protocol messages are single frames; further parts, if a peer ever sent some, are ignored.
      const [frame] = parts;
      if (frame !== undefined) yield frame;
    }
  }

  close(): void {
    if (!this.socket.closed) this.socket.close();
  }
}
