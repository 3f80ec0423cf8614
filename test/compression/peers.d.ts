// Types for the untyped npm codecs used as test and bench oracles.
declare module "snappyjs" {
  const SnappyJS: {
    compress<T extends Uint8Array | ArrayBuffer>(input: T): T;
    uncompress<T extends Uint8Array | ArrayBuffer>(input: T, maxLength?: number): T;
  };
  export default SnappyJS;
}
declare module "lz4js" {
  const lz4js: {
    compress(src: Uint8Array | number[], maxSize?: number): Uint8Array;
    decompress(src: Uint8Array | number[], maxSize?: number): Uint8Array;
  };
  export default lz4js;
}
