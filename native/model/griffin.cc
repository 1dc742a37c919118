#include "griffin.h"

#include <algorithm>
#include <cstring>

namespace rg {

// The rows of one round: for each segment, a contiguous run of rows [row0, row0 + n) at positions
// state->position + [0, n).
struct Model::Round {
  struct Part {
    State* state;
    int64_t row0, n;
  };
  std::vector<Part> parts;
  int64_t rows = 0;
  std::vector<float> x, a, t0, t1, t2, t3;  // residual, normed, temporaries
};

static WeightOptions with_threads(WeightOptions o, int threads) {
  o.threads = std::max(o.threads, threads);
  return o;
}

Model::Model(const ModelConfig& c, const std::vector<std::string>& files,
             const std::vector<TensorSource>& tensors, int threads, const KernelTable& kernels,
             const WeightOptions& weight_options, Precision precision, int spin_micros)
    : config(c), weights(c, files, tensors, with_threads(weight_options, threads)), pool_(threads, spin_micros), kernels_(kernels),
      projection_matmul_(precision == Precision::Fast && kernels.matmul_fast ? kernels.matmul_fast : kernels.matmul) {}

int64_t matmul_grain(const Matrix& w, int64_t T, int threads) {
  // The pool gives every thread its own contiguous share at once and splits shares into shrinking
  // claims down to this grain, which bounds how unevenly threads finish (~20 us of streaming at
  // 256 KiB) while keeping per-call setup (preparing x) rare; every thread still gets work.
  const int64_t bytes_per_row = std::max<int64_t>(1, row_bytes(w.dtype, w.cols) * std::max<int64_t>(1, T));
  const int64_t grain = std::max<int64_t>(4, (int64_t{256} << 10) / bytes_per_row);
  return std::max<int64_t>(1, std::min(grain, w.rows / (4 * std::max(1, threads))));
}

void Model::parallel_matmul(const float* x, int64_t ldx, int64_t rows, const Matrix& w,
                            const float* bias, float* y, int64_t ldy, MatmulFn fn) {
  if (!fn) fn = projection_matmul_;
  // Split output features: every thread streams a disjoint slice of the weights once.
  pool_.parallel_for(w.rows, matmul_grain(w, rows, pool_.size()), [&](int64_t r0, int64_t r1) {
    fn(x, ldx, rows, w, bias, y, ldy, r0, r1);
  });
}

void Model::recurrent_block(Round& r, size_t layer, const float* a, float* out) {
  const ModelConfig& c = config;
  const RecurrentWeights& w = weights.layers[layer].rec;
  const int64_t L = c.lru_width, H = c.num_heads, bw = L / H, R = r.rows;
  float* ybr = r.t0.data();
  float* xbr = r.t1.data();
  float* conv = r.t2.data();
  float* gates = r.t3.data();  // [R, L] input gate then [R, L] recurrent gate
  parallel_matmul(a, c.width, R, w.linear_y, w.bias_y.data(), ybr, L);
  kernels_.gelu(ybr, R * L, ybr);
  parallel_matmul(a, c.width, R, w.linear_x, w.bias_x.data(), xbr, L);
  // Temporal mixing runs per sequence, but in one parallel region for the whole batch (each
  // thread takes a channel slice of every sequence): one dispatch per layer, not one per sequence.
  pool_.parallel_for(L, 64, [&](int64_t c0, int64_t c1) {
    for (const auto& p : r.parts)
      kernels_.conv1d(xbr + p.row0 * L, p.n, L, w.conv_w.data(), c.conv_width, w.conv_b.data(),
                      p.state->conv(layer, L), conv + p.row0 * L, c0, c1);
  });
  float* gate_x = gates;
  float* gate_a = gates + R * L;
  // The block-diagonal gate matmuls stay exact: small (width / heads columns), and they feed the
  // recurrence's decay a = exp(-8 softplus(.) sigmoid(.)), the most precision-sensitive step.
  pool_.parallel_for(2 * H, 1, [&](int64_t j0, int64_t j1) {
    for (int64_t j = j0; j < j1; ++j) {
      const int64_t h = j % H;
      const bool input = j < H;
      kernels_.matmul(conv + h * bw, L, R, input ? w.gate_x[h] : w.gate_a[h],
                      (input ? w.gate_x_bias : w.gate_a_bias).data() + h * bw,
                      (input ? gate_x : gate_a) + h * bw, L, 0, bw);
    }
  });
  float* z = xbr;  // xbr is no longer needed
  pool_.parallel_for(L, 64, [&](int64_t c0, int64_t c1) {
    for (const auto& p : r.parts) {
      const int64_t off = p.row0 * L;
      kernels_.rglru(conv + off, gate_x + off, gate_a + off, w.neg_softplus8.data(), p.n, L,
                     p.state->position, p.state->rg_lru(layer), z + off, c0, c1);
    }
  });
  for (int64_t i = 0; i < R * L; ++i) z[i] *= ybr[i];
  parallel_matmul(z, L, R, w.linear_out, w.bias_out.data(), out, c.width);
}

void Model::attention_block(Round& r, size_t layer, const float* a, float* out) {
  const ModelConfig& c = config;
  const AttentionWeights& w = weights.layers[layer].att;
  const int64_t H = c.num_heads, hd = c.head_dim, W = c.window, R = r.rows, QW = H * hd;
  float* q = r.t0.data();
  float* k = r.t1.data();
  float* v = r.t1.data() + R * hd;
  float* o = r.t2.data();
  parallel_matmul(a, c.width, R, w.q, nullptr, q, QW);
  parallel_matmul(a, c.width, R, w.k, nullptr, k, hd);
  parallel_matmul(a, c.width, R, w.v, nullptr, v, hd);
  int64_t longest = 0;
  for (const auto& p : r.parts) {
    const int64_t pos0 = p.state->position;
    kernels_.rope(q + p.row0 * QW, QW, p.n, H, hd, c.rope_dims, pos0, c.rope_theta);
    kernels_.rope(k + p.row0 * hd, hd, p.n, 1, hd, c.rope_dims, pos0, c.rope_theta);
    longest = std::max(longest, p.n);
  }
  // One parallel region over every (sequence, head) pair of the batch.
  const int64_t pairs = static_cast<int64_t>(r.parts.size()) * H;
  pool_.parallel_for(pairs, 1, [&](int64_t j0, int64_t j1) {
    std::vector<float> scratch(static_cast<size_t>(W + longest));
    for (int64_t j = j0; j < j1; ++j) {
      const auto& p = r.parts[static_cast<size_t>(j / H)];
      const int64_t h = j % H;
      kernels_.local_attention(q + p.row0 * QW, QW, k + p.row0 * hd, v + p.row0 * hd,
                               p.state->keys(layer), p.state->values(layer, W, hd),
                               p.state->position, p.n, hd, W, h, h + 1, o + p.row0 * QW, QW,
                               scratch.data());
    }
  });
  // Attend first, then overwrite: slot (p mod W) still holds position p - W, which is visible.
  for (const auto& p : r.parts)
    ring_write(k + p.row0 * hd, v + p.row0 * hd, p.state->position, p.n, hd, W,
               p.state->keys(layer), p.state->values(layer, W, hd));
  parallel_matmul(o, QW, R, w.o, w.bias_o.data(), out, c.width);
}

void Model::mlp_block(Round& r, size_t layer, const float* b, float* out) {
  const ModelConfig& c = config;
  const LayerWeights& w = weights.layers[layer];
  const int64_t F = c.mlp_width, R = r.rows;
  float* g = r.t0.data();
  float* u = r.t1.data();
  parallel_matmul(b, c.width, R, w.mlp_gate, w.bias_gate.data(), g, F);
  parallel_matmul(b, c.width, R, w.mlp_up, w.bias_up.data(), u, F);
  kernels_.gelu_mul(g, u, R * F, g);
  parallel_matmul(g, F, R, w.mlp_down, w.bias_down.data(), out, c.width);
}

void Model::run_round(Round& r) {
  const ModelConfig& c = config;
  const int64_t D = c.width, R = r.rows;
  float* x = r.x.data();
  float* a = r.a.data();
  std::vector<float> delta(static_cast<size_t>(R * D));
  for (size_t i = 0; i < weights.layers.size(); ++i) {
    const LayerWeights& lw = weights.layers[i];
    for (int64_t row = 0; row < R; ++row)
      kernels_.rmsnorm(x + row * D, lw.temporal_norm.data(), D, c.rms_norm_eps, a + row * D);
    if (lw.kind == BlockKind::Recurrent) recurrent_block(r, i, a, delta.data());
    else attention_block(r, i, a, delta.data());
    for (int64_t j = 0; j < R * D; ++j) x[j] += delta[j];
    for (int64_t row = 0; row < R; ++row)
      kernels_.rmsnorm(x + row * D, lw.channel_norm.data(), D, c.rms_norm_eps, a + row * D);
    mlp_block(r, i, a, delta.data());
    for (int64_t j = 0; j < R * D; ++j) x[j] += delta[j];
  }
}

std::vector<int64_t> Model::plan_round(const std::vector<Segment>& segments,
                                       const std::vector<int64_t>& done) {
  // Water-filling: the budget is shared equally among unfinished segments, and whatever a short
  // segment (e.g. a one-token decode) leaves unused goes to the longer ones, so a prefill that
  // shares a call with decodes still fills its rounds. With more unfinished segments than the
  // budget, the first kMaxRowsPerRound of them take one row each and the rest wait a round.
  std::vector<int64_t> take(segments.size(), 0);
  std::vector<size_t> order;
  for (size_t s = 0; s < segments.size(); ++s)
    if (done[s] < segments[s].count) order.push_back(s);
  if (static_cast<int64_t>(order.size()) >= kMaxRowsPerRound) {
    for (int64_t i = 0; i < kMaxRowsPerRound; ++i) take[order[static_cast<size_t>(i)]] = 1;
    return take;
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return segments[a].count - done[a] < segments[b].count - done[b];
  });
  int64_t budget = kMaxRowsPerRound;
  for (size_t i = 0; i < order.size(); ++i) {
    const size_t s = order[i];
    const int64_t share = budget / static_cast<int64_t>(order.size() - i);  // >= 1 here
    take[s] = std::min(share, segments[s].count - done[s]);
    budget -= take[s];
  }
  return take;
}

