// Package entry (alexnet-ts): inference API, model, backends, weights interchange and the shared types.
export { load, softmaxRows } from './api.ts';
export type { AlexNetClassifier, ImageInput, LoadOptions, Prediction } from './api.ts';
export { createModel } from './model/index.ts';
export { defaultPreprocessing } from './data/preprocess.ts';
export { createBackend } from './backend/index.ts';
export type { BackendName, BackendOptions } from './backend/index.ts';
export { saveWeights, loadWeights, resetClassifier, detectFormat, WeightsFormatError } from './io/weights.ts';
export { checkStateDict, inferArch, StateDictError } from './model/spec.ts';
export type { LoadedWeights, MetaOverrides, WeightsFormat } from './io/weights.ts';
export { exportOnnx, importOnnx } from './io/onnx.ts';
export { readPth, writePth } from './io/pth.ts';
export type { Backend, Tensor } from './backend/backend.ts';
export type {
  Model, ModelConfig, NamedArray, Preprocessing, StateDict, SummaryRow, TrainStepOptions, Variant, WeightsMeta,
} from './model/types.ts';
