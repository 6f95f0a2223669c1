// The RNG lives on the ground floor (src/util/rng.ts); this keeps the data pipeline's imports working.
export * from '../util/rng.ts';
