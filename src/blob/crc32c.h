// CRC-32C (Castagnoli), the checksum of every pack payload and index segment. Uses the SSE4.2
// crc32 instruction on three interleaved streams when the CPU has it. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace millpond::blob {

/// CRC-32C of `n` bytes continuing from a previous result `crc` (0 to start).
uint32_t Crc32c(const void* data, size_t n, uint32_t crc = 0);
inline uint32_t Crc32c(std::string_view s, uint32_t crc = 0) { return Crc32c(s.data(), s.size(), crc); }

}  // namespace millpond::blob
