// IC-GAN Studio's own WASM kernels for tfjs-backend-wasm: the conv filter gradient, the memory
// copies around the conv input gradient, element-wise arithmetic (tanh included), the channel
// reductions of batch norm and small matrix products, in SIMD.
//
// The module imports tfjs-wasm's own WebAssembly.Memory ("env"."memory"), so every pointer below
// is a tensor's byte offset on that heap and the kernels read and write tensor data in place.
// It owns no memory of its own: no data segments and no shadow stack (scripts/build-wasm.sh
// fails if the linked module references __stack_pointer or has a data section), so the same
// module can be instantiated on any heap, once per thread.
//
// Threading: every kernel takes (part, parts) last and computes only its share of the work,
// split on whole rows so the arithmetic per element does not depend on the thread count; the JS
// side (src/core/backend/wasmNativeKernels.ts) runs part 0 on the calling thread and the others
// on a worker pool sharing the memory. Results are bit-identical for any `parts`.
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))

// Rows [lo, hi) of `n` for this part; every part but the last gets a multiple of `align` rows.
#define SPLIT(n, align, part, parts, lo, hi)                                                 \
  int lo = (int)((((long long)((n) / (align)) * (part)) / (parts)) * (align));               \
  int hi = (part) + 1 == (parts)                                                             \
               ? (n)                                                                         \
               : (int)((((long long)((n) / (align)) * ((part) + 1)) / (parts)) * (align));

enum { OP_ADD = 0, OP_SUB = 1, OP_MUL = 2, OP_DIV = 3 };

static inline v128_t vop(int op, v128_t a, v128_t b) {
  return op == OP_ADD   ? wasm_f32x4_add(a, b)
         : op == OP_SUB ? wasm_f32x4_sub(a, b)
         : op == OP_MUL ? wasm_f32x4_mul(a, b)
                        : wasm_f32x4_div(a, b);
}

static inline float sop(int op, float a, float b) {
  return op == OP_ADD ? a + b : op == OP_SUB ? a - b : op == OP_MUL ? a * b : a / b;
}

// ---- element-wise ------------------------------------------------------------------------------

// Same-shape binary op kernel body; `op` is a compile-time constant in each caller.
static inline void binary_same(int op, const float *a, const float *b, float *out, int lo,
                               int hi) {
  int i = lo;
  for (; i + 4 <= hi; i += 4) {
    wasm_v128_store(out + i, vop(op, wasm_v128_load(a + i), wasm_v128_load(b + i)));
  }
  for (; i < hi; i++) out[i] = sop(op, a[i], b[i]);
}

// out[i] = a[i] op b[i], i < n.
EXPORT(binary)
void binary(int op, const float *a, const float *b, float *out, int n, int part, int parts) {
  SPLIT(n, 64, part, parts, lo, hi)
  if (op == OP_ADD) binary_same(OP_ADD, a, b, out, lo, hi);
  else if (op == OP_SUB) binary_same(OP_SUB, a, b, out, lo, hi);
  else if (op == OP_MUL) binary_same(OP_MUL, a, b, out, lo, hi);
  else binary_same(OP_DIV, a, b, out, lo, hi);
}

static inline void bcast_rows(int op, const float *big, const float *small, float *out, int mid,
                              int inner, int flip, int lo, int hi) {
  for (int r = lo; r < hi; r++) {
    const float *s = small + (long)(r / mid) * inner;
    const float *x = big + (long)r * inner;
    float *o = out + (long)r * inner;
    int j = 0;
    if (flip) {
      for (; j + 4 <= inner; j += 4) {
        wasm_v128_store(o + j, vop(op, wasm_v128_load(s + j), wasm_v128_load(x + j)));
      }
      for (; j < inner; j++) o[j] = sop(op, s[j], x[j]);
    } else {
      for (; j + 4 <= inner; j += 4) {
        wasm_v128_store(o + j, vop(op, wasm_v128_load(x + j), wasm_v128_load(s + j)));
      }
      for (; j < inner; j++) o[j] = sop(op, x[j], s[j]);
    }
  }
}

// big is [outer, mid, inner], small is [outer, 1, inner] broadcast over mid:
// out = big op small, or small op big when `flip`. Split on the outer·mid rows.
EXPORT(binary_bcast)
void binary_bcast(int op, const float *big, const float *small, float *out, int outer, int mid,
                  int inner, int flip, int part, int parts) {
  int rows = outer * mid;
  SPLIT(rows, inner >= 64 ? 1 : 64, part, parts, lo, hi)
  if (op == OP_ADD) bcast_rows(OP_ADD, big, small, out, mid, inner, flip, lo, hi);
  else if (op == OP_SUB) bcast_rows(OP_SUB, big, small, out, mid, inner, flip, lo, hi);
  else if (op == OP_MUL) bcast_rows(OP_MUL, big, small, out, mid, inner, flip, lo, hi);
  else bcast_rows(OP_DIV, big, small, out, mid, inner, flip, lo, hi);
}

static inline void scalar_range(int op, const float *x, float s, float *out, int flip, int lo,
                                int hi) {
  v128_t vs = wasm_f32x4_splat(s);
  int i = lo;
  if (flip) {
    for (; i + 4 <= hi; i += 4) wasm_v128_store(out + i, vop(op, vs, wasm_v128_load(x + i)));
    for (; i < hi; i++) out[i] = sop(op, s, x[i]);
  } else {
    for (; i + 4 <= hi; i += 4) wasm_v128_store(out + i, vop(op, wasm_v128_load(x + i), vs));
    for (; i < hi; i++) out[i] = sop(op, x[i], s);
  }
}

// out[i] = x[i] op *s (or *s op x[i] when `flip`).
EXPORT(binary_scalar)
void binary_scalar(int op, const float *x, const float *s, float *out, int n, int flip, int part,
                   int parts) {
  SPLIT(n, 64, part, parts, lo, hi)
  float v = *s;
  if (op == OP_ADD) scalar_range(OP_ADD, x, v, out, flip, lo, hi);
  else if (op == OP_SUB) scalar_range(OP_SUB, x, v, out, flip, lo, hi);
  else if (op == OP_MUL) scalar_range(OP_MUL, x, v, out, flip, lo, hi);
  else scalar_range(OP_DIV, x, v, out, flip, lo, hi);
}

// out[i] = min(max(x[i], lo), hi) as tfjs-wasm's ClipByValue computes it: (x > lo ? x : lo),
// then (that < hi ? that : hi) — so NaN gives lo and −0 against 0 gives 0.
EXPORT(clip)
void clip(const float *x, float *out, int n, float lo, float hi, int part, int parts) {
  SPLIT(n, 64, part, parts, a, b)
  v128_t vlo = wasm_f32x4_splat(lo), vhi = wasm_f32x4_splat(hi);
  int i = a;
  for (; i + 4 <= b; i += 4) {
    v128_t t = wasm_f32x4_pmax(vlo, wasm_v128_load(x + i));
    wasm_v128_store(out + i, wasm_f32x4_pmin(vhi, t));
  }
  for (; i < b; i++) {
    float t = x[i] > lo ? x[i] : lo;
    out[i] = t < hi ? t : hi;
  }
}

// The 2×2, stride-2 'valid' average pool of an NHWC batch, summed as XNNPACK's pooling kernel
// does (tfjs-wasm's AvgPool): each column of the window, then the two columns, then ·0.25.
// Split on output rows.
EXPORT(avg_pool2)
void avg_pool2(const float *x, float *out, int batch, int h, int w, int c, int part, int parts) {
  int oh = h / 2, ow = w / 2;
  SPLIT(batch * oh, 1, part, parts, lo, hi)
  v128_t quarter = wasm_f32x4_splat(0.25f);
  for (int r = lo; r < hi; r++) {
    const float *top = x + ((long)(r / oh) * h + 2 * (r % oh)) * w * c;
    const float *bottom = top + (long)w * c;
    float *o = out + (long)r * ow * c;
    for (int px = 0; px < ow; px++) {
      const float *tl = top + 2 * px * c, *tr = tl + c, *bl = bottom + 2 * px * c, *br = bl + c;
      float *op = o + px * c;
      int j = 0;
      for (; j + 4 <= c; j += 4) {
        v128_t left = wasm_f32x4_add(wasm_v128_load(tl + j), wasm_v128_load(bl + j));
        v128_t right = wasm_f32x4_add(wasm_v128_load(tr + j), wasm_v128_load(br + j));
        wasm_v128_store(op + j, wasm_f32x4_mul(wasm_f32x4_add(left, right), quarter));
      }
      for (; j < c; j++) op[j] = ((tl[j] + bl[j]) + (tr[j] + br[j])) * 0.25f;
    }
  }
}

enum { UN_SQUARE = 0, UN_RELU = 1, UN_LEAKY_RELU = 2, UN_TANH = 3, UN_NEG = 4 };

