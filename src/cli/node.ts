// The package's `bicyclegan-wasm/node` entry: everything of the `.` entry (inference, images, weight files,
// loadModule) plus what needs Node (or Deno/Bun's Node APIs): the Node core loader with the threads builds
// and the relaxed-SIMD flag, training (one thread or the Piscina data-parallel engine), checkpoints, the
// pix2pix data loader (sharp) and sampling to files. Lives in the top layer because it gathers all of them.
export * from '../infer/index.js';
export { loadCore, compiledModule, enableRelaxedSimd, resolveBuild, wasmPath, type NodeCoreOptions } from '../core/load-node.js';
export { createCore, createCoreSync, type Core, type CoreOptions, type CoreSource } from '../core/loader.js';
export { parseSafetensors, serializeSafetensors, type Safetensors, type TensorView, type Dtype } from '../core/safetensors.js';
export { DEFAULT_MODEL, type ModelConfig } from '../models/config.js';
export * from '../train/config.js';
export * from '../train/trainer.js';
export * from '../train/sampling.js';
export * from '../train/bicyclegan.js';
export * from '../train/checkpoint.js';
export * from '../train/checkpoint-file.js';
export * from '../train/engine.js';
export { DataError } from '../data/decode.js';
export { createParallelEngine, ParallelEngine, ParallelWorkerError, type ParallelEngineOptions } from '../parallel/engine.js';
export { checkpointInfo } from './info.js';
export { readModelFile, parameterCounts, parseModelConfig, ModelConfigSchema, type ModelFile, type ModelFileKind } from './model-file.js';
export * from '../train/recalibrate.js';
export * from '../train/recalibrate-file.js';
export * from '../train/evaluate.js';
export { convertFile, parseConvertConfig, ConvertConfigSchema, type ConvertConfig } from './convert.js';
export { zooModelBytes, zooModelPath } from './zoo-file.js';
