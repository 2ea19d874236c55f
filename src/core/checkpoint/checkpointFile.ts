import { createHash } from 'node:crypto';

/**
 * The checkpoint file format, one self-checking file:
 *   "ICGANCK1" | sha256(rest) (32 bytes) | rest
 *   rest = u32 LE header length | header JSON (utf-8) | float32 LE tensor data
 * The checksum covers the header and every tensor, so a torn or corrupted file is rejected on
 * load instead of silently resuming from garbage.
 */
const MAGIC = Buffer.from('ICGANCK1', 'ascii');
const DIGEST_BYTES = 32;

export interface TensorRecord {
  name: string;
  shape: number[];
  data: Float32Array;
}

interface HeaderTensor {
  name: string;
  shape: number[];
  offset: number;
  length: number;
}

interface Header<M> {
  version: 1;
  meta: M;
  tensors: HeaderTensor[];
}

export function encodeCheckpoint<M>(meta: M, tensors: readonly TensorRecord[]): Buffer {
  let offset = 0;
  const entries: HeaderTensor[] = tensors.map((t) => {
    const e = { name: t.name, shape: t.shape, offset, length: t.data.length };
    offset += t.data.length;
    return e;
  });
  const header = Buffer.from(
    JSON.stringify({ version: 1, meta, tensors: entries } satisfies Header<M>),
    'utf8',
  );
  const data = Buffer.alloc(offset * 4);
  let pos = 0;
  for (const t of tensors) {
    // Copy through a Buffer view: little-endian on every platform Node supports.
    Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(data, pos);
    pos += t.data.byteLength;
  }
  const length = Buffer.alloc(4);
  length.writeUInt32LE(header.length, 0);
  const rest = Buffer.concat([length, header, data]);
  const digest = createHash('sha256').update(rest).digest();
  return Buffer.concat([MAGIC, digest, rest]);
}

export class CorruptCheckpointError extends Error {
  override readonly name = 'CorruptCheckpointError';
}

export function decodeCheckpoint<M>(buf: Buffer): { meta: M; tensors: Map<string, TensorRecord> } {
  if (
    buf.length < MAGIC.length + DIGEST_BYTES + 4 ||
    !buf.subarray(0, MAGIC.length).equals(MAGIC)
  ) {
    throw new CorruptCheckpointError('not a checkpoint file (bad magic or too short)');
  }
  const digest = buf.subarray(MAGIC.length, MAGIC.length + DIGEST_BYTES);
  const rest = buf.subarray(MAGIC.length + DIGEST_BYTES);
  if (!createHash('sha256').update(rest).digest().equals(digest)) {
    throw new CorruptCheckpointError('checksum mismatch (the file is truncated or corrupted)');
  }
  const headerLength = rest.readUInt32LE(0);
  const header = JSON.parse(rest.subarray(4, 4 + headerLength).toString('utf8')) as Header<M>;
  if (header.version !== 1)
    throw new CorruptCheckpointError(`unsupported checkpoint version ${String(header.version)}`);
  const dataStart = 4 + headerLength;
  const floats = (rest.length - dataStart) / 4;
  // Copy into an aligned buffer: the data offset inside the file need not be a multiple of 4.
  const all = new Float32Array(floats);
  new Uint8Array(all.buffer).set(rest.subarray(dataStart));
  const tensors = new Map<string, TensorRecord>();
  for (const t of header.tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (size !== t.length || t.offset + t.length > floats) {
      throw new CorruptCheckpointError(
        `tensor '${t.name}' does not match its shape [${t.shape.join(', ')}]`,
      );
    }
    tensors.set(t.name, {
      name: t.name,
      shape: t.shape,
      data: all.subarray(t.offset, t.offset + t.length),
    });
  }
  return { meta: header.meta, tensors };
}
