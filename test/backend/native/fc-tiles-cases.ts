// The batched fc forward cases of fc-tiles.test.ts: every tail of the tile kernel (addon/src/fc_gemm.cc) once.
// n: batch (16-column panels of x^T, groups of 8 panels), o: outputs (12-row blocks of w), i: inputs (256-wide
// K blocks).
export const FC_CASES = [
  { name: 'two rows, tails everywhere', n: 2, o: 13, i: 5 },
  { name: 'one partial panel, o = 1000 (fc8: 83 blocks and 4 rows)', n: 5, o: 1000, i: 77 },
  { name: 'K in blocks with a tail', n: 64, o: 300, i: 1030 },
  { name: 'two panel groups (9 panels)', n: 130, o: 37, i: 600 },
] as const;
