/**
 * An independent, deliberately plain float64 implementation of RecurrentGemma written from
 * docs/MODEL.md, used to check the native engine on configurations the golden fixture does not cover.
 * It processes one token at a time (the official decode path), so it also cross-checks the
 * engine's chunked prefill and ring buffer.
 */
export interface RefConfig {
  vocabSize: number;
  width: number;
  mlpWidth: number;
  lruWidth: number;
  numHeads: number;
  window: number;
  blockTypes: Array<'recurrent' | 'attention'>;
  logitsSoftCap: number;
  embedScale: number;
  ropeDims: number;
}

type W = Map<string, Float64Array>;

const gelu = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const softplus = (x: number) => (x > 20 ? x : Math.log1p(Math.exp(x)));

/** y = W x + b with W [out, in]. */
export function linear(w: Float64Array, b: Float64Array | undefined, x: ArrayLike<number>, out: number): Float64Array {
  const n = x.length;
  const y = new Float64Array(out);
  for (let r = 0; r < out; r++) {
    let acc = b ? b[r]! : 0;
    for (let k = 0; k < n; k++) acc += w[r * n + k]! * x[k]!;
    y[r] = acc;
  }
  return y;
}

export function rmsnorm(x: ArrayLike<number>, w: Float64Array): Float64Array {
  let ss = 0;
  for (let i = 0; i < x.length; i++) ss += x[i]! * x[i]!;
  const inv = 1 / Math.sqrt(ss / x.length + 1e-6);
  return Float64Array.from({ length: x.length }, (_, i) => x[i]! * inv * (1 + w[i]!));
}

export function rope(v: Float64Array, offset: number, hd: number, rot: number, pos: number): void {
  const n = rot / 2;
  for (let i = 0; i < n; i++) {
    const theta = pos / 10000 ** ((2 * i) / rot);
    const c = Math.cos(theta), s = Math.sin(theta);
    const x1 = v[offset + i]!, x2 = v[offset + i + n]!;
    v[offset + i] = x1 * c - x2 * s;
    v[offset + i + n] = x2 * c + x1 * s;
  }
}

interface LayerCache {
  h?: Float64Array;
  conv?: Float64Array[]; // last 3 inputs, oldest first
  keys?: Float64Array[]; // by position
  values?: Float64Array[];
}

export class ReferenceGriffin {
  private caches: LayerCache[];
  position = 0;
  constructor(private readonly c: RefConfig, private readonly w: W) {
    this.caches = c.blockTypes.map(() => ({}));
  }

  private t(name: string): Float64Array {
    const v = this.w.get(name);
    if (!v) throw new Error(`reference: missing ${name}`);
    return v;
  }

