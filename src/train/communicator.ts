// The data-parallel collectives' contract and a rank's place in the world: types only, so an engine
// (comm-mpi.ts) and the factory that picks one (comm.ts) both depend on this and not on each other.

export interface Communicator {
  readonly rank: number;
  readonly size: number;
  /** Engine name for logs ('local', 'mpi', ...). */
  readonly engine: string;
  /** In place: every rank ends with the element-wise sum (or mean) over ranks of scale x buf, where
   *  `scale` (default 1) weights this rank's contribution (a rank's share of the global batch). */
  allreduce(buf: Float32Array, op?: 'sum' | 'mean', scale?: number): Promise<void>;
  /** In place: every rank ends with root's values. */
  broadcast(buf: Float32Array, root?: number): Promise<void>;
  barrier(): Promise<void>;
  close(): Promise<void>;
}

export type WorldSource = 'openmpi' | 'pmi' | 'slurm' | 'env' | 'default';
export interface WorldInfo {
  rank: number;
  size: number;
  /** Rank and rank count on this host, where the launcher says (thread and device placement). */
  localRank?: number;
  localSize?: number;
  source: WorldSource;
}