// tanh of four lanes, within 1.3 ulp of the exact value (measured over [0, 12] in steps of 2e-4
// and densely around the switch point; float32 emulation in numpy against mpmath).
//  - |x| < 0.625: x + x·s·Q(s), s = x². Q is a least-squares fit of (tanh(x)/x − 1)/s on
//    Chebyshev nodes of s ∈ [0, 0.390625], weighted by s (the error is relative to x).
//  - above: 1 − 2/(e^(2|x|) + 1), |x| clamped to 10 (tanh is 1 in float32 from about 9.01).
//    e^y = 2^n·e^r with n = round(y·log2 e) and r = y − n·ln 2 (ln 2 split in two so n·ln2_hi
//    is exact), e^r by its Taylor polynomial to r⁷ (|r| ≤ 0.35: truncation below 1e-8).
// The sign is copied back from x: tanh(−0) = −0, NaN stays NaN, ±∞ gives ±1, as std::tanh.
static inline v128_t tanh4(v128_t x) {
  v128_t a = wasm_f32x4_abs(x);
  v128_t s = wasm_f32x4_mul(a, a);
  v128_t q = wasm_f32x4_splat(-0.0057040425f);
  q = wasm_f32x4_add(wasm_f32x4_mul(q, s), wasm_f32x4_splat(0.0206378624f));
  q = wasm_f32x4_add(wasm_f32x4_mul(q, s), wasm_f32x4_splat(-0.0537391566f));
  q = wasm_f32x4_add(wasm_f32x4_mul(q, s), wasm_f32x4_splat(0.133314312f));
  q = wasm_f32x4_add(wasm_f32x4_mul(q, s), wasm_f32x4_splat(-0.333332807f));
  v128_t small = wasm_f32x4_add(a, wasm_f32x4_mul(wasm_f32x4_mul(a, s), q));

  v128_t y = wasm_f32x4_mul(wasm_f32x4_min(a, wasm_f32x4_splat(10.0f)), wasm_f32x4_splat(2.0f));
  v128_t n = wasm_f32x4_nearest(wasm_f32x4_mul(y, wasm_f32x4_splat(1.44269504f)));
  v128_t r = wasm_f32x4_sub(y, wasm_f32x4_mul(n, wasm_f32x4_splat(0.693359375f)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, wasm_f32x4_splat(-2.12194440e-4f)));
  v128_t p = wasm_f32x4_splat(1.0f / 5040.0f);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 720.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 120.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 24.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f / 6.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(0.5f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.0f));
  // 2^n from its exponent bits (0 ≤ n ≤ 29 here; a NaN lane gives n = 0 and stays NaN).
  v128_t two_n = wasm_i32x4_shl(
      wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(n), wasm_i32x4_splat(127)), 23);
  v128_t e = wasm_f32x4_mul(p, two_n);
  v128_t one = wasm_f32x4_splat(1.0f);
  v128_t large = wasm_f32x4_sub(
      one, wasm_f32x4_div(wasm_f32x4_splat(2.0f), wasm_f32x4_add(e, one)));

  v128_t t = wasm_v128_bitselect(small, large, wasm_f32x4_lt(a, wasm_f32x4_splat(0.625f)));
  v128_t sign = wasm_i32x4_splat((int)0x80000000u);
  return wasm_v128_bitselect(x, t, sign);
}

// out[i] = f(x[i]): x², max(x, 0), x > 0 ? x : alpha·x (as tfjs: NaN stays NaN), tanh x, or −x
// (a sign flip, as C++'s −x in the stock kernel).
EXPORT(unary)
void unary(int op, const float *x, float *out, int n, float alpha, int part, int parts) {
  SPLIT(n, 64, part, parts, lo, hi)
  int i = lo;
  v128_t zero = wasm_f32x4_splat(0.0f);
  v128_t va = wasm_f32x4_splat(alpha);
  if (op == UN_SQUARE) {
    for (; i + 4 <= hi; i += 4) {
      v128_t v = wasm_v128_load(x + i);
      wasm_v128_store(out + i, wasm_f32x4_mul(v, v));
    }
    for (; i < hi; i++) out[i] = x[i] * x[i];
  } else if (op == UN_RELU) {
    for (; i + 4 <= hi; i += 4) {
      v128_t v = wasm_v128_load(x + i);
      // x < 0 ? 0 : x keeps NaN, as tfjs's relu does.
      wasm_v128_store(out + i, wasm_v128_bitselect(zero, v, wasm_f32x4_lt(v, zero)));
    }
    for (; i < hi; i++) out[i] = x[i] < 0.0f ? 0.0f : x[i];
  } else if (op == UN_NEG) {
    for (; i + 4 <= hi; i += 4) wasm_v128_store(out + i, wasm_f32x4_neg(wasm_v128_load(x + i)));
    for (; i < hi; i++) out[i] = -x[i];
  } else if (op == UN_TANH) {
    for (; i + 4 <= hi; i += 4) wasm_v128_store(out + i, tanh4(wasm_v128_load(x + i)));
    // The leftovers through the same lanes, so every element gets the same arithmetic.
    for (; i < hi; i++) out[i] = wasm_f32x4_extract_lane(tanh4(wasm_f32x4_splat(x[i])), 0);
  } else {
    for (; i + 4 <= hi; i += 4) {
      v128_t v = wasm_v128_load(x + i);
      v128_t neg = wasm_f32x4_lt(v, zero);
      wasm_v128_store(out + i, wasm_v128_bitselect(wasm_f32x4_mul(v, va), v, neg));
    }
    for (; i < hi; i++) out[i] = x[i] < 0.0f ? alpha * x[i] : x[i];
  }
}

// The LeakyRelu gradient: dx[i] = x[i] > 0 ? dy[i] : dy[i]·alpha, in one pass instead of tfjs's
// Greater, Multiply and Select (two intermediates the size of the activation). A select, as
// tfjs's where(x > 0, dy, dy·alpha), not dy·(1 or alpha): dy passes through untouched where
// x > 0, and x ≤ 0, x = ±0 and NaN x take dy·alpha, so the bits are the stock gradient's.
EXPORT(leaky_relu_grad)
void leaky_relu_grad(const float *x, const float *dy, float *out, int n, float alpha, int part,
                     int parts) {
  SPLIT(n, 64, part, parts, lo, hi)
  v128_t zero = wasm_f32x4_splat(0.0f);
  v128_t va = wasm_f32x4_splat(alpha);
  int i = lo;
  for (; i + 4 <= hi; i += 4) {
    v128_t g = wasm_v128_load(dy + i);
    v128_t pos = wasm_f32x4_gt(wasm_v128_load(x + i), zero);
    wasm_v128_store(out + i, wasm_v128_bitselect(g, wasm_f32x4_mul(g, va), pos));
  }
  for (; i < hi; i++) out[i] = x[i] > 0.0f ? dy[i] : dy[i] * alpha;
}

// ---- reductions over the leading axes (per-channel sums) ---------------------------------------
//
// x is [rows, cols]; the sum over rows is taken in blocks of `block` rows (sequential SIMD
// accumulation inside a block), then the block sums are added in a pairwise tree. The rounding
// error grows with block + log2(blocks) instead of rows, and the order of additions is fixed, so
// the result does not depend on the thread count.

// Phase 1: partial[b, :] = Σ_{r in block b} x[r, :] — or of the products x[r, :]·y[r, :] when y
// is given (each product rounded before it is added, as if materialised). Split on blocks.
static inline __attribute__((always_inline)) void colsum_blocks_of(const float *x, const float *y,
                                                                 float *partial, int rows,
                                                                 int cols, int block, int part,
                                                                 int parts) {
  int blocks = (rows + block - 1) / block;
  SPLIT(blocks, 1, part, parts, lo, hi)
  for (int b = lo; b < hi; b++) {
    float *p = partial + (long)b * cols;
    int r0 = b * block;
    int r1 = r0 + block < rows ? r0 + block : rows;
    if (cols == 1) {
      // A whole-tensor sum: four SIMD lanes, then added pairwise.
      v128_t acc = wasm_f32x4_splat(0.0f);
      int r = r0;
      for (; r + 4 <= r1; r += 4) {
        v128_t v = wasm_v128_load(x + r);
        if (y) v = wasm_f32x4_mul(v, wasm_v128_load(y + r));
        acc = wasm_f32x4_add(acc, v);
      }
      float tail = 0.0f;
      for (; r < r1; r++) tail += y ? x[r] * y[r] : x[r];
      p[0] = ((wasm_f32x4_extract_lane(acc, 0) + wasm_f32x4_extract_lane(acc, 1)) +
              (wasm_f32x4_extract_lane(acc, 2) + wasm_f32x4_extract_lane(acc, 3))) +
             tail;
      continue;
    }
    for (int j = 0; j < cols; j++) p[j] = 0.0f;
    for (int r = r0; r < r1; r++) {
      const float *row = x + (long)r * cols;
      const float *yrow = y ? y + (long)r * cols : 0;
      int j = 0;
      for (; j + 4 <= cols; j += 4) {
        v128_t v = wasm_v128_load(row + j);
        if (y) v = wasm_f32x4_mul(v, wasm_v128_load(yrow + j));
        wasm_v128_store(p + j, wasm_f32x4_add(wasm_v128_load(p + j), v));
      }
      for (; j < cols; j++) p[j] += y ? row[j] * yrow[j] : row[j];
    }
  }
}

EXPORT(colsum_blocks)
void colsum_blocks(const float *x, float *partial, int rows, int cols, int block, int part,
                   int parts) {
  colsum_blocks_of(x, 0, partial, rows, cols, block, part, parts);
}

// colsum_blocks of x∘y.
EXPORT(colsum_blocks_prod)
void colsum_blocks_prod(const float *x, const float *y, float *partial, int rows, int cols,
                        int block, int part, int parts) {
  colsum_blocks_of(x, y, partial, rows, cols, block, part, parts);
}

// Phase 2: out[j] = scale · (pairwise sum of partial[:, j]); partial is overwritten. Split on
// columns.
EXPORT(colsum_tree)
void colsum_tree(float *partial, float *out, int blocks, int cols, float scale, int part,
                 int parts) {
  SPLIT(cols, 4, part, parts, lo, hi)
  for (int stride = 1; stride < blocks; stride *= 2) {
    for (int b = 0; b + stride < blocks; b += 2 * stride) {
      float *p = partial + (long)b * cols;
      const float *q = partial + (long)(b + stride) * cols;
      for (int j = lo; j < hi; j++) p[j] += q[j];
    }
  }
  for (int j = lo; j < hi; j++) out[j] = partial[j] * scale;
}

// ---- memory layout -----------------------------------------------------------------------------

static inline int pick(int i, int a, int b, int c, int d) {
  return i == 0 ? a : i == 1 ? b : i == 2 ? c : d;
}

// out = transpose(x, perm) for a rank-4 x of shape d[0..3]; out's axis k is x's axis perm[k].
// Split on out's first two axes.
EXPORT(transpose4)
void transpose4(const float *x, float *out, int d0, int d1, int d2, int d3, int p0, int p1,
                int p2, int p3, int part, int parts) {
  // Plain selections rather than arrays indexed at run time: those would live on a stack.
  int od0 = pick(p0, d0, d1, d2, d3), od1 = pick(p1, d0, d1, d2, d3);
  int od2 = pick(p2, d0, d1, d2, d3), od3 = pick(p3, d0, d1, d2, d3);
  int t0 = d1 * d2 * d3, t1 = d2 * d3, t2 = d3;
  int s0 = pick(p0, t0, t1, t2, 1), s1 = pick(p1, t0, t1, t2, 1);
  int s2 = pick(p2, t0, t1, t2, 1), s3 = pick(p3, t0, t1, t2, 1);
  int outer = od0 * od1;
  SPLIT(outer, 1, part, parts, lo, hi)
  for (int ab = lo; ab < hi; ab++) {
    int a = ab / od1, b = ab % od1;
    const float *xa = x + (long)a * s0 + (long)b * s1;
    float *o = out + (long)ab * od2 * od3;
    if (s3 == 1) {
      for (int c = 0; c < od2; c++) {
        const float *src = xa + (long)c * s2;
        int e = 0;
        for (; e + 4 <= od3; e += 4) wasm_v128_store(o + e, wasm_v128_load(src + e));
        for (; e < od3; e++) o[e] = src[e];
        o += od3;
      }
    } else {
      for (int c = 0; c < od2; c++) {
        const float *src = xa + (long)c * s2;
        for (int e = 0; e < od3; e++) o[e] = src[(long)e * s3];
        o += od3;
      }
    }
  }
}

