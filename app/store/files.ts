// Files in streams (DESIGN §4), as the other layers use them: records of type `file` keyed by
// relative path, small ones inline, big ones as a manifest of 1 MiB content-addressed chunks. What
// each part does lives beside this: file-value.ts (paths, the value layout), chunks.ts (the chunk
// table, operations in progress, collection), file-read.ts, file-add.ts (add, delete), folders.ts.
export { CHUNK_SIZE } from './chunk-writer.js';
export {
  FILE_TYPE,
  SMALL_FILE_MAX,
  mimeForPath,
  newFilePath,
  normalizeFilePath,
  parseFileValue,
  smallContent,
  smallFileValue,
  type FileHeader,
} from './file-value.js';
export { chunkCount, collectLeftovers, dropUnreferencedChunks, gcChunks, getChunk, hasChunk, putChunk } from './chunks.js';
export {
  byteRange,
  filePaths,
  listFiles,
  missingChunks,
  openFileStream,
  rawFileBody,
  readFileBytes,
  sealedChunkLists,
  statFile,
  type FileEntry,
} from './file-read.js';
export { addBytes, addFile, deleteFile, deleteFiles, filesToDelete } from './file-add.js';
export { addPaths, folderDiff, importFolder, type FileSide, type ImportProgress, type ImportResult } from './folders.js';
export { chunkToServe, type ReadChunk } from './chunk-reader.js';
