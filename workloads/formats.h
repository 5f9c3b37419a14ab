// Weight and cache formats as data: bits per element with scales included, the element type the
// arithmetic runs in, and the dequantisation work per element read. `clustertwin presets` prints
// them with their sources; workloads name them in `precision: {weights: ..., kv_cache: ...}`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/program.h"

namespace clustertwin::work {

struct Format {
  std::string_view name;
  double bits = 32;  // per element, block scales and offsets included
  // Exact formats: the dtype stored. Quantized ones: the dtype the kernels dequantise to and
  // multiply in (the compute op's own dtype still sets the FLOP rate).
  core::DType element = core::DType::F32;
  // Operations per element read to turn the stored element into `element` (unpack, scale, offset),
  // counted as extra FLOPs of the op that reads it: they matter where the op is compute-bound.
  double dequant_ops = 0;
  std::string_view source;  // where bits and ops come from, with a tag [S]/[D]/[M]

  // The one conversion from a format to bytes; every weight and cache byte count goes through it.
  double bytes_per_element() const { return bits / 8; }
  // Below 16 bits a format is an integer or 4-bit float quantization: inference only.
  bool quantized() const { return bits < 16; }
};

// What reading `elements` stored elements costs the op that reads them.
struct ReadCost {
  double bytes = 0, flops = 0;
};
ReadCost read_cost(const Format& f, double elements);

const std::vector<Format>& formats();  // in the order `clustertwin presets` lists them
// Names a workload may write: every format's name and the aliases f32 and f16 (llama.cpp's).
const std::vector<std::string>& format_names();
const Format* find_format(std::string_view name);  // a name or an alias; nullptr if neither
const Format& exact_format(core::DType t);         // fp32, bf16, fp16, int8 or int4

}  // namespace clustertwin::work
