/**
 * Content-defined chunking (§5 of the format document): the keyed gear table,
 * the FastCDC cut rule (in WebAssembly) and reading files into chunks.
 */
export { Chunker, type ChunkerParams, DEFAULT_CHUNKER, gearTable, validateChunkerParams } from './chunker.js';
export { type ByteSource, readChunks, type StreamChunking, streamByteSource } from './chunk-reader.js';
