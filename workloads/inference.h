// Inference: prefill then decode, with pipeline and tensor parallelism, and replicas.
//   - step 0 (prefill): `batch` prompts of `prompt` tokens go through every layer at once
//     (compute-bound), filling the KV cache; the head produces the first token: its end is the
//     time to first token;
//   - steps 1..generate (decode): each sequence's next token goes through every layer, reading
//     all weights and its whole KV cache (memory-bound); the last stage sends the sampled token
//     ids back to the first;
//   - tensor parallel: two all-reduces per layer per step (after attention, after the MLP), of
//     batch x hidden activations in decode; pipeline: activations forwarded stage to stage;
//   - replicas (dp) serve separate batches.
#pragma once

#include "core/program.h"
#include "workloads/cluster.h"
#include "workloads/layout.h"
#include "workloads/workload.h"

namespace clustertwin::work {

core::Program compile_inference(const Workload& w, const Cluster& c, const Layout& l);

// KV-cache bytes of one rank holding `layers` layers, 1/tp of the heads, for `batch` sequences of
// `tokens` positions: batch x tokens x layers x 2·kv_heads·head_dim / tp x bytes.
double kv_cache_bytes(const Workload& w, int64_t layers, int tp, int64_t tokens);

}  // namespace clustertwin::work
