// IC-GAN Studio's own WASM kernels for tfjs-backend-wasm: the memory copies around the conv
// gradients, element-wise arithmetic and the channel reductions of batch norm, in SIMD.
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

enum { OP_ADD = 0, OP_SUB = 1, OP_MUL = 2 };

static inline v128_t vop(int op, v128_t a, v128_t b) {
  return op == OP_ADD ? wasm_f32x4_add(a, b)
         : op == OP_SUB ? wasm_f32x4_sub(a, b)
                        : wasm_f32x4_mul(a, b);
}

static inline float sop(int op, float a, float b) {
  return op == OP_ADD ? a + b : op == OP_SUB ? a - b : a * b;
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
  else binary_same(OP_MUL, a, b, out, lo, hi);
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
  else bcast_rows(OP_MUL, big, small, out, mid, inner, flip, lo, hi);
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
  else scalar_range(OP_MUL, x, v, out, flip, lo, hi);
}

enum { UN_SQUARE = 0, UN_RELU = 1, UN_LEAKY_RELU = 2 };

// out[i] = f(x[i]): x², max(x, 0), or x > 0 ? x : alpha·x (as tfjs: NaN stays NaN).
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
  } else {
    for (; i + 4 <= hi; i += 4) {
      v128_t v = wasm_v128_load(x + i);
      v128_t neg = wasm_f32x4_lt(v, zero);
      wasm_v128_store(out + i, wasm_v128_bitselect(wasm_f32x4_mul(v, va), v, neg));
    }
    for (; i < hi; i++) out[i] = x[i] < 0.0f ? alpha * x[i] : x[i];
  }
}

// ---- reductions over the leading axes (per-channel sums) ---------------------------------------
//
// x is [rows, cols]; the sum over rows is taken in blocks of `block` rows (sequential SIMD
// accumulation inside a block), then the block sums are added in a pairwise tree. The rounding
// error grows with block + log2(blocks) instead of rows, and the order of additions is fixed, so
// the result does not depend on the thread count.

// Phase 1: partial[b, :] = Σ_{r in block b} x[r, :]. Split on blocks.
EXPORT(colsum_blocks)
void colsum_blocks(const float *x, float *partial, int rows, int cols, int block, int part,
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
      for (; r + 4 <= r1; r += 4) acc = wasm_f32x4_add(acc, wasm_v128_load(x + r));
      float tail = 0.0f;
      for (; r < r1; r++) tail += x[r];
      p[0] = ((wasm_f32x4_extract_lane(acc, 0) + wasm_f32x4_extract_lane(acc, 1)) +
              (wasm_f32x4_extract_lane(acc, 2) + wasm_f32x4_extract_lane(acc, 3))) +
             tail;
      continue;
    }
    for (int j = 0; j < cols; j++) p[j] = 0.0f;
    for (int r = r0; r < r1; r++) {
      const float *row = x + (long)r * cols;
      int j = 0;
      for (; j + 4 <= cols; j += 4) {
        wasm_v128_store(p + j, wasm_f32x4_add(wasm_v128_load(p + j), wasm_v128_load(row + j)));
      }
      for (; j < cols; j++) p[j] += row[j];
    }
  }
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
// (The filter gradient as Pᵀ·dy, P the im2col patch matrix, measured slower than the dilated
// conv of wasmConvKernels.ts: XNNPACK's fully-connected op is slow with a long inner axis.)

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
