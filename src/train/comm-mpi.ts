// The MPI engine behind the Communicator interface: the optional binding in addon/mpi (built when an MPI's
// headers exist). Every collective is queued, in call order, on the binding's one communication thread, so
// the JS thread never blocks and every rank issues the same sequence as long as the JS code does.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Communicator, WorldInfo } from './communicator.ts';

interface MpiBinding {
  init(): Promise<{ rank: number; size: number; threadLevel: string; library: string }>;
  /** In place: sum over ranks of scale_r * x_r; resolves with the seconds the MPI call took. */
  allreduce(buf: Float32Array, scale?: number): Promise<number>;
  broadcast(buf: Float32Array, root: number): Promise<number>;
  barrier(): Promise<number>;
  finalize(): Promise<number>;
  abort(code: number): void;
}

/** The built binding, from src/train/ and dist/train/ alike (two folders below the package root). */
export const MPI_BINDING_FILE = fileURLToPath(new URL('../../addon/mpi/build/Release/alexnet_mpi.node', import.meta.url));

function loadBinding(): MpiBinding {
  const file = process.env.ALEXNET_MPI_ADDON ?? MPI_BINDING_FILE;
  if (!existsSync(file)) {
    throw new Error(`the MPI binding is not built (${file} missing): install Open MPI (Debian: apt-get install libopenmpi-dev openmpi-bin), then npm run build:mpi`);
  }
  try {
    return createRequire(import.meta.url)(file) as MpiBinding;
  } catch (e) {
    throw new Error(`the MPI binding ${file} does not load: ${(e as Error).message.split('\n')[0]}; rebuild it with npm run build:mpi`);
  }
}

export class MpiCommunicator implements Communicator {
  readonly engine = 'mpi';
  /** Seconds spent inside MPI calls on the communication thread, over the communicator's life. */
  busySeconds = 0;
  private closed = false;
  private constructor(private readonly b: MpiBinding, readonly rank: number, readonly size: number, readonly threadLevel: string, readonly library: string) {}

  /** MPI_Init_thread(MPI_THREAD_MULTIPLE) on the communication thread; checks the world MPI reports
   *  against the one the launcher's environment announced. */
  static async open(world?: WorldInfo): Promise<MpiCommunicator> {
    const b = loadBinding();
    const w = await b.init();
    if (world && (w.rank !== world.rank || w.size !== world.size)) {
      await b.finalize().catch(() => undefined);
      throw new Error(`MPI reports rank ${w.rank} of ${w.size}, but the ${world.source} launcher's environment says rank ${world.rank} of ${world.size}`);
    }
    return new MpiCommunicator(b, w.rank, w.size, w.threadLevel, w.library);
  }

  private async timed(p: Promise<number>): Promise<void> {
    const s = await p; // not `busySeconds += await p`: that reads busySeconds before the wait, losing overlapping calls
    this.busySeconds += s;
  }

  private open(what: string): void {
    if (this.closed) throw new Error(`${what}: the MPI communicator is closed`);
  }

  allreduce(buf: Float32Array, op: 'sum' | 'mean' = 'sum', scale = 1): Promise<void> {
    this.open('allreduce');
    if (op !== 'sum' && op !== 'mean') return Promise.reject(new Error(`allreduce: unknown op "${op}"`));
    return this.timed(this.b.allreduce(buf, op === 'mean' ? scale / this.size : scale));
  }

  broadcast(buf: Float32Array, root = 0): Promise<void> {
    this.open('broadcast');
    if (!Number.isInteger(root) || root < 0 || root >= this.size) return Promise.reject(new Error(`broadcast: root ${root} outside a world of ${this.size} ranks`));
    return this.timed(this.b.broadcast(buf, root));
  }

  barrier(): Promise<void> {
    this.open('barrier');
    return this.timed(this.b.barrier());
  }

  /** MPI_Finalize after every queued collective. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.b.finalize();
  }

  /** Ends every rank now: one rank's failure must not leave the others waiting in a collective. */
  abort(code = 1): void {
    this.b.abort(code);
  }
}