void Model::forward(std::vector<Segment>& segments) {
  const ModelConfig& c = config;
  const int64_t D = c.width, V = c.vocab_size;
  const int64_t wide = std::max({c.mlp_width, c.lru_width, c.num_heads * c.head_dim});
  std::vector<int64_t> done(segments.size(), 0);
  Round r;
  for (;;) {
    // Fill a round with up to kMaxRowsPerRound rows.
    r.parts.clear();
    r.rows = 0;
    const std::vector<int64_t> take = plan_round(segments, done);
    std::vector<size_t> owner;
    for (size_t s = 0; s < segments.size(); ++s) {
      if (take[s] == 0) continue;
      r.parts.push_back({segments[s].state, r.rows, take[s]});
      owner.push_back(s);
      r.rows += take[s];
    }
    if (r.rows == 0) break;
    const int64_t R = r.rows;
    r.x.resize(R * D);
    r.a.resize(R * D);
    for (auto* t : {&r.t0, &r.t1, &r.t2, &r.t3}) t->resize(2 * R * wide);
    for (size_t i = 0; i < r.parts.size(); ++i) {
      const Segment& seg = segments[owner[i]];
      embed_rows(weights.embed, seg.tokens + done[owner[i]], r.parts[i].n, c.embed_scale,
                 r.x.data() + r.parts[i].row0 * D);
    }
    run_round(r);

    // Logits only for the rows that were asked for.
    std::vector<const float*> src;
    std::vector<float*> dst;
    for (size_t i = 0; i < r.parts.size(); ++i) {
      const Segment& seg = segments[owner[i]];
      const auto& p = r.parts[i];
      const int64_t first = done[owner[i]];
      for (int64_t j = 0; j < p.n; ++j) {
        const bool last = first + j == seg.count - 1;
        if (seg.all_logits || last) {
          src.push_back(r.x.data() + (p.row0 + j) * D);
          dst.push_back(seg.all_logits ? seg.logits + (first + j) * V : seg.logits);
        }
      }
      p.state->position += p.n;
      done[owner[i]] += p.n;
    }
    if (src.empty()) continue;
    const int64_t n = static_cast<int64_t>(src.size());
    std::vector<float> hn(static_cast<size_t>(n * D));
    for (int64_t j = 0; j < n; ++j)
      kernels_.rmsnorm(src[j], weights.final_norm.data(), D, c.rms_norm_eps, hn.data() + j * D);
    const bool contiguous = [&] {
      for (int64_t j = 1; j < n; ++j) if (dst[j] != dst[0] + j * V) return false;
      return true;
    }();
    std::vector<float> gathered;
    float* out = dst[0];
    if (!contiguous) {
      gathered.resize(static_cast<size_t>(n * V));
      out = gathered.data();
    }
    // Logits stay exact in every precision: they are what callers compare and sample from.
    parallel_matmul(hn.data(), D, n, weights.embed, nullptr, out, V, kernels_.matmul);
    pool_.parallel_for(n, 1, [&](int64_t j0, int64_t j1) {
      for (int64_t j = j0; j < j1; ++j) kernels_.softcap(out + j * V, V, c.logits_soft_cap);
    });
    if (!contiguous)
      for (int64_t j = 0; j < n; ++j) std::memcpy(dst[j], out + j * V, sizeof(float) * V);
  }
}

}  // namespace rg
