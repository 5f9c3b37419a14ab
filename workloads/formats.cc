// The built-in weight and cache formats. Block layouts are llama.cpp's ggml/src/ggml-common.h
// (block_q4_0 ... block_q6_K) and MLX's quantization docs (mlx.core.quantize: affine, one scale
// and one bias per group of 64 by default; mxfp4: 32 elements share an 8-bit exponent scale).
// Dequantisation ops count the arithmetic per element of the reference dequantize_row_* in
// ggml-quants.c (mask or shift to unpack, scale, offset); per-block scale work is amortised away.
#include "workloads/formats.h"

#include <algorithm>

namespace clustertwin::work {

namespace {
using core::DType;

const std::vector<Format> kFormats{
    {"fp32", 32, DType::F32, 0, "[S] IEEE 754 binary32"},
    {"bf16", 16, DType::BF16, 0, "[S] bfloat16"},
    {"fp16", 16, DType::F16, 0, "[S] IEEE 754 binary16"},
    {"int8", 8, DType::I8, 0, "[S] exact 8 bits, no scales (clustertwin's idealised int8)"},
    {"int4", 4, DType::I4, 0, "[S] exact 4 bits, no scales (clustertwin's idealised int4)"},
    {"q8_0", 8.5, DType::F16, 2,
     "[D] ggml block_q8_0: fp16 scale + 32 x int8 = 34 B / 32; ops: convert, x scale"},
    {"q4_0", 4.5, DType::F16, 3,
     "[D] ggml block_q4_0: fp16 scale + 32 x 4 bit = 18 B / 32; ops: mask, -8, x scale"},
    {"q4_k", 4.5, DType::F16, 3,
     "[D] ggml block_q4_K: fp16 d, dmin + 12 B 6-bit scales + 128 B = 144 B / 256; ops: mask, x scale, - min"},
    {"q4_k_m", 4.85, DType::F16, 3.7,
     "[D] llama.cpp Q4_K_M: Q4_K (4.5) with Q6_K (6.5625: 210 B / 256) for output and half the layers' "
     "attn_v, ffn_down: 19 % Q6_K in Llama 3.1 8B = 4.89, 15 % in 70B = 4.82 (llama.cpp's "
     "tools/quantize/README.md: 4.84 for Llama 2 7B); ops: 3 (Q4_K), 7 (Q6_K: 2 masks, 2 shifts, or, -32, "
     "x scale), mixed"},
    {"q3_k", 3.4375, DType::F16, 5,
     "[D] ggml block_q3_K: 32 B high bits + 64 B + 12 B scales + fp16 d = 110 B / 256; ops: 2 shifts, "
     "2 masks, x scale"},
    {"q2_k", 2.625, DType::F16, 4,
     "[D] ggml block_q2_K: 16 B scales/mins + 64 B + fp16 d, dmin = 84 B / 256; ops: shift, mask, x scale, - min"},
    {"iq2_xxs", 2.0625, DType::F16, 5,
     "[D] ggml block_iq2_xxs: fp16 d + 64 B (8-element lattice indices, signs, 4-bit scales) = 66 B / 256; "
     "ops: grid lookup, sign, x scale (per element, amortised indices)"},
    {"mlx-8bit", 8.5, DType::F16, 2,
     "[D] MLX affine quantize, bits 8, group 64: 8 + (fp16 scale + fp16 bias) / 64 = 8.5; ops: scale x q + bias (fma)"},
    {"mlx-4bit", 4.5, DType::F16, 4,
     "[D] MLX affine quantize, bits 4, group 64: 4 + 32 / 64 = 4.5; ops: shift, mask, scale x q + bias (fma)"},
    {"mxfp4", 4.25, DType::F16, 3,
     "[S] OCP MX spec: 32 x e2m1 + 8-bit e8m0 shared scale = 136 bits / 32; ops: unpack, e2m1 lookup, x 2^scale"},
};

struct Alias {
  std::string_view name, format;
};
constexpr Alias kAliases[]{{"f32", "fp32"}, {"f16", "fp16"}};
}  // namespace

ReadCost read_cost(const Format& f, double elements) {
  return {elements * f.bytes_per_element(), elements * f.dequant_ops};
}

const std::vector<Format>& formats() { return kFormats; }

const std::vector<std::string>& format_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& f : kFormats) n.emplace_back(f.name);
    for (const auto& a : kAliases) n.emplace_back(a.name);
    return n;
  }();
  return names;
}

const Format* find_format(std::string_view name) {
  for (const auto& a : kAliases)
    if (a.name == name) name = a.format;
  auto it = std::find_if(kFormats.begin(), kFormats.end(), [&](const Format& f) { return f.name == name; });
  return it == kFormats.end() ? nullptr : &*it;
}

const Format& exact_format(core::DType t) { return *find_format(core::name(t)); }

}  // namespace clustertwin::work