// Sub-pixel interleave of the conv input gradient (src/core/backend/wasmConvKernels.ts):
// dx[b, i, j, :] = phases[b, (i+cropH)/sH, (j+cropW)/sW, phase((i+cropH)%sH, (j+cropW)%sW)·C + :]
// with phases [B, qH, qW, sH·sW·C] and dx [B, H, W, C]. Split on the B·H output rows.
EXPORT(interleave_phases)
void interleave_phases(const float *phases, float *dx, int batch, int h, int w, int c, int qh,
                       int qw, int sh, int sw, int croph, int cropw, int part, int parts) {
  int rows = batch * h;
  int phaseChannels = sh * sw * c;
  SPLIT(rows, 1, part, parts, lo, hi)
  for (int r = lo; r < hi; r++) {
    int b = r / h, i = r % h;
    int u = i + croph;
    const float *rowBase = phases + ((long)b * qh + u / sh) * qw * phaseChannels;
    int rowPhase = (u % sh) * sw;
    float *o = dx + (long)r * w * c;
    for (int j = 0; j < w; j++) {
      int v = j + cropw;
      const float *s = rowBase + (long)(v / sw) * phaseChannels + (rowPhase + v % sw) * c;
      int k = 0;
      for (; k + 4 <= c; k += 4) wasm_v128_store(o + k, wasm_v128_load(s + k));
      for (; k < c; k++) o[k] = s[k];
      o += c;
    }
  }
}

// ---- col2im: the conv input gradient as one matrix product -------------------------------------
//
// A forward conv reads input pixel (oy·sh + ky − padT, ox·sw + kx − padL) for output pixel
// (oy, ox) and tap (ky, kx). The input gradient is col2im(dy·Wᵀ), where row b·OH·OW + oy·OW + ox,
// column (ky·KW + kx)·C + c of dy·Wᵀ is what that output pixel sends back through that tap.
// (The filter gradient as Pᵀ·dy through XNNPACK, P the im2col patch matrix, measured slower than
// the dilated conv of wasmConvKernels.ts: XNNPACK's fully-connected op is slow with a long inner
// axis. conv_filter_grad below does that product itself, without P.)

static inline void copy_or_zero(const float *src, float *dst, int n, int inside) {
  int k = 0;
  if (inside) {
    for (; k + 4 <= n; k += 4) wasm_v128_store(dst + k, wasm_v128_load(src + k));
    for (; k < n; k++) dst[k] = src[k];
  } else {
    v128_t zero = wasm_f32x4_splat(0.0f);
    for (; k + 4 <= n; k += 4) wasm_v128_store(dst + k, zero);
    for (; k < n; k++) dst[k] = 0.0f;
  }
}

// dx [B, H, W, C] = the sum, for every input pixel, of the P-shaped `cols` entries that read it
// (a gather, so parts never write the same element). Split on the B·H rows of dx.
EXPORT(col2im)
void col2im(const float *cols, float *dx, int batch, int h, int w, int c, int oh, int ow, int kh,
            int kw, int sh, int sw, int padt, int padl, int part, int parts) {
  int rows = batch * h;
  long rowLen = (long)kh * kw * c;
  SPLIT(rows, 1, part, parts, lo, hi)
  for (int r = lo; r < hi; r++) {
    int b = r / h, iy = r % h;
    float *o = dx + (long)r * w * c;
    for (int ix = 0; ix < w; ix++, o += c) {
      copy_or_zero(o, o, c, 0);
      for (int ky = 0; ky < kh; ky++) {
        int ty = iy + padt - ky;
        if (ty < 0 || ty % sh != 0 || ty / sh >= oh) continue;
        int oy = ty / sh;
        for (int kx = 0; kx < kw; kx++) {
          int tx = ix + padl - kx;
          if (tx < 0 || tx % sw != 0 || tx / sw >= ow) continue;
          int ox = tx / sw;
          const float *s = cols + (((long)b * oh + oy) * ow + ox) * rowLen + (ky * kw + kx) * c;
          int k = 0;
          for (; k + 4 <= c; k += 4) {
            wasm_v128_store(o + k, wasm_f32x4_add(wasm_v128_load(o + k), wasm_v128_load(s + k)));
          }
          for (; k < c; k++) o[k] += s[k];
        }
      }
    }
  }
}

// ---- small matrix products ---------------------------------------------------------------------
//
// C[m, n] = op(A)·op(B) for the products XNNPACK is slow at: the many tiny ones of a dense or
// spectral-norm layer and its gradient (a [1040, 1]·[1, 1] product costs XNNPACK ~0.4 ms, most
// of it creating the operator and packing the weights). op(A) and op(B) are read through strides,
// never transposed in memory. Two loop forms, chosen from the layout alone:
//  - rows: out[r, :] = Σ_p X[r, p]·Y[p, :] with Y's rows contiguous: SIMD across the output row,
//    and each element is a sequential float32 sum over p (from 0, in order of p);
//  - dot: out[r, s] = X[r, :]·Y[s, :] with both contiguous along p: four SIMD lanes each summing
//    every fourth p, the lanes added as (0 + 1) + (2 + 3), then the leftover p in order.
// Either way an element's arithmetic depends only on the shapes, never on how rows are blocked or
// split between threads (wasm SIMD has no fused multiply-add: a lane rounds as a scalar does).

#define INLINE static inline __attribute__((always_inline))

// Stores the four lanes of v at o[0], o[cs], o[2·cs], o[3·cs].
INLINE void store_lanes(float *o, int cs, v128_t v) {
  if (cs == 1) {
    wasm_v128_store(o, v);
    return;
  }
  o[0] = wasm_f32x4_extract_lane(v, 0);
  o[cs] = wasm_f32x4_extract_lane(v, 1);
  o[2 * cs] = wasm_f32x4_extract_lane(v, 2);
  o[3 * cs] = wasm_f32x4_extract_lane(v, 3);
}

// One tile of the rows form: nr ≤ 4 output rows by 4·nv ≤ 8 columns, every load of y shared by
// the nr rows. nr and nv are constants at each call site, so once this is inlined the loops over
// them unroll and the accumulators are locals (an array left as such would live on a stack).
INLINE void rows_tile(const float *x, const float *y, float *o, int depth, int xr, int xp, int yp,
                      int cr, int cs, int nr, int nv) {
  v128_t acc[4][2];
  for (int t = 0; t < nr; t++) {
    for (int u = 0; u < nv; u++) acc[t][u] = wasm_f32x4_splat(0.0f);
  }
  for (int p = 0; p < depth; p++) {
    const float *row = y + p * yp;
    v128_t v0 = wasm_v128_load(row);
    v128_t v1 = nv > 1 ? wasm_v128_load(row + 4) : v0;
    for (int t = 0; t < nr; t++) {
      v128_t w = wasm_f32x4_splat(x[t * xr + p * xp]);
      acc[t][0] = wasm_f32x4_add(acc[t][0], wasm_f32x4_mul(w, v0));
      if (nv > 1) acc[t][1] = wasm_f32x4_add(acc[t][1], wasm_f32x4_mul(w, v1));
    }
  }
  for (int t = 0; t < nr; t++) {
    for (int u = 0; u < nv; u++) store_lanes(o + t * cr + 4 * u * cs, cs, acc[t][u]);
  }
}

// The columns of nr rows left over after the 4-wide ones, in scalars (same order of p).
INLINE void rows_tail(const float *x, const float *y, float *o, int s0, int cols, int depth,
                      int xr, int xp, int yp, int cr, int cs, int nr) {
  for (int s = s0; s < cols; s++) {
    for (int t = 0; t < nr; t++) {
      float c = 0.0f;
      for (int p = 0; p < depth; p++) c += x[t * xr + p * xp] * y[p * yp + s];
      o[t * cr + s * cs] = c;
    }
  }
}

// Rows [lo, hi) of out[r·cr + s·cs] = Σ_p x[r·xr + p·xp] · y[p·yp + s], s < cols.
static void mm_rows(const float *x, const float *y, float *out, int lo, int hi, int cols,
                    int depth, int xr, int xp, int yp, int cr, int cs) {
  int r = lo;
  for (; r + 4 <= hi; r += 4) {
    const float *xt = x + r * xr;
    float *o = out + r * cr;
    int s = 0;
    for (; s + 8 <= cols; s += 8) rows_tile(xt, y + s, o + s * cs, depth, xr, xp, yp, cr, cs, 4, 2);
    for (; s + 4 <= cols; s += 4) rows_tile(xt, y + s, o + s * cs, depth, xr, xp, yp, cr, cs, 4, 1);
    rows_tail(xt, y, o, s, cols, depth, xr, xp, yp, cr, cs, 4);
  }
  for (; r < hi; r++) {
    const float *xt = x + r * xr;
    float *o = out + r * cr;
    int s = 0;
    for (; s + 8 <= cols; s += 8) rows_tile(xt, y + s, o + s * cs, depth, xr, xp, yp, cr, cs, 1, 2);
    for (; s + 4 <= cols; s += 4) rows_tile(xt, y + s, o + s * cs, depth, xr, xp, yp, cr, cs, 1, 1);
    rows_tail(xt, y, o, s, cols, depth, xr, xp, yp, cr, cs, 1);
  }
}

// [Σ lanes of c0, …, Σ lanes of c3], each summed as (0 + 1) + (2 + 3).
INLINE v128_t lanes_sum4(v128_t c0, v128_t c1, v128_t c2, v128_t c3) {
  v128_t s01 = wasm_f32x4_add(wasm_i32x4_shuffle(c0, c1, 0, 2, 4, 6),
                              wasm_i32x4_shuffle(c0, c1, 1, 3, 5, 7));
  v128_t s23 = wasm_f32x4_add(wasm_i32x4_shuffle(c2, c3, 0, 2, 4, 6),
                              wasm_i32x4_shuffle(c2, c3, 1, 3, 5, 7));
  return wasm_f32x4_add(wasm_i32x4_shuffle(s01, s23, 0, 2, 4, 6),
                        wasm_i32x4_shuffle(s01, s23, 1, 3, 5, 7));
}

