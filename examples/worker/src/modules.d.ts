declare module '*.wasm' {
  const module: WebAssembly.Module;
  export default module;
}
declare module '*.safetensors' {
  const data: ArrayBuffer;
  export default data;
}
declare module '*.png.bin' {
  const data: ArrayBuffer;
  export default data;
}
