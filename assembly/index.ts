// The wasm core's exports: kernels (SIMD) and their scalar reference twins (ref_*).
// Kernels take byte offsets (usize) and i32 sizes, allocate nothing and know nothing of layers.
// Convention: forward(out, saved..., in..., params..., sizes...);
//             backward(dIn..., dParams..., dOut, in..., params..., saved..., sizes...), accumulating.

// First byte past static data: the TS arena starts here.
export function heap_base(): usize { return __heap_base; }

export * from './act';
export * from './reference/act';
export { peak_probe } from './gemm';
export * from './conv2d';
export * from './conv_bias';
export * from './reference/conv2d';
export * from './upconv';
export * from './reference/upconv';
export * from './tensor';
export * from './reference/tensor';
export * from './loss';
export * from './reference/loss';
export * from './adam';
export * from './reference/adam';
export * from './norm';
export * from './reference/norm';
export * from './pool';
export * from './reference/pool';
export * from './dequant';
export * from './reference/dequant';
export * from './winograd';
export * from './reference/winograd';
export * from './winograd_s2';
export * from './reference/winograd_s2';
export * from './winograd_s2f4';
export {
  upconv_split_packed_size, upconv_split_packed_scratch_size, upconv_split_forward_scratch_size, upconv_split_pack,
  upconv_split_forward_packed, upconv_split_forward, upconv_split_backward_input, upconv_split_backward_weight,
  upconv_split_scratch_size,
} from './winograd_split';
export * from './conv3s2_split';
export { upconv_parts_forward_scratch_size, upconv_parts_forward } from './upconv_parts';
export { upconv_taps_packed_size, upconv_taps_pack, upconv_taps_scratch_size, upconv_taps_forward_packed } from './upconv_taps';
export {
  ref_upconv_split_packed_size, ref_upconv_split_packed_scratch_size, ref_upconv_split_forward_scratch_size,
  ref_upconv_split_pack, ref_upconv_split_forward, ref_upconv_split_forward_packed, ref_upconv_split_scratch_size,
  ref_upconv_split_backward_input, ref_upconv_split_backward_weight,
} from './reference/winograd_split';
export * from './reference/conv3s2_split';
export * from './reference/upconv_parts';
export * from './reference/upconv_taps';
export {
  split4_packed_size, split4_pack, upconv_split4_packed_scratch_size, conv3s2_split4_packed_scratch_size,
  upconv_split4_forward_packed, conv3s2_split4_forward_packed,
} from './winograd_split4';
export * from './reference/winograd_split4';
