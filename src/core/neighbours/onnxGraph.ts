/**
 * Just enough of the ONNX protobuf format to describe a small graph in code — no onnx/protobuf
 * dependency for a handful of fields. Field numbers are those of onnx.proto (IR version 8).
 */

type Bytes = number[];

function varint(value: number): Bytes {
  // Negative int64s take a 10-byte two's-complement form this encoder doesn't need.
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`varint ${value}`);
  const out: Bytes = [];
  let v = value;
  while (v > 127) {
    out.push((v & 127) | 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

const key = (field: number, wireType: 0 | 2): Bytes => varint(field * 8 + wireType);
const int = (field: number, value: number): Bytes => [...key(field, 0), ...varint(value)];
const message = (field: number, body: Bytes): Bytes => [
  ...key(field, 2),
  ...varint(body.length),
  ...body,
];
const text = (field: number, value: string): Bytes => message(field, [...Buffer.from(value)]);

export const ELEM_FLOAT = 1;
export const ELEM_INT64 = 7;

/** A dimension: a number, or a name for a size given at run time. */
export type Dim = number | string;

export interface ValueInfo {
  name: string;
  elemType: number;
  dims: Dim[];
}

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  /** Integer attributes (e.g. TopK's axis, largest, sorted). */
  ints?: Record<string, number>;
}

function valueInfo(field: number, v: ValueInfo): Bytes {
  const dims = v.dims.flatMap((d) => message(1, typeof d === 'number' ? int(1, d) : text(2, d)));
  // ValueInfoProto{name=1, type=2}; TypeProto{tensor_type=1}; Tensor{elem_type=1, shape=2}.
  return message(field, [
    ...text(1, v.name),
    ...message(2, message(1, [...int(1, v.elemType), ...message(2, dims)])),
  ]);
}

function node(spec: NodeSpec): Bytes {
  const attributes = Object.entries(spec.ints ?? {}).flatMap(([name, value]) =>
    // AttributeProto{name=1, i=3, type=20 (INT = 2)}.
    message(5, [...text(1, name), ...int(3, value), ...int(20, 2)]),
  );
  return message(1, [
    ...spec.inputs.flatMap((i) => text(1, i)),
    ...spec.outputs.flatMap((o) => text(2, o)),
    ...text(4, spec.op),
    ...attributes,
  ]);
}

/** A ModelProto with one graph, default domain at `opset`. */
export function onnxModel(
  graph: { nodes: NodeSpec[]; inputs: ValueInfo[]; outputs: ValueInfo[] },
  opset = 13,
): Uint8Array {
  const body = [
    ...graph.nodes.flatMap(node),
    ...text(2, 'icgan'),
    ...graph.inputs.flatMap((v) => valueInfo(11, v)),
    ...graph.outputs.flatMap((v) => valueInfo(12, v)),
  ];
  return Uint8Array.from([
    ...int(1, 8),
    ...message(8, [...text(1, ''), ...int(2, opset)]),
    ...message(7, body),
  ]);
}
