// CRC-32C: a byte-table fallback, and the crc32 instruction over three interleaved streams whose
// partial results are combined by "shift by L zero bytes" tables (the CRC is linear over GF(2)).
#include "crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace millpond::blob {
namespace {

constexpr uint32_t kPoly = 0x82F63B78u;  // reflected Castagnoli polynomial
constexpr size_t kStride = 4096;         // bytes per stream per round of the 3-way loop

struct Tables {
  std::array<uint32_t, 256> byte{};
  // shift[k][b]: the register after kStride zero bytes, starting from b << (8k).
  std::array<std::array<uint32_t, 256>, 4> shift{};
  bool hw = false;

  Tables() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
      byte[i] = c;
    }
    std::array<uint32_t, 32> basis{};
    for (int bit = 0; bit < 32; ++bit) {
      uint32_t r = uint32_t{1} << bit;
      for (size_t i = 0; i < kStride; ++i) r = byte[r & 0xff] ^ (r >> 8);
      basis[bit] = r;
    }
    for (int k = 0; k < 4; ++k) {
      for (uint32_t b = 0; b < 256; ++b) {
        uint32_t v = 0;
        for (int bit = 0; bit < 8; ++bit) {
          if (b & (1u << bit)) v ^= basis[8 * k + bit];
        }
        shift[k][b] = v;
      }
    }
#if defined(__x86_64__)
    hw = __builtin_cpu_supports("sse4.2");
#endif
  }

  uint32_t Shift(uint32_t r) const {
    return shift[0][r & 0xff] ^ shift[1][(r >> 8) & 0xff] ^ shift[2][(r >> 16) & 0xff] ^
           shift[3][r >> 24];
  }
};

const Tables& T() {
  static const Tables t;
  return t;
}

uint32_t SoftUpdate(const Tables& t, uint32_t r, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) r = t.byte[(r ^ p[i]) & 0xff] ^ (r >> 8);
  return r;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t HwRun(uint32_t r, const uint8_t* p, size_t n) {
  uint64_t c = r;
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = _mm_crc32_u64(c, v);
    p += 8;
    n -= 8;
  }
  auto r32 = static_cast<uint32_t>(c);
  while (n-- > 0) r32 = _mm_crc32_u8(r32, *p++);
  return r32;
}

__attribute__((target("sse4.2"))) uint32_t HwUpdate(const Tables& t, uint32_t r,
                                                     const uint8_t* p, size_t n) {
  while (n >= 3 * kStride) {
    uint64_t a = r, b = 0, c = 0;
    const uint8_t* pa = p;
    const uint8_t* pb = p + kStride;
    const uint8_t* pc = p + 2 * kStride;
    for (size_t i = 0; i < kStride; i += 8) {
      uint64_t va, vb, vc;
      std::memcpy(&va, pa + i, 8);
      std::memcpy(&vb, pb + i, 8);
      std::memcpy(&vc, pc + i, 8);
      a = _mm_crc32_u64(a, va);
      b = _mm_crc32_u64(b, vb);
      c = _mm_crc32_u64(c, vc);
    }
    // update(r, A|B|C) = shift(shift(update(r,A)) ^ update(0,B)) ^ update(0,C)
    r = t.Shift(t.Shift(static_cast<uint32_t>(a)) ^ static_cast<uint32_t>(b)) ^
        static_cast<uint32_t>(c);
    p += 3 * kStride;
    n -= 3 * kStride;
  }
  return HwRun(r, p, n);
}
#endif

}  // namespace

uint32_t Crc32c(const void* data, size_t n, uint32_t crc) {
  const Tables& t = T();
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t r = ~crc;
#if defined(__x86_64__)
  if (t.hw) return ~HwUpdate(t, r, p, n);
#endif
  return ~SoftUpdate(t, r, p, n);
}

}  // namespace millpond::blob