INLINE float lanes_sum(v128_t v) {
  return (wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1)) +
         (wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3));
}

// Rows [lo, hi) of out[r·cr + s] = Σ_p x[r·xr + p] · y[s·ys + p], s < cols.
static void mm_dot(const float *x, const float *y, float *out, int lo, int hi, int cols,
                   int depth, int xr, int ys, int cr) {
  int vd = depth & ~3;
  for (int r = lo; r < hi; r++) {
    const float *x0 = x + r * xr;
    float *o = out + r * cr;
    int s = 0;
    // Four columns at a time share every load of the x row and are reduced together.
    for (; s + 4 <= cols; s += 4) {
      const float *y0 = y + s * ys, *y1 = y0 + ys, *y2 = y1 + ys, *y3 = y2 + ys;
      v128_t c0 = wasm_f32x4_splat(0.0f), c1 = c0, c2 = c0, c3 = c0;
      for (int p = 0; p < vd; p += 4) {
        v128_t v = wasm_v128_load(x0 + p);
        c0 = wasm_f32x4_add(c0, wasm_f32x4_mul(v, wasm_v128_load(y0 + p)));
        c1 = wasm_f32x4_add(c1, wasm_f32x4_mul(v, wasm_v128_load(y1 + p)));
        c2 = wasm_f32x4_add(c2, wasm_f32x4_mul(v, wasm_v128_load(y2 + p)));
        c3 = wasm_f32x4_add(c3, wasm_f32x4_mul(v, wasm_v128_load(y3 + p)));
      }
      v128_t t = lanes_sum4(c0, c1, c2, c3);
      for (int p = vd; p < depth; p++) {
        v128_t w = wasm_f32x4_make(y0[p], y1[p], y2[p], y3[p]);
        t = wasm_f32x4_add(t, wasm_f32x4_mul(wasm_f32x4_splat(x0[p]), w));
      }
      wasm_v128_store(o + s, t);
    }
    for (; s < cols; s++) {
      const float *y0 = y + s * ys;
      v128_t c0 = wasm_f32x4_splat(0.0f);
      for (int p = 0; p < vd; p += 4) {
        c0 = wasm_f32x4_add(c0, wasm_f32x4_mul(wasm_v128_load(x0 + p), wasm_v128_load(y0 + p)));
      }
      float t0 = lanes_sum(c0);
      for (int p = vd; p < depth; p++) t0 += x0[p] * y0[p];
      o[s] = t0;
    }
  }
}

// c[b] = op(a[b])·op(b[b]) for b < batch, op(a) [m, k], op(b) [k, n], c [batch, m, n]; op
// transposes when ta (tb) is set. Operand b of the batch starts strideA (strideB) elements after
// the previous one: 0 broadcasts it. Split on the batch·R rows of the loop form chosen, R being m,
// or n for the form that runs over op(b)'s columns.
EXPORT(matmul)
void matmul(const float *a, const float *b, float *c, int batch, int strideA, int strideB, int m,
            int n, int k, int ta, int tb, int part, int parts) {
  // Element strides: op(a)[i, p] = a[i·ai + p·ap], op(b)[p, j] = b[p·bp + j·bj]. An axis of
  // length 1 gets the stride that makes its operand contiguous, so more layouts qualify below.
  int ai = ta ? 1 : k, ap = ta ? m : 1;
  int bp = tb ? 1 : n, bj = tb ? k : 1;
  // The form whose SIMD axis is longest among those the layout allows; rows over i by
  // preference (contiguous output rows).
  int form; // 0: rows over i, 1: rows over j (computing cᵀ), 2: dot
  if (bj == 1 && n >= 4) form = 0;
  else if (ap == 1 && bp == 1 && k >= 4) form = 2;
  else if (ai == 1 && m >= 4) form = 1;
  else if (bj == 1) form = 0;
  else if (ap == 1 && bp == 1) form = 2;
  else form = 1;
  int rows = form == 1 ? n : m;
  SPLIT(batch * rows, 4, part, parts, lo, hi)
  for (int bi = lo / rows; bi < batch && bi * rows < hi; bi++) {
    const float *a0 = a + bi * strideA;
    const float *b0 = b + bi * strideB;
    float *c0 = c + bi * m * n;
    int r0 = lo > bi * rows ? lo - bi * rows : 0;
    int r1 = hi < (bi + 1) * rows ? hi - bi * rows : rows;
    if (form == 0) mm_rows(a0, b0, c0, r0, r1, n, k, ai, ap, bp, n, 1);
    else if (form == 1) mm_rows(b0, a0, c0, r0, r1, m, k, bj, bp, ap, 1, n);
    else mm_dot(a0, b0, c0, r0, r1, n, k, ai, bj, n);
  }
}

// ---- conv filter gradient ----------------------------------------------------------------------
//
// dW[ky, kx, c, o] = Σ_{b, oy, ox} x[b, oy·sh + ky − padT, ox·sw + kx − padL, c] · dy[b, oy, ox, o]
// for an NHWC x and the [KH, KW, C, O] filter: per tap a product Xᵀ·dy whose inner axis (every
// output pixel of the batch, thousands long) dwarfs its [C, O] result. XNNPACK only takes it as a
// conv with dy as the filter, at 1–6 GFLOP/s; here each 4 × 8 block of dW stays in registers
// while the pixels stream past, x read in place (taps that fall in the padding are skipped, so
// there is no im2col). An element is a sequential float32 sum over (b, oy, ox) in that order,
// whatever the tiling, blocking or thread split: results are bit-identical for any `parts`.

// The output pixels along one axis whose tap k lands inside the input: [*lo, *hi).
static inline void tap_range(int k, int s, int pad, int in, int out, int *lo, int *hi) {
  int first = pad - k; // input index of output pixel 0 is −first
  int l = first > 0 ? (first + s - 1) / s : 0;
  int last = in - 1 + first; // ≥ 0 when some pixel can land inside
  int h = last >= 0 ? last / s + 1 : 0;
  *lo = l;
  *hi = h < out ? h : out;
}

// nr ≤ 4 rows (input channels of one tap) by 4·nv ≤ 8 columns of dW over `images` images,
// starting from zero (`first`) or from the sums already in dW. x points at the tile's first
// channel of the tap-shifted pixel (b0, oy = 0, ox = 0); dy and o at the tile's first column.
INLINE void fg_tile(const float *x, const float *dy, float *o, int first, int nr, int nv,
                    int images, long xImage, long dyImage, int xRowStep, int xColStep, int dyRow,
                    int co, int ylo, int yhi, int xlo, int xhi) {
  v128_t acc[4][2];
  for (int t = 0; t < nr; t++) {
    for (int u = 0; u < nv; u++) {
      acc[t][u] = first ? wasm_f32x4_splat(0.0f) : wasm_v128_load(o + t * co + 4 * u);
    }
  }
  for (int b = 0; b < images; b++) {
    for (int y = ylo; y < yhi; y++) {
      const float *xp = x + b * xImage + (long)y * xRowStep + (long)xlo * xColStep;
      const float *dp = dy + b * dyImage + (long)y * dyRow + (long)xlo * co;
      for (int i = xlo; i < xhi; i++, xp += xColStep, dp += co) {
        v128_t v0 = wasm_v128_load(dp);
        v128_t v1 = nv > 1 ? wasm_v128_load(dp + 4) : v0;
        for (int t = 0; t < nr; t++) {
          v128_t w = wasm_f32x4_splat(xp[t]);
          acc[t][0] = wasm_f32x4_add(acc[t][0], wasm_f32x4_mul(w, v0));
          if (nv > 1) acc[t][1] = wasm_f32x4_add(acc[t][1], wasm_f32x4_mul(w, v1));
        }
      }
    }
  }
  for (int t = 0; t < nr; t++) {
    for (int u = 0; u < nv; u++) wasm_v128_store(o + t * co + 4 * u, acc[t][u]);
  }
}

// The columns left over after the 4-wide ones, in scalars (same order of summation).
static void fg_tail(const float *x, const float *dy, float *o, int first, int nr, int cols,
                    int images, long xImage, long dyImage, int xRowStep, int xColStep, int dyRow,
                    int co, int ylo, int yhi, int xlo, int xhi) {
  for (int t = 0; t < nr; t++) {
    for (int s = 0; s < cols; s++) {
      float c = first ? 0.0f : o[t * co + s];
      for (int b = 0; b < images; b++) {
        for (int y = ylo; y < yhi; y++) {
          const float *xp = x + b * xImage + (long)y * xRowStep + (long)xlo * xColStep + t;
          const float *dp = dy + b * dyImage + (long)y * dyRow + (long)xlo * co + s;
          for (int i = xlo; i < xhi; i++, xp += xColStep, dp += co) c += *xp * *dp;
        }
      }
      o[t * co + s] = c;
    }
  }
}

#define FG_TILE(nr, nv)                                                                       \
  fg_tile(xt, dy0 + s, o + s, first, nr, nv, images, xImage, dyImage, xRowStep, xColStep,     \
          dyRow, co, ylo, yhi, xlo, xhi)

