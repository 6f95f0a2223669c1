// ONNX interchange: exportOnnx (onnx_export.ts) and importOnnx (onnx_import.ts), protobuf by hand (protobuf.ts).
export { exportConvOnnx, exportGemmOnnx, exportOnnx, ONNX_OPSET } from './onnx_export.ts';
export { importOnnx } from './onnx_import.ts';