  /** Feeds one token, returns its soft-capped logits. */
  step(token: number): Float64Array {
    const c = this.c;
    const D = c.width, L = c.lruWidth, H = c.numHeads, hd = D / H, bw = L / H, F = c.mlpWidth;
    const pos = this.position;
    const E = this.t('model.embed_tokens.weight');
    let x = Float64Array.from({ length: D }, (_, i) => E[token * D + i]! * c.embedScale);
    c.blockTypes.forEach((kind, li) => {
      const p = `model.layers.${li}.`;
      const t = `${p}temporal_block.`;
      const a = rmsnorm(x, this.t(`${p}temporal_pre_norm.weight`));
      let out: Float64Array;
      const cache = this.caches[li]!;
      if (kind === 'recurrent') {
        const y = linear(this.t(`${t}linear_y.weight`), this.t(`${t}linear_y.bias`), a, L).map(gelu);
        const xb = linear(this.t(`${t}linear_x.weight`), this.t(`${t}linear_x.bias`), a, L);
        cache.conv ??= [new Float64Array(L), new Float64Array(L), new Float64Array(L)];
        const win = [...cache.conv, xb];
        const cw = this.t(`${t}conv_1d.weight`), cb = this.t(`${t}conv_1d.bias`);
        const conv = Float64Array.from({ length: L }, (_, ch) => cb[ch]! + [0, 1, 2, 3].reduce((s, k) => s + cw[ch * 4 + k]! * win[k]![ch]!, 0));
        cache.conv = win.slice(1);
        const gate = (wName: string, bName: string) => {
          const gw = this.t(`${t}rg_lru.${wName}`), gb = this.t(`${t}rg_lru.${bName}`);
          const g = new Float64Array(L);
          for (let h = 0; h < H; h++)
            for (let j = 0; j < bw; j++) {
              let s = gb[h * bw + j]!;
              for (let i = 0; i < bw; i++) s += conv[h * bw + i]! * gw[(h * bw + i) * bw + j]!;
              g[h * bw + j] = sigmoid(s);
            }
          return g;
        };
        const gx = gate('input_gate_weight', 'input_gate_bias');
        const ga = gate('recurrent_gate_weight', 'recurrent_gate_bias');
        const param = this.t(`${t}rg_lru.recurrent_param`);
        cache.h ??= new Float64Array(L);
        const z = new Float64Array(L);
        for (let j = 0; j < L; j++) {
          const logA = -8 * ga[j]! * softplus(param[j]!);
          const aa = Math.exp(logA);
          const mult = pos === 0 ? 1 : Math.sqrt(1 - Math.exp(2 * logA));
          cache.h[j] = (pos === 0 ? 0 : aa * cache.h[j]!) + mult * gx[j]! * conv[j]!;
          z[j] = cache.h[j]! * y[j]!;
        }
        out = linear(this.t(`${t}linear_out.weight`), this.t(`${t}linear_out.bias`), z, D);
      } else {
        const q = linear(this.t(`${t}q_proj.weight`), undefined, a, H * hd);
        const k = linear(this.t(`${t}k_proj.weight`), undefined, a, hd);
        const v = linear(this.t(`${t}v_proj.weight`), undefined, a, hd);
        for (let h = 0; h < H; h++) rope(q, h * hd, hd, c.ropeDims, pos);
        rope(k, 0, hd, c.ropeDims, pos);
        cache.keys ??= [];
        cache.values ??= [];
        cache.keys[pos] = k;
        cache.values[pos] = v;
        const first = Math.max(0, pos - c.window);
        const o = new Float64Array(H * hd);
        for (let h = 0; h < H; h++) {
          const scores: number[] = [];
          for (let s = first; s <= pos; s++) {
            let d = 0;
            for (let i = 0; i < hd; i++) d += q[h * hd + i]! * cache.keys[s]![i]!;
            scores.push(d / Math.sqrt(hd));
          }
          const m = Math.max(...scores);
          const e = scores.map((s) => Math.exp(s - m));
          const sum = e.reduce((u, w) => u + w, 0);
          for (let s = first; s <= pos; s++)
            for (let i = 0; i < hd; i++) o[h * hd + i] += (e[s - first]! / sum) * cache.values[s]![i]!;
        }
        out = linear(this.t(`${t}o_proj.weight`), this.t(`${t}o_proj.bias`), o, D);
      }
      x = x.map((v, i) => v + out[i]!);
      const b = rmsnorm(x, this.t(`${p}channel_pre_norm.weight`));
      const g = linear(this.t(`${p}mlp_block.gate_proj.weight`), this.t(`${p}mlp_block.gate_proj.bias`), b, F);
      const u = linear(this.t(`${p}mlp_block.up_proj.weight`), this.t(`${p}mlp_block.up_proj.bias`), b, F);
      const mlp = linear(this.t(`${p}mlp_block.down_proj.weight`), this.t(`${p}mlp_block.down_proj.bias`), g.map((gv, i) => gelu(gv) * u[i]!), D);
      x = x.map((v, i) => v + mlp[i]!);
    });
    this.position++;
    const hN = rmsnorm(x, this.t('model.final_norm.weight'));
    const logits = linear(E, undefined, hN, c.vocabSize);
    const cap = c.logitsSoftCap;
    return cap > 0 ? logits.map((l) => cap * Math.tanh(l / cap)) : logits;
  }
}