// dw [KH, KW, C, O] from x [B, H, W, C] and dy [B, OH, OW, O]. Split on the KH·KW·C rows of dw.
// The batch is walked in blocks of about 64 output pixels, each block's sums added onto the
// previous ones in dw, so the pixels a tile reads stay in cache across its column tiles (64
// measured up to 12 % faster than 256 or 1024 at DCGAN's layers; 16–128 within 10 % of it).
EXPORT(conv_filter_grad)
void conv_filter_grad(const float *x, const float *dy, float *dw, int batch, int h, int w, int c,
                      int oh, int ow, int co, int kh, int kw, int sh, int sw, int padt, int padl,
                      int part, int parts) {
  int rows = kh * kw * c;
  SPLIT(rows, c % 4 == 0 ? 4 : c, part, parts, lo, hi)
  long xImage = (long)h * w * c, dyImage = (long)oh * ow * co;
  int xRowStep = sh * w * c, xColStep = sw * c, dyRow = ow * co;
  int pixels = oh * ow;
  int block = pixels >= 64 ? 1 : 64 / (pixels > 0 ? pixels : 1);
  // At least one pass, so an empty batch still writes its zeros.
  for (int b0 = 0; b0 == 0 || b0 < batch; b0 += block) {
    int images = batch - b0 < block ? batch - b0 : block;
    int first = b0 == 0;
    for (int r = lo; r < hi;) {
      int tap = r / c, c0 = r % c;
      int nr = c - c0 < 4 ? c - c0 : 4;
      if (hi - r < nr) nr = hi - r;
      int ky = tap / kw, kx = tap % kw;
      int ylo, yhi, xlo, xhi;
      tap_range(ky, sh, padt, h, oh, &ylo, &yhi);
      tap_range(kx, sw, padl, w, ow, &xlo, &xhi);
      // Input pixel (b0, ky − padT, kx − padL), channel c0: may lie outside x, but only pixels
      // inside are read.
      const float *xt = x + b0 * xImage + ((long)(ky - padt) * w + (kx - padl)) * c + c0;
      const float *dy0 = dy + b0 * dyImage;
      float *o = dw + (long)r * co;
      int s = 0;
      for (; s + 8 <= co; s += 8) {
        if (nr == 4) FG_TILE(4, 2);
        else if (nr == 3) FG_TILE(3, 2);
        else if (nr == 2) FG_TILE(2, 2);
        else FG_TILE(1, 2);
      }
      for (; s + 4 <= co; s += 4) {
        if (nr == 4) FG_TILE(4, 1);
        else if (nr == 3) FG_TILE(3, 1);
        else if (nr == 2) FG_TILE(2, 1);
        else FG_TILE(1, 1);
      }
      if (s < co) {
        fg_tail(xt, dy0 + s, o + s, first, nr, co - s, images, xImage, dyImage, xRowStep,
                xColStep, dyRow, co, ylo, yhi, xlo, xhi);
      }
      r += nr;
    }
  }
}

// ---- conv forward ----------------------------------------------------------------------------
//
// y[b, oy, ox, o] = Σ_{ky, kx, c} x[b, oy·sh + ky − padT, ox·sw + kx − padL, c] · W[ky, kx, c, o]
// for an NHWC x and the [KH, KW, C, O] filter, directly: each 4-pixel × 8-channel block of y stays
// in registers while the taps and input channels stream past (W's rows are contiguous in o, the
// pixels' channels contiguous in c), as in XNNPACK's indirect GEMM but with no indirection
// buffer or packed weights to rebuild on every call: in training the filter and the input are new
// tensors at every step. A tap that falls in the padding reads `zeros` (≥ C floats of zero, from
// the caller: the module owns no memory), so every element is the same sequential float32 sum
// over (ky, kx, c) in that order, whatever the tile or the thread split.

// What one tile reads: the image, the zero row, and where its first pixel's window starts.
typedef struct {
  const float *xb, *zeros;
  int h, wd, c, co, kh, kw, sw, iy0, ix0;
} ConvWindow;

// The channel-0 pointer of pixel j's tap (ky, kx): inside x, or the zero row.
INLINE const float *cf_pixel(ConvWindow g, int ky, int kx, int j) {
  int iy = g.iy0 + ky, ix = g.ix0 + j * g.sw + kx;
  return iy >= 0 && iy < g.h && ix >= 0 && ix < g.wd ? g.xb + ((long)iy * g.wd + ix) * g.c
                                                      : g.zeros;
}

// The register tile both direct convs accumulate in: np ≤ 4 pixels × nv ≤ 2 vectors of 4 channels.
// Inlined with constant np and nv, `acc` lives in registers (the module has no stack).
INLINE void tile_zero(v128_t acc[4][2], int np, int nv) {
  for (int j = 0; j < np; j++) {
    for (int u = 0; u < nv; u++) acc[j][u] = wasm_f32x4_splat(0.0f);
  }
}

// acc[j] += p_j[i] · w[0 … 4·nv): one input channel's step for every pixel of the tile.
INLINE void tile_madd(v128_t acc[4][2], const float *p0, const float *p1, const float *p2,
                      const float *p3, int i, const float *w, int np, int nv) {
  v128_t v0 = wasm_v128_load(w);
  v128_t v1 = nv > 1 ? wasm_v128_load(w + 4) : v0;
  v128_t s0 = wasm_f32x4_splat(p0[i]);
  acc[0][0] = wasm_f32x4_add(acc[0][0], wasm_f32x4_mul(s0, v0));
  if (nv > 1) acc[0][1] = wasm_f32x4_add(acc[0][1], wasm_f32x4_mul(s0, v1));
  if (np > 1) {
    v128_t s1 = wasm_f32x4_splat(p1[i]);
    acc[1][0] = wasm_f32x4_add(acc[1][0], wasm_f32x4_mul(s1, v0));
    if (nv > 1) acc[1][1] = wasm_f32x4_add(acc[1][1], wasm_f32x4_mul(s1, v1));
  }
  if (np > 2) {
    v128_t s2 = wasm_f32x4_splat(p2[i]);
    acc[2][0] = wasm_f32x4_add(acc[2][0], wasm_f32x4_mul(s2, v0));
    if (nv > 1) acc[2][1] = wasm_f32x4_add(acc[2][1], wasm_f32x4_mul(s2, v1));
  }
  if (np > 3) {
    v128_t s3 = wasm_f32x4_splat(p3[i]);
    acc[3][0] = wasm_f32x4_add(acc[3][0], wasm_f32x4_mul(s3, v0));
    if (nv > 1) acc[3][1] = wasm_f32x4_add(acc[3][1], wasm_f32x4_mul(s3, v1));
  }
}

// Pixel j's channels go to y + j·ystep.
INLINE void tile_store(v128_t acc[4][2], float *y, long ystep, int np, int nv) {
  for (int j = 0; j < np; j++) {
    for (int u = 0; u < nv; u++) wasm_v128_store(y + j * ystep + 4 * u, acc[j][u]);
  }
}

// np ≤ 4 consecutive pixels of one output row by 4·nv ≤ 8 output channels.
INLINE void cf_tile(ConvWindow g, const float *w, float *y, int np, int nv) {
  v128_t acc[4][2];
  tile_zero(acc, np, nv);
  for (int ky = 0; ky < g.kh; ky++) {
    for (int kx = 0; kx < g.kw; kx++) {
      const float *p0 = cf_pixel(g, ky, kx, 0);
      const float *p1 = np > 1 ? cf_pixel(g, ky, kx, 1) : p0;
      const float *p2 = np > 2 ? cf_pixel(g, ky, kx, 2) : p0;
      const float *p3 = np > 3 ? cf_pixel(g, ky, kx, 3) : p0;
      const float *wr = w + (long)(ky * g.kw + kx) * g.c * g.co;
      for (int i = 0; i < g.c; i++, wr += g.co) tile_madd(acc, p0, p1, p2, p3, i, wr, np, nv);
    }
  }
  tile_store(acc, y, g.co, np, nv);
}

// cf_tile for a tile whose every tap is inside x: a kernel row's taps are then KW·C consecutive
// floats of x per pixel and KW·C consecutive rows of W, walked as one loop in cf_tile's (kx, c)
// order — the same sums — without a bounds check or a pointer per tap (3-channel images have 3
// multiply-adds per tap).
INLINE void cf_tile_inside(ConvWindow g, const float *w, float *y, int np, int nv) {
  v128_t acc[4][2];
  tile_zero(acc, np, nv);
  int run = g.kw * g.c;
  long step = (long)g.sw * g.c;
  for (int ky = 0; ky < g.kh; ky++) {
    const float *p0 = g.xb + ((long)(g.iy0 + ky) * g.wd + g.ix0) * g.c;
    const float *wr = w + (long)ky * run * g.co;
    for (int i = 0; i < run; i++, wr += g.co)
      tile_madd(acc, p0, p0 + step, p0 + 2 * step, p0 + 3 * step, i, wr, np, nv);
  }
  tile_store(acc, y, g.co, np, nv);
}

// The output channels left over after the 4-wide blocks, in scalars (same order of summation).
static void cf_tail(ConvWindow g, const float *w, float *y, int np, int cols) {
  for (int j = 0; j < np; j++) {
    for (int s = 0; s < cols; s++) {
      float acc = 0.0f;
      for (int ky = 0; ky < g.kh; ky++) {
        for (int kx = 0; kx < g.kw; kx++) {
          const float *p = cf_pixel(g, ky, kx, j);
          const float *wr = w + (long)(ky * g.kw + kx) * g.c * g.co + s;
          for (int i = 0; i < g.c; i++, wr += g.co) acc += p[i] * *wr;
        }
      }
      y[(long)j * g.co + s] = acc;
    }
  }
}

#define CF_TILE(np, nv)                                                                      \
  (inside ? cf_tile_inside(g, w + o, yo + o, np, nv) : cf_tile(g, w + o, yo + o, np, nv))

// y [B, OH, OW, O] from x [B, H, W, C] and w [KH, KW, C, O]. Split on the B·OH output rows.
EXPORT(conv2d_forward)
void conv2d_forward(const float *x, const float *w, float *y, const float *zeros, int batch,
                    int h, int wd, int c, int oh, int ow, int co, int kh, int kw, int sh, int sw,
                    int padt, int padl, int part, int parts) {
  SPLIT(batch * oh, 1, part, parts, lo, hi)
  for (int r = lo; r < hi; r++) {
    int b = r / oh, oy = r % oh;
    float *yrow = y + (long)r * ow * co;
    for (int ox0 = 0; ox0 < ow; ox0 += 4) {
      int np = ow - ox0 < 4 ? ow - ox0 : 4;
      ConvWindow g = {x + (long)b * h * wd * c, zeros, h, wd, c, co, kh, kw, sw,
                      oy * sh - padt, ox0 * sw - padl};
      float *yo = yrow + (long)ox0 * co;
      int inside = g.iy0 >= 0 && g.iy0 + kh <= h && g.ix0 >= 0 && g.ix0 + (np - 1) * sw + kw <= wd;
      int o = 0;
      for (; o + 8 <= co; o += 8) {
        if (np == 4) CF_TILE(4, 2);
        else if (np == 3) CF_TILE(3, 2);
        else if (np == 2) CF_TILE(2, 2);
        else CF_TILE(1, 2);
      }
      for (; o + 4 <= co; o += 4) {
        if (np == 4) CF_TILE(4, 1);
        else if (np == 3) CF_TILE(3, 1);
        else if (np == 2) CF_TILE(2, 1);
        else CF_TILE(1, 1);
      }
      if (o < co) cf_tail(g, w + o, yo + o, np, co - o);
    }
  }
}

