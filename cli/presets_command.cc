// `clustertwin presets`: the built-in device and link figures with their sources.
#include <fmt/format.h>

#include "cli/app.h"
#include "core/format.h"
#include "topologies/topology.h"
#include "workloads/formats.h"
#include "workloads/runtimes.h"

namespace clustertwin::cli {

namespace {
void print_presets() {
  fmt::print("devices (peak, sustained fraction; memory bandwidth, fraction; memory; power at the wall under load; list "
             "price):\n");
  for (const auto& n : topo::device_names()) {
    const auto* d = topo::find_device(n);
    fmt::print("  {:<14} {:>8} fp32 x{:.2f}  {:>10} x{:.2f}  {:>9}  {:>5}  {:>6}  [{}]\n", n,
               fmt::format("{:.2f} TF", d->peak_fp32 / 1e12), d->compute_efficiency, core::format_rate(d->memory_bandwidth),
               d->memory_efficiency, core::format_bytes(d->memory), d->power > 0 ? fmt::format("{:.4g} W", d->power) : "-",
               d->price > 0 ? fmt::format("${:.0f}", d->price) : "-", d->source);
    for (const char* key : {"power", "price"})
      if (auto it = d->notes.find(key); it != d->notes.end()) fmt::print("      {}: {}\n", key, it->second);
  }
  fmt::print("links (goodput: TCP payload of one flow, what predict uses, given or derived from the wire rate; rate: "
             "the wire's line rate):\n");
  for (const auto& n : topo::link_type_names()) {
    const auto* l = topo::find_link_type(n);
    fmt::print("  {:<14} goodput {:>10} {:<8} rate {:>10} {:>10} {}-duplex  [{}]\n", n, core::format_bit_rate(l->bandwidth),
               l->goodput_derived ? "derived" : "given", l->rate > 0 ? core::format_bit_rate(l->rate) : "-",
               core::format_seconds(l->latency), l->full_duplex ? "full" : "half", l->source);
    if (auto it = l->notes.find("price"); it != l->notes.end()) fmt::print("      price ${:.0f} per cable: {}\n", l->price, it->second);
  }
  fmt::print("formats (weights and KV cache; bits per element with scales, dequantisation ops per element read):\n");
  for (const auto& f : work::formats())
    fmt::print("  {:<14} {:>7.4g} bits  as {:<5} {:>4.3g} ops  {}\n", f.name, f.bits, core::name(f.element), f.dequant_ops,
               f.source);
  fmt::print("runtimes (workload key `runtime:`; fixed costs per device kernel, per collective call, per message; tokens "
             "per tile of an expert GEMM, 0 = not modelled):\n");
  for (const auto& r : work::runtimes())
    fmt::print("  {:<14} kernel {:>8}  collective {:>8}  message {:>8}  tile {:>2}  {}: {}\n", r.name,
               core::format_seconds(r.kernel_launch), core::format_seconds(r.collective_call),
               core::format_seconds(r.message_call), r.gemm_tile_tokens, r.description, r.source);
  const work::KernelCounts& k = work::kernel_counts();
  fmt::print("  kernels per inference op: attention {}, dense MLP {}, MoE MLP {} + one per routed expert matrix read, "
             "head {}, embedding {} (counted in mlx-lm's model code)\n",
             k.attention, k.dense_mlp, k.moe_mlp, k.head, k.embed);
}
}  // namespace

void add_presets_command(CLI::App& app) {
  app.add_subcommand("presets", "List the built-in device, link, weight-format and runtime presets with their sources")->callback(print_presets);
}

}  // namespace clustertwin::cli
