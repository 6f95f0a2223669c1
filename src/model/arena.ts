// Parameters, gradients and momentum each live in ONE flat f32 tensor (an arena) carved into named
// views by a table of ParamEntry. The optimiser is one `sgd` op over the whole arena, zeroing the
// gradients is one `fill`, and a checkpoint is one read/write of each arena.
import type { Backend, Tensor } from '../backend/backend.ts';

/** One named parameter inside the arena (torchvision state_dict names, e.g. features.0.weight). */
export interface ParamEntry { name: string; shape: number[]; offset: number; size: number }

/** Table of names/shapes/offsets in the given order (state_dict order). */
export function buildParamTable(shapes: readonly { name: string; shape: readonly number[] }[]): ParamEntry[] {
  const table: ParamEntry[] = [];
  let offset = 0;
  for (const { name, shape } of shapes) {
    const size = shape.reduce((a, b) => a * b, 1);
    table.push({ name, shape: [...shape], offset, size });
    offset += size;
  }
  return table;
}

export function arenaSize(table: readonly ParamEntry[]): number {
  const last = table[table.length - 1];
  return last ? last.offset + last.size : 0;
}

export class Arena {
  readonly base: Tensor;
  /** One view per entry, same order as the table. */
  views: Tensor[] = [];
  readonly byName = new Map<string, Tensor>();

  constructor(readonly be: Backend, readonly table: readonly ParamEntry[], init?: Float32Array) {
    const n = arenaSize(table);
    if (init && init.length !== n) throw new Error(`arena: init has ${init.length} values, the table needs ${n}`);
    this.base = init ? be.upload(init, [n]) : be.alloc([n], 'f32');
    this.carve();
  }

  get size(): number { return this.base.size; }

  view(name: string): Tensor {
    const t = this.byName.get(name);
    if (!t) throw new Error(`arena: no parameter named '${name}'`);
    return t;
  }

  /** Replace the whole contents in place (one write; the views, and every layer bound to them, stay valid). */
  replace(data: Float32Array): void {
    if (data.length !== this.base.size) throw new Error(`arena: expected ${this.base.size} values, got ${data.length}`);
    this.be.write(this.base, data);
  }

  zero(): void {
    this.be.run('fill', { x: this.base }, { value: 0 });
  }

  async read(): Promise<Float32Array> {
    return (await this.be.read(this.base)) as Float32Array;
  }

  dispose(): void {
    this.be.free(...this.views, this.base);
    this.views = [];
    this.byName.clear();
  }

  private carve(): void {
    this.views = this.table.map((e) => this.be.view(this.base, e.offset, e.shape));
    this.byName.clear();
    this.table.forEach((e, i) => this.byName.set(e.name, this.views[i]));
  }
}