// ---- conv input gradient, direct ---------------------------------------------------------------
//
// dx[b, iy, ix, c] = Σ_{ky, kx, o} dy[b, oy, ox, o] · W[ky, kx, c, o] over the taps with
// iy + padT − ky = oy·sh and ix + padL − kx = ox·sw: the transposed conv (a generator's
// upsampling layer, a critic's backward pass). Only the taps that exist are visited — a 4×4
// stride-2 kernel gives each dx pixel 2×2 of them — where the sub-pixel conv multiplies by the
// zero taps of its padded sub-filters and col2im goes through a [B·OH·OW, KH·KW·C] buffer.
// `wt` is W with its last two axes swapped, [KH, KW, O, C], so a block of dx channels reads
// contiguous weights. A tile is up to 4 dx pixels of one row and one column phase (sw apart):
// they share their taps and read consecutive dy columns; 4·nv ≤ 8 dx channels stay in registers.
// Every element is the same float32 sum over (ky, kx, o) in that order, whatever the tile or the
// thread split; a dy row outside the image is skipped, a column reads `zeros` (≥ O floats).

typedef struct {
  const float *dyb, *zeros, *wt;
  int oh, ow, co, c, kh, kw, sh, sw;
  int ky0, oyTop; // first row tap; the dy row it reads
  int kx0, oxLeft; // first column tap; the dy column pixel 0 reads through it
} GradWindow;

INLINE const float *ig_pixel(GradWindow g, const float *dyrow, int ox) {
  return ox >= 0 && ox < g.ow ? dyrow + (long)ox * g.co : g.zeros;
}

INLINE void ig_tile(GradWindow g, int o, float *y, long ystep, int np, int nv) {
  v128_t acc[4][2];
  tile_zero(acc, np, nv);
  for (int ky = g.ky0, oy = g.oyTop; ky < g.kh && oy >= 0; ky += g.sh, oy--) {
    if (oy >= g.oh) continue;
    const float *dyrow = g.dyb + (long)oy * g.ow * g.co;
    for (int kx = g.kx0, ox = g.oxLeft; kx < g.kw; kx += g.sw, ox--) {
      const float *p0 = ig_pixel(g, dyrow, ox);
      const float *p1 = np > 1 ? ig_pixel(g, dyrow, ox + 1) : p0;
      const float *p2 = np > 2 ? ig_pixel(g, dyrow, ox + 2) : p0;
      const float *p3 = np > 3 ? ig_pixel(g, dyrow, ox + 3) : p0;
      const float *wr = g.wt + (long)(ky * g.kw + kx) * g.co * g.c + o;
      for (int i = 0; i < g.co; i++, wr += g.c) tile_madd(acc, p0, p1, p2, p3, i, wr, np, nv);
    }
  }
  tile_store(acc, y, ystep, np, nv);
}

// The dx channels left over after the 4-wide blocks, in scalars (same order of summation).
static void ig_tail(GradWindow g, int o, float *y, long ystep, int np, int cols) {
  for (int j = 0; j < np; j++) {
    for (int s = 0; s < cols; s++) {
      float acc = 0.0f;
      for (int ky = g.ky0, oy = g.oyTop; ky < g.kh && oy >= 0; ky += g.sh, oy--) {
        if (oy >= g.oh) continue;
        const float *dyrow = g.dyb + (long)oy * g.ow * g.co;
        for (int kx = g.kx0, ox = g.oxLeft; kx < g.kw; kx += g.sw, ox--) {
          const float *p = ig_pixel(g, dyrow, ox + j);
          const float *wr = g.wt + (long)(ky * g.kw + kx) * g.co * g.c + o + s;
          for (int i = 0; i < g.co; i++, wr += g.c) acc += p[i] * *wr;
        }
      }
      y[j * ystep + s] = acc;
    }
  }
}

#define IG_TILE(np, nv) ig_tile(g, o, yo + o, ystep, np, nv)

// dx [B, H, W, C] from dy [B, OH, OW, O] and wt [KH, KW, O, C]; padT, padL ≥ 0. Split on the B·H
// rows of dx.
EXPORT(conv2d_input_grad)
void conv2d_input_grad(const float *dy, const float *wt, float *dx, const float *zeros, int batch,
                       int h, int wd, int c, int oh, int ow, int co, int kh, int kw, int sh,
                       int sw, int padt, int padl, int part, int parts) {
  SPLIT(batch * h, 1, part, parts, lo, hi)
  for (int r = lo; r < hi; r++) {
    int b = r / h, iy = r % h;
    GradWindow g = {dy + (long)b * oh * ow * co, zeros, wt, oh, ow, co, c, kh, kw, sh, sw,
                    (iy + padt) % sh, (iy + padt) / sh, 0, 0};
    float *xrow = dx + (long)r * wd * c;
    long ystep = (long)sw * c;
    for (int px = 0; px < sw && px < wd; px++) {
      g.kx0 = (px + padl) % sw;
      int n = (wd - px + sw - 1) / sw; // this phase's pixels: px, px + sw, …
      for (int j0 = 0; j0 < n; j0 += 4) {
        int np = n - j0 < 4 ? n - j0 : 4;
        g.oxLeft = (px + padl) / sw + j0;
        float *yo = xrow + (long)(px + j0 * sw) * c;
        int o = 0;
        for (; o + 8 <= c; o += 8) {
          if (np == 4) IG_TILE(4, 2);
          else if (np == 3) IG_TILE(3, 2);
          else if (np == 2) IG_TILE(2, 2);
          else IG_TILE(1, 2);
        }
        for (; o + 4 <= c; o += 4) {
          if (np == 4) IG_TILE(4, 1);
          else if (np == 3) IG_TILE(3, 1);
          else if (np == 2) IG_TILE(2, 1);
          else IG_TILE(1, 1);
        }
        if (o < c) ig_tail(g, o, yo + o, ystep, np, c - o);
      }
    }
  }
}

// ---- parameter updates: Adam and the EMA of the weights ----------------------------------------
//
// One call per parameter in place of the dozen tfjs ops src/core/train/adam.ts and ema.ts would
// run (src/core/backend/wasmUpdateKernels.ts): the tensors are small and the time went to
// per-op overhead. Inputs are read and fresh outputs written (tfjs tensors are immutable, and a
// variable's buffer may be shared), so the outputs may not alias the inputs.
//
// The arithmetic is the composite path's, op for op in the same order and in float32, each op
// correctly rounded in SIMD as in scalar code (wasm has no fused multiply-add and clang does not
// reassociate without -ffast-math), so the results are bit-identical to it. The scalars arrive as
// float32, rounded from the float64 JS numbers as tfjs rounds a scalar operand.

// Adam with ε after the bias correction of √v (PyTorch's placement; see adam.ts):
//   m' = m·β1 + g·(1−β1);  v' = v·β2 + g²·(1−β2);  p' = p − (m'·step) / (√v' / rootCorr + ε)
// where step = lr / (1−β1ᵗ) and rootCorr = √(1−β2ᵗ).
EXPORT(adam_update)
void adam_update(const float *p, const float *g, const float *m, const float *v, float *pOut,
                 float *mOut, float *vOut, int n, float beta1, float oneMinusBeta1, float beta2,
                 float oneMinusBeta2, float step, float rootCorr, float eps, int part, int parts) {
  SPLIT(n, 64, part, parts, lo, hi)
  v128_t b1 = wasm_f32x4_splat(beta1), c1 = wasm_f32x4_splat(oneMinusBeta1);
  v128_t b2 = wasm_f32x4_splat(beta2), c2 = wasm_f32x4_splat(oneMinusBeta2);
  v128_t st = wasm_f32x4_splat(step), rc = wasm_f32x4_splat(rootCorr);
  v128_t ep = wasm_f32x4_splat(eps);
  int i = lo;
  for (; i + 4 <= hi; i += 4) {
    v128_t gi = wasm_v128_load(g + i);
    v128_t m1 =
        wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(m + i), b1), wasm_f32x4_mul(gi, c1));
    v128_t v1 = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(v + i), b2),
                               wasm_f32x4_mul(wasm_f32x4_mul(gi, gi), c2));
    v128_t denom = wasm_f32x4_add(wasm_f32x4_div(wasm_f32x4_sqrt(v1), rc), ep);
    v128_t p1 =
        wasm_f32x4_sub(wasm_v128_load(p + i), wasm_f32x4_div(wasm_f32x4_mul(m1, st), denom));
    wasm_v128_store(mOut + i, m1);
    wasm_v128_store(vOut + i, v1);
    wasm_v128_store(pOut + i, p1);
  }
  for (; i < hi; i++) {
    float gi = g[i];
    float m1 = m[i] * beta1 + gi * oneMinusBeta1;
    float v1 = v[i] * beta2 + (gi * gi) * oneMinusBeta2;
    float denom = __builtin_sqrtf(v1) / rootCorr + eps;
    mOut[i] = m1;
    vOut[i] = v1;
    pOut[i] = p[i] - (m1 * step) / denom;
  }
}

// ema' = ema·decay + p·(1−decay).
EXPORT(ema_update)
void ema_update(const float *ema, const float *p, float *out, int n, float decay,
                float oneMinusDecay, int part, int parts) {
  SPLIT(n, 64, part, parts, lo, hi)
  v128_t d = wasm_f32x4_splat(decay), c = wasm_f32x4_splat(oneMinusDecay);
  int i = lo;
  for (; i + 4 <= hi; i += 4) {
    wasm_v128_store(out + i, wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(ema + i), d),
                                            wasm_f32x4_mul(wasm_v128_load(p + i), c)));
  }
  for (; i < hi; i++) out[i] = ema[i] * decay + p[i] * oneMinusDecay;
}

