// FastCDC content-defined chunking with normalization level 2 (Xia et al., USENIX ATC 2016), as
// specified in docs/format/blob-pack.md §2: cut points depend only on nearby bytes, so an insertion
// moves the chunks around it and leaves the rest identical (and deduplicated).
// Immutable after construction; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "millpond/common/status.h"

namespace millpond::blob {

class FastCdc {
 public:
  /// `average` must be a power of two between 256 bytes and 64 MiB; min = average/4,
  /// max = average*4.
  static Result<FastCdc> Make(int64_t average);

  size_t min_size() const { return min_; }
  size_t average_size() const { return avg_; }
  size_t max_size() const { return max_; }

  /// Length of the chunk that starts at `data`, given `n` available bytes. The answer is final
  /// when `n >= max_size()` or `n` is all that is left of the input; otherwise call again with
  /// more bytes.
  size_t NextCut(const uint8_t* data, size_t n) const;

  /// Every chunk length of `bytes`, in order (empty input: no chunks).
  std::vector<size_t> Cut(std::string_view bytes) const;

 private:
  FastCdc(size_t min, size_t avg, size_t max, uint64_t mask_s, uint64_t mask_l)
      : min_(min), avg_(avg), max_(max), mask_s_(mask_s), mask_l_(mask_l) {}

  size_t min_, avg_, max_;
  uint64_t mask_s_, mask_l_;
};

}  // namespace millpond::blob
