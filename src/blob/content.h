// What a chunk holds and how it is stored: content classes sniffed from a blob's first bytes, the
// entropy probe, and zstd encode/decode of chunk payloads (docs/format/blob-pack.md §5).
// Thread-safe: compression contexts are per thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "millpond/common/status.h"

namespace millpond::blob {

enum class ContentClass : uint8_t {
  kBinary = 0,
  kText = 1,
  kJpeg = 2,
  kPng = 3,
  kWebp = 4,
  kGif = 5,
  kVideo = 6,
  kAudio = 7,
  kArchive = 8,
  kRawImage = 9,
};
inline constexpr int kContentClassCount = 10;

/// Payload codecs (pack footer and index field `codec`).
inline constexpr uint8_t kCodecNone = 0;
inline constexpr uint8_t kCodecZstd = 1;

const char* ContentClassName(ContentClass c);
/// The class of a blob from its first bytes (up to 512 are looked at).
ContentClass Classify(std::string_view head);
/// Classes whose bytes are already compressed: stored as they are.
bool IsPrecompressed(ContentClass c);
/// Shannon entropy (bits per byte) of up to 16 samples of 256 bytes spread over the data.
double SampledEntropy(const uint8_t* data, size_t n);

/// One chunk's stored form. `payload` views either the input or `scratch`.
struct EncodedChunk {
  uint8_t codec = kCodecNone;
  std::string_view payload;
};

/// Chooses how to store a chunk of class `cls`: as is for precompressed classes and chunks the
/// probe finds incompressible, else zstd at `level` if that saves at least 1/8 (below that,
/// decoding costs more read time than the space is worth).
Result<EncodedChunk> EncodeChunk(std::string_view raw, ContentClass cls, int level,
                                 std::string* scratch);
/// zstd at `level` regardless of the probe, if it saves at least 1/8 (cold rewrites).
Result<EncodedChunk> CompressChunk(std::string_view raw, int level, std::string* scratch);
/// Decodes a payload into exactly `raw_len` bytes at `out`.
Status DecodeChunk(uint8_t codec, std::string_view payload, uint8_t* out, size_t raw_len);

}  // namespace millpond::blob
