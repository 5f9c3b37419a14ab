// fp16 (IEEE 754 binary16) and bf16 (bfloat16) storage for collectives that reduce in fp32: a
// received 16-bit element is widened, added in fp32, and rounded back to nearest-even. Plain bit
// manipulation on std::bit_cast, so it is the same on x86, Apple silicon and the Pi's ARM (no F16C,
// no __fp16, no compiler extensions).
#pragma once

#include <bit>
#include <cstdint>

namespace clustertwin::exec {

inline float bf16_to_float(uint16_t h) { return std::bit_cast<float>(static_cast<uint32_t>(h) << 16); }

inline uint16_t float_to_bf16(float f) {
  uint32_t x = std::bit_cast<uint32_t>(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x0040u);  // NaN stays NaN (quiet)
  x += 0x7fffu + ((x >> 16) & 1u);  // round to nearest, ties to even
  return static_cast<uint16_t>(x >> 16);
}

inline float fp16_to_float(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
  if (exp == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (man << 13));  // inf, NaN
  if (exp == 0) {
    if (man == 0) return std::bit_cast<float>(sign);
    exp = 1;  // subnormal: normalise
    while (!(man & 0x400u)) {
      man <<= 1;
      --exp;
    }
    man &= 0x3ffu;
  }
  return std::bit_cast<float>(sign | ((exp + 112) << 23) | (man << 13));
}

inline uint16_t float_to_fp16(float f) {
  uint32_t x = std::bit_cast<uint32_t>(f);
  uint32_t sign = (x >> 16) & 0x8000u, ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u) return static_cast<uint16_t>(sign | 0x7c00u | (ax > 0x7f800000u ? 0x0200u : 0));
  if (ax >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // >= 65520 rounds to infinity
  if (ax < 0x38800000u) {                                               // below 2^-14: subnormal or zero
    if (ax <= 0x33000000u) return static_cast<uint16_t>(sign);          // <= 2^-25 rounds to zero (ties to even)
    uint32_t man = (ax & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126 - (ax >> 23);  // units of 2^-24
    uint32_t r = man >> shift, rest = man & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rest > half || (rest == half && (r & 1u))) ++r;
    return static_cast<uint16_t>(sign | r);
  }
  uint32_t r = ax - 0x38000000u;    // rebias the exponent (127 -> 15)
  r += 0x0fffu + ((r >> 13) & 1u);  // round 23 mantissa bits to 10, ties to even
  return static_cast<uint16_t>(sign | (r >> 13));
}

}  // namespace clustertwin::exec