// ---- spectral norm -----------------------------------------------------------------------------
//
// One power-iteration step of spectral normalisation and its gradient (layers.ts
// spectralNormalised), for a weight seen as the [n, m] matrix W (fan-in rows, fan-out columns).
// As tfjs ops these were ~20 kernel calls per weight on vectors of a few hundred floats, where
// the calls, not the arithmetic, were the cost. Every product and sum here is taken in the order
// that the composite path's kernels take it — `matmul` above for the products, colsum_blocks and
// colsum_tree's whole-tensor sum (blocks of 1,024 in four lanes, added pairwise) for Σ — and
// the divisions and square roots are IEEE-exact, so the results equal that path's bit for bit
// (zeros aside, whose sign may differ). The work is a chain of dependent reductions on small
// operands: one thread.

#define SUM_BLOCK 1024

// Σ a[i]·b[i] over block `blk` (of SUM_BLOCK elements) of n, as colsum_blocks sums the
// materialised products of one block.
static float block_dot(const float *a, const float *b, int n, int blk) {
  int r0 = blk * SUM_BLOCK;
  int r1 = r0 + SUM_BLOCK < n ? r0 + SUM_BLOCK : n;
  v128_t acc = wasm_f32x4_splat(0.0f);
  int r = r0;
  for (; r + 4 <= r1; r += 4) {
    acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_v128_load(a + r), wasm_v128_load(b + r)));
  }
  float tail = 0.0f;
  for (; r < r1; r++) tail += a[r] * b[r];
  return lanes_sum(acc) + tail;
}

// The pairwise sum of blocks [first, first + count) in colsum_tree's order: at each level
// neighbours at a doubling stride are added, so the left operand is the largest power of two
// below count.
static float tree_dot(const float *a, const float *b, int n, int first, int count) {
  if (count == 1) return block_dot(a, b, n, first);
  int half = 1;
  while (half * 2 < count) half *= 2;
  return tree_dot(a, b, n, first, half) + tree_dot(a, b, n, first + half, count - half);
}

// tf.sum(tf.mul(a, b)) over n elements on this module's kernels.
static float whole_dot(const float *a, const float *b, int n) {
  return tree_dot(a, b, n, 0, (n + SUM_BLOCK - 1) / SUM_BLOCK);
}

// x ← x / (√Σx² + 1e-12) over n elements (layers.ts l2Normalise).
static void l2_normalise(float *x, int n) {
  float denom = __builtin_sqrtf(whole_dot(x, x, n)) + 1e-12f;
  for (int i = 0; i < n; i++) x[i] = x[i] / denom;
}

// From u [m]: v = W·u / ‖W·u‖ [n], u1 = Wᵀ·v / ‖Wᵀ·v‖ [m], σ = Σ (W·u1)∘v, and wn = W / σ
// [n, m] (which first holds W·u1).
EXPORT(spectral_norm)
void spectral_norm(const float *w, const float *u, float *wn, float *u1, float *v, float *sigma,
                   int n, int m, int part, int parts) {
  (void)part;
  (void)parts;
  matmul(w, u, v, 1, 0, 0, n, 1, m, 0, 0, 0, 1);
  l2_normalise(v, n);
  matmul(w, v, u1, 1, 0, 0, m, 1, n, 1, 0, 0, 1);
  l2_normalise(u1, m);
  matmul(w, u1, wn, 1, 0, 0, n, 1, m, 0, 0, 0, 1);
  float s = whole_dot(wn, v, n);
  sigma[0] = s;
  scalar_range(OP_DIV, w, s, wn, 0, 0, n * m);
}

// ∂L/∂W = dY/σ − (Σ dY∘W)/σ² · v·u1ᵀ, v and u1 held constant (Miyato et al.; PyTorch).
EXPORT(spectral_norm_grad)
void spectral_norm_grad(const float *dy, const float *w, const float *v, const float *u1,
                        const float *sigma, float *dw, int n, int m, int part, int parts) {
  (void)part;
  (void)parts;
  float s = sigma[0];
  float dSigma = whole_dot(dy, w, n * m) / (s * s);
  v128_t vs = wasm_f32x4_splat(s), vd = wasm_f32x4_splat(dSigma);
  for (int i = 0; i < n; i++) {
    const float *dyr = dy + (long)i * m;
    float *o = dw + (long)i * m;
    float vi = v[i];
    v128_t vv = wasm_f32x4_splat(vi);
    int j = 0;
    for (; j + 4 <= m; j += 4) {
      v128_t outer = wasm_f32x4_mul(vv, wasm_v128_load(u1 + j));
      wasm_v128_store(o + j, wasm_f32x4_sub(wasm_f32x4_div(wasm_v128_load(dyr + j), vs),
                                            wasm_f32x4_mul(outer, vd)));
    }
    for (; j < m; j++) o[j] = dyr[j] / s - (vi * u1[j]) * dSigma;
  }
}

// ---- batch norm --------------------------------------------------------------------------------
//
// Batch norm with its affine step, y = x̂·γ + β, x̂ = (x − μ)·(1/√(σ² + ε)), over x seen as
// [rows, cols] (cols the channels, rows = batch · spatial), for layers.ts's batch norms: γ and β
// per channel [cols], or per sample [batch, cols] (conditional batch norm). The statistics and
// the channel sums of the gradient are colsum_blocks/colsum_tree calls made by the JS side
// (wasmBatchNormKernels.ts), so each value is rounded exactly as by the tfjs ops the fused op
// replaces (mean, sub, square, rsqrt, mul, add and their gradients): results are those ops'
// bit for bit. The per-sample sums over the spatial axes are sequential, as tfjs-wasm's Sum
// takes them.

// out = (x − mean)², rows [lo, hi).
EXPORT(bn_sqdev)
void bn_sqdev(const float *x, const float *mean, float *out, int rows, int cols, int part,
              int parts) {
  SPLIT(rows, 1, part, parts, lo, hi)
  for (int r = lo; r < hi; r++) {
    const float *xr = x + (long)r * cols;
    float *o = out + (long)r * cols;
    int j = 0;
    for (; j + 4 <= cols; j += 4) {
      v128_t d = wasm_f32x4_sub(wasm_v128_load(xr + j), wasm_v128_load(mean + j));
      wasm_v128_store(o + j, wasm_f32x4_mul(d, d));
    }
    for (; j < cols; j++) {
      float d = xr[j] - mean[j];
      o[j] = d * d;
    }
  }
}

// rstd = 1 / √(variance + ε), as tfjs-wasm's Rsqrt rounds it (the root, then the quotient).
EXPORT(bn_rstd)
void bn_rstd(const float *variance, float *rstd, int cols, float eps, int part, int parts) {
  (void)part;
  (void)parts;
  for (int j = 0; j < cols; j++) rstd[j] = 1.0f / __builtin_sqrtf(variance[j] + eps);
}

// x̂ = (x − mean)·rstd and y = x̂·γ + β, rows [lo, hi); γ and β are [cols], or [batch, cols] when
// perSample (row r belongs to sample r / spatial).
EXPORT(bn_apply)
void bn_apply(const float *x, const float *mean, const float *rstd, const float *gamma,
              const float *beta, float *xhat, float *y, int rows, int cols, int spatial,
              int perSample, int part, int parts) {
  SPLIT(rows, 1, part, parts, lo, hi)
  for (int r = lo; r < hi; r++) {
    long at = (long)r * cols;
    long g = perSample ? (long)(r / spatial) * cols : 0;
    int j = 0;
    for (; j + 4 <= cols; j += 4) {
      v128_t h = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(x + at + j), wasm_v128_load(mean + j)),
                                wasm_v128_load(rstd + j));
      wasm_v128_store(xhat + at + j, h);
      wasm_v128_store(y + at + j, wasm_f32x4_add(wasm_f32x4_mul(h, wasm_v128_load(gamma + g + j)),
                                                 wasm_v128_load(beta + g + j)));
    }
    for (; j < cols; j++) {
      float h = (x[at + j] - mean[j]) * rstd[j];
      xhat[at + j] = h;
      y[at + j] = h * gamma[g + j] + beta[g + j];
    }
  }
}

// The affine step's gradient for samples [lo, hi): ∂x̂ = dy·γ and, when perSample, ∂γ[b, :] =
// Σ_s dy·x̂ and ∂β[b, :] = Σ_s dy, sequential over the sample's `spatial` rows. (Per channel, ∂γ
// and ∂β are column sums, taken by colsum calls.)
EXPORT(bn_grad_affine)
void bn_grad_affine(const float *dy, const float *xhat, const float *gamma, float *dxhat,
                    float *dgamma, float *dbeta, int batch, int spatial, int cols, int perSample,
                    int part, int parts) {
  SPLIT(batch, 1, part, parts, lo, hi)
  for (int b = lo; b < hi; b++) {
    long first = (long)b * spatial * cols;
    long g = perSample ? (long)b * cols : 0;
    int j = 0;
    for (; j + 4 <= cols; j += 4) {
      v128_t gj = wasm_v128_load(gamma + g + j);
      v128_t sg = wasm_f32x4_splat(0.0f), sb = sg;
      for (int s = 0; s < spatial; s++) {
        long at = first + (long)s * cols + j;
        v128_t d = wasm_v128_load(dy + at);
        wasm_v128_store(dxhat + at, wasm_f32x4_mul(d, gj));
        sg = wasm_f32x4_add(sg, wasm_f32x4_mul(d, wasm_v128_load(xhat + at)));
        sb = wasm_f32x4_add(sb, d);
      }
      if (perSample) {
        wasm_v128_store(dgamma + g + j, sg);
        wasm_v128_store(dbeta + g + j, sb);
      }
    }
    for (; j < cols; j++) {
      float gj = gamma[g + j], sg = 0.0f, sb = 0.0f;
      for (int s = 0; s < spatial; s++) {
        long at = first + (long)s * cols + j;
        float d = dy[at];
        dxhat[at] = d * gj;
        sg += d * xhat[at];
        sb += d;
      }
      if (perSample) {
        dgamma[g + j] = sg;
        dbeta[g + j] = sb;
      }
    }
  }
}

// ∂x = ((∂x̂ − m1) − x̂·m2)·rstd, m1 and m2 the channel means of ∂x̂ and ∂x̂·x̂ (the batch-norm
// gradient of layers.ts batchNormalised), rows [lo, hi). dx may be dxhat.
EXPORT(bn_grad_input)
void bn_grad_input(const float *dxhat, const float *xhat, const float *m1, const float *m2,
                   const float *rstd, float *dx, int rows, int cols, int part, int parts) {
  SPLIT(rows, 1, part, parts, lo, hi)
  for (int r = lo; r < hi; r++) {
    long at = (long)r * cols;
    int j = 0;
    for (; j + 4 <= cols; j += 4) {
      v128_t c = wasm_f32x4_sub(wasm_v128_load(dxhat + at + j), wasm_v128_load(m1 + j));
      v128_t t = wasm_f32x4_mul(wasm_v128_load(xhat + at + j), wasm_v128_load(m2 + j));
      wasm_v128_store(dx + at + j, wasm_f32x4_mul(wasm_f32x4_sub(c, t), wasm_v128_load(rstd + j)));
    }
    for (; j < cols; j++) dx[at + j] = ((dxhat[at + j] - m1[j]) - xhat[at + j] * m2[j]) * rstd[j];
  }
}

