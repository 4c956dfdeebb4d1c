// FastCDC: gear hash from a fixed SplitMix64 table, spread masks, normalized chunking level 2.
#include "millpond/blob/fastcdc.h"

#include <algorithm>
#include <array>

namespace millpond::blob {
namespace {

constexpr std::array<uint64_t, 256> MakeGear() {
  std::array<uint64_t, 256> gear{};
  uint64_t x = 0x6d696c6c706f6e64ULL;  // "millpond"
  for (auto& g : gear) {
    x += 0x9e3779b97f4a7c15ULL;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    g = z ^ (z >> 31);
  }
  return gear;
}

constexpr std::array<uint64_t, 256> kGear = MakeGear();

// n one-bits spread over bits 16..62: the high bits of a gear hash depend on the most bytes.
uint64_t SpreadMask(int n) {
  uint64_t m = 0;
  for (int i = 0; i < n; ++i) m |= uint64_t{1} << (62 - (i * 47) / n);
  return m;
}

}  // namespace

Result<FastCdc> FastCdc::Make(int64_t average) {
  if (average < 256 || average > (64LL << 20) || (average & (average - 1)) != 0) {
    return Status::Invalid("FastCDC average chunk size must be a power of two between 256 B and ",
                           "64 MiB, got ", average);
  }
  int bits = 0;
  while ((int64_t{1} << bits) < average) ++bits;
  const size_t avg = static_cast<size_t>(average);
  return FastCdc(avg / 4, avg, avg * 4, SpreadMask(bits + 2), SpreadMask(bits - 2));
}

size_t FastCdc::NextCut(const uint8_t* data, size_t n) const {
  if (n <= min_) return n;
  const size_t barrier = std::min(avg_, n);
  const size_t end = std::min(max_, n);
  uint64_t h = 0;
  size_t i = min_;
  for (; i < barrier; ++i) {
    h = (h << 1) + kGear[data[i]];
    if ((h & mask_s_) == 0) return i + 1;
  }
  for (; i < end; ++i) {
    h = (h << 1) + kGear[data[i]];
    if ((h & mask_l_) == 0) return i + 1;
  }
  return end;
}

std::vector<size_t> FastCdc::Cut(std::string_view bytes) const {
  std::vector<size_t> out;
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  size_t left = bytes.size();
  while (left > 0) {
    size_t c = NextCut(p, left);
    out.push_back(c);
    p += c;
    left -= c;
  }
  return out;
}

}  // namespace millpond::blob