// ---- minibatch standard deviation -------------------------------------------------------------
//
// D's minibatch std (src/core/models/minibatchStd.ts) over groups of g consecutive images of
// x [B, HW, C], P = HW·C values per image. Every value is rounded as by the tfjs ops the op
// replaces, in their order: tf.moments over the group axis and the mean over the positions run
// on tfjs-wasm's Mean (a sequential float32 sum from 0, then divided by the count), the
// gradient's sums on its Sum (the same), the sum over the group on Tile's gradient (added one by
// one from 0) — and each element-wise step is one IEEE operation. So the results are those ops'
// bit for bit. Split on whole groups.

// mean and a = variance + ε [groups, P] per position of each group, sd = Σ_p √a / P, and
// out [B, HW, C + 1] = x with sd appended to every pixel of the group's images.
EXPORT(mbstd_forward)
void mbstd_forward(const float *x, float *out, float *mean, float *a, int groups, int g, int hw,
                   int c, float eps, int part, int parts) {
  SPLIT(groups, 1, part, parts, lo, hi)
  long P = (long)hw * c;
  float fg = (float)g, fP = (float)P;
  for (int n = lo; n < hi; n++) {
    const float *xg = x + (long)n * g * P;
    float *mg = mean + (long)n * P, *ag = a + (long)n * P;
    float roots = 0.0f;
    long p = 0;
    // Four positions at a time: each lane is one position's own sums, the roots added in order.
    for (; p + 4 <= P; p += 4) {
      v128_t s = wasm_f32x4_splat(0.0f);
      for (int j = 0; j < g; j++) s = wasm_f32x4_add(s, wasm_v128_load(xg + (long)j * P + p));
      v128_t m = wasm_f32x4_div(s, wasm_f32x4_splat(fg));
      v128_t v = wasm_f32x4_splat(0.0f);
      for (int j = 0; j < g; j++) {
        v128_t d = wasm_f32x4_sub(wasm_v128_load(xg + (long)j * P + p), m);
        v = wasm_f32x4_add(v, wasm_f32x4_mul(d, d));
      }
      v128_t av = wasm_f32x4_add(wasm_f32x4_div(v, wasm_f32x4_splat(fg)), wasm_f32x4_splat(eps));
      wasm_v128_store(mg + p, m);
      wasm_v128_store(ag + p, av);
      v128_t r = wasm_f32x4_sqrt(av);
      roots += wasm_f32x4_extract_lane(r, 0);
      roots += wasm_f32x4_extract_lane(r, 1);
      roots += wasm_f32x4_extract_lane(r, 2);
      roots += wasm_f32x4_extract_lane(r, 3);
    }
    for (; p < P; p++) {
      float s = 0.0f;
      for (int j = 0; j < g; j++) s += xg[(long)j * P + p];
      float m = s / fg;
      float v = 0.0f;
      for (int j = 0; j < g; j++) {
        float d = xg[(long)j * P + p] - m;
        float sq = d * d;
        v += sq;
      }
      float av = v / fg + eps;
      mg[p] = m;
      ag[p] = av;
      roots += __builtin_sqrtf(av);
    }
    float sd = roots / fP;
    for (int j = 0; j < g; j++) {
      const float *xi = xg + (long)j * P;
      float *oi = out + ((long)n * g + j) * hw * (c + 1);
      for (int q = 0; q < hw; q++) {
        float *dst = oi + (long)q * (c + 1);
        copy_or_zero(xi + (long)q * c, dst, c, 1);
        dst[c] = sd;
      }
    }
  }
}

// ∂x [B, HW, C] from dy [B, HW, C + 1], x, and the forward's mean and a: dy's first C channels
// plus the std's gradient through √a, the variance and the group mean.
EXPORT(mbstd_grad)
void mbstd_grad(const float *dy, const float *x, const float *mean, const float *a, float *dx,
                int groups, int g, int hw, int c, int part, int parts) {
  SPLIT(groups, 1, part, parts, lo, hi)
  long P = (long)hw * c;
  int c1 = c + 1;
  float fg = (float)g, fP = (float)P;
  for (int n = lo; n < hi; n++) {
    // ∂sd: each image's sum over its appended channel, then the images' sums one by one.
    float dsd = 0.0f;
    for (int j = 0; j < g; j++) {
      const float *dyi = dy + ((long)n * g + j) * hw * c1;
      float s = 0.0f;
      for (int q = 0; q < hw; q++) s += dyi[(long)q * c1 + c];
      dsd += s;
    }
    float dr = dsd / fP;
    const float *xg = x + (long)n * g * P;
    const float *mg = mean + (long)n * P, *ag = a + (long)n * P;
    v128_t two = wasm_f32x4_splat(2.0f), vg = wasm_f32x4_splat(fg), vdr = wasm_f32x4_splat(dr);
    for (int q = 0; q < hw; q++) {
      int k = 0;
      // Four channels of the pixel at a time, each lane the scalar loop's arithmetic.
      for (; k + 4 <= c; k += 4) {
        long p = (long)q * c + k;
        v128_t m = wasm_v128_load(mg + p);
        v128_t twiceRoot = wasm_f32x4_mul(wasm_f32x4_sqrt(wasm_v128_load(ag + p)), two);
        v128_t dsq = wasm_f32x4_div(wasm_f32x4_div(vdr, twiceRoot), vg);
        v128_t total = wasm_f32x4_splat(0.0f);
        for (int j = 0; j < g; j++) {
          v128_t d2 = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(xg + (long)j * P + p), m), two);
          total = wasm_f32x4_add(total, wasm_f32x4_mul(dsq, d2));
        }
        v128_t dmean = wasm_f32x4_div(wasm_f32x4_neg(total), vg);
        for (int j = 0; j < g; j++) {
          v128_t d2 = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(xg + (long)j * P + p), m), two);
          long b = (long)n * g + j;
          v128_t up = wasm_v128_load(dy + (b * hw + q) * c1 + k);
          wasm_v128_store(dx + b * P + p,
                          wasm_f32x4_add(up, wasm_f32x4_add(wasm_f32x4_mul(dsq, d2), dmean)));
        }
      }
      for (; k < c; k++) {
        long p = (long)q * c + k;
        float m = mg[p];
        float twiceRoot = __builtin_sqrtf(ag[p]) * 2.0f;
        float dsq = (dr / twiceRoot) / fg;
        float total = 0.0f;
        for (int j = 0; j < g; j++) {
          float d2 = (xg[(long)j * P + p] - m) * 2.0f;
          total += dsq * d2;
        }
        float dmean = -total / fg;
        for (int j = 0; j < g; j++) {
          float d2 = (xg[(long)j * P + p] - m) * 2.0f;
          float ddiff = dsq * d2;
          long b = (long)n * g + j;
          dx[b * P + p] = dy[(b * hw + q) * c1 + k] + (ddiff + dmean);
        }
      }
    }
  }
}

// ---- augmentation ------------------------------------------------------------------------------

// Row of the 'symmetric' mirror padding (edge pixel repeated) of an axis of n: padded index p.
static inline int reflected(int p, int pad, int n) {
  int i = p - pad;
  if (i < 0) i = -i - 1;
  if (i >= n) i = 2 * n - i - 1;
  return i;
}

// Bilinear crops of each image b of an NHWC batch, mirror-padded by padY/padX without
// materialising the padding: box b ([y1, x1, y2, x2] in the padded image's normalised
// coordinates) resized to ch × cw (both > 1), pixels outside the padded image 0 — TensorFlow's
// CropAndResize (as tfjs-wasm computes it, in float32) on the output of MirrorPad 'symmetric'.
// Split on the n·ch output rows.
EXPORT(crop_resize_reflect)
void crop_resize_reflect(const float *img, const float *boxes, float *out, int n, int h, int w,
                         int c, int padY, int padX, int ch, int cw, int part, int parts) {
  int ph = h + 2 * padY, pw = w + 2 * padX;
  SPLIT(n * ch, 1, part, parts, lo, hi)
  for (int row = lo; row < hi; row++) {
    int b = row / ch, y = row % ch;
    const float *box = boxes + 4 * b;
    float y1 = box[0], x1 = box[1], y2 = box[2], x2 = box[3];
    float hs = (y2 - y1) * (float)(ph - 1) / (float)(ch - 1);
    float ws = (x2 - x1) * (float)(pw - 1) / (float)(cw - 1);
    float yin = y1 * (float)(ph - 1) + (float)y * hs;
    float *o = out + (long)row * cw * c;
    if (yin < 0.0f || yin > (float)(ph - 1)) {
      for (int i = 0; i < cw * c; i++) o[i] = 0.0f;
      continue;
    }
    int top = (int)__builtin_floorf(yin), bottom = (int)__builtin_ceilf(yin);
    float ylerp = yin - (float)top;
    const float *rt = img + ((long)b * h + reflected(top, padY, h)) * w * c;
    const float *rb = img + ((long)b * h + reflected(bottom, padY, h)) * w * c;
    for (int x = 0; x < cw; x++) {
      float xin = x1 * (float)(pw - 1) + (float)x * ws;
      float *op = o + x * c;
      if (xin < 0.0f || xin > (float)(pw - 1)) {
        for (int k = 0; k < c; k++) op[k] = 0.0f;
        continue;
      }
      int left = (int)__builtin_floorf(xin), right = (int)__builtin_ceilf(xin);
      float xlerp = xin - (float)left;
      int l = reflected(left, padX, w) * c, r = reflected(right, padX, w) * c;
      for (int k = 0; k < c; k++) {
        float t = rt[l + k] + (rt[r + k] - rt[l + k]) * xlerp;
        float bt = rb[l + k] + (rb[r + k] - rb[l + k]) * xlerp;
        op[k] = t + (bt - t) * ylerp;
      }
    }
  }
}
