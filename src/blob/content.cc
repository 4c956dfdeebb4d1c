// Content classes by magic numbers, the entropy probe, zstd payloads.
#include "content.h"

#include <zstd.h>

#include <array>
#include <cmath>
#include <cstring>
#include <memory>

namespace millpond::blob {
namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

bool LooksLikeText(std::string_view head) {
  if (head.empty()) return false;
  size_t n = std::min<size_t>(head.size(), 512);
  size_t i = 0;
  while (i < n) {
    auto c = static_cast<uint8_t>(head[i]);
    if (c < 0x80) {
      if (c == 0) return false;
      if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f') return false;
      if (c == 0x7f) return false;
      ++i;
      continue;
    }
    // UTF-8 sequence; a sequence cut by the 512-byte window is accepted.
    int len = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (len == 0) return false;
    for (int k = 1; k < len && i + k < n; ++k) {
      if ((static_cast<uint8_t>(head[i + k]) & 0xc0) != 0x80) return false;
    }
    i += static_cast<size_t>(len);
  }
  return true;
}

struct ZstdCtx {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  ZSTD_DCtx* d = ZSTD_createDCtx();
  ~ZstdCtx() {
    ZSTD_freeCCtx(c);
    ZSTD_freeDCtx(d);
  }
};

ZstdCtx& Ctx() {
  thread_local ZstdCtx ctx;
  return ctx;
}

}  // namespace

const char* ContentClassName(ContentClass c) {
  switch (c) {
    case ContentClass::kBinary: return "binary";
    case ContentClass::kText: return "text";
    case ContentClass::kJpeg: return "jpeg";
    case ContentClass::kPng: return "png";
    case ContentClass::kWebp: return "webp";
    case ContentClass::kGif: return "gif";
    case ContentClass::kVideo: return "video";
    case ContentClass::kAudio: return "audio";
    case ContentClass::kArchive: return "archive";
    case ContentClass::kRawImage: return "raw-image";
  }
  return "binary";
}

ContentClass Classify(std::string_view h) {
  using C = ContentClass;
  if (StartsWith(h, "\xFF\xD8\xFF")) return C::kJpeg;
  if (StartsWith(h, "\x89PNG")) return C::kPng;
  if (StartsWith(h, "GIF8")) return C::kGif;
  if (StartsWith(h, "RIFF") && h.size() >= 12) {
    std::string_view kind = h.substr(8, 4);
    if (kind == "WEBP") return C::kWebp;
    if (kind == "AVI ") return C::kVideo;
    if (kind == "WAVE") return C::kBinary;  // PCM: let the probe decide
  }
  if (h.size() >= 8 && h.substr(4, 4) == "ftyp") return C::kVideo;  // MP4, MOV, M4V, 3GP, HEIF
  if (StartsWith(h, "\x1A\x45\xDF\xA3")) return C::kVideo;          // Matroska, WebM
  if (StartsWith(h, "ID3") || StartsWith(h, "fLaC") || StartsWith(h, "OggS")) return C::kAudio;
  if (StartsWith(h, "\x28\xB5\x2F\xFD") || StartsWith(h, "\x1F\x8B") ||
      StartsWith(h, "PK\x03\x04") || StartsWith(h, std::string_view("\xFD" "7zXZ\x00", 6)) ||
      StartsWith(h, "BZh") || StartsWith(h, "7z\xBC\xAF\x27\x1C") ||
      StartsWith(h, "\x04\x22\x4D\x18")) {
    return C::kArchive;
  }
  if (StartsWith(h, "BM") || StartsWith(h, std::string_view("II*\0", 4)) ||
      StartsWith(h, std::string_view("MM\0*", 4))) {
    return C::kRawImage;
  }
  if (h.size() >= 3 && h[0] == 'P' && h[1] >= '1' && h[1] <= '6' &&
      (h[2] == '\n' || h[2] == ' ' || h[2] == '\r' || h[2] == '\t')) {
    return C::kRawImage;
  }
  return LooksLikeText(h) ? C::kText : C::kBinary;
}

bool IsPrecompressed(ContentClass c) {
  switch (c) {
    case ContentClass::kJpeg:
    case ContentClass::kPng:
    case ContentClass::kWebp:
    case ContentClass::kGif:
    case ContentClass::kVideo:
    case ContentClass::kAudio:
    case ContentClass::kArchive:
      return true;
    default:
      return false;
  }
}

double SampledEntropy(const uint8_t* data, size_t n) {
  if (n == 0) return 0;
  std::array<uint32_t, 256> hist{};
  size_t total = 0;
  constexpr size_t kSample = 256, kSamples = 16;
  if (n <= kSample * kSamples) {
    for (size_t i = 0; i < n; ++i) ++hist[data[i]];
    total = n;
  } else {
    const size_t step = (n - kSample) / (kSamples - 1);
    for (size_t s = 0; s < kSamples; ++s) {
      const uint8_t* p = data + s * step;
      for (size_t i = 0; i < kSample; ++i) ++hist[p[i]];
    }
    total = kSample * kSamples;
  }
  double h = 0;
  const double inv = 1.0 / static_cast<double>(total);
  for (uint32_t c : hist) {
    if (c == 0) continue;
    double p = c * inv;
    h -= p * std::log2(p);
  }
  return h;
}

Result<EncodedChunk> CompressChunk(std::string_view raw, int level, std::string* scratch) {
  EncodedChunk out{kCodecNone, raw};
  if (raw.size() < 64) return out;
  const size_t bound = ZSTD_compressBound(raw.size());
  if (scratch->size() < bound) scratch->resize(bound);
  size_t n = ZSTD_compressCCtx(Ctx().c, scratch->data(), bound, raw.data(), raw.size(), level);
  if (ZSTD_isError(n)) return Status::IOError("zstd compression failed: ", ZSTD_getErrorName(n));
  if (n <= raw.size() - raw.size() / 8) {
    out.codec = kCodecZstd;
    out.payload = std::string_view(scratch->data(), n);
  }
  return out;
}

Result<EncodedChunk> EncodeChunk(std::string_view raw, ContentClass cls, int level,
                                 std::string* scratch) {
  if (IsPrecompressed(cls) ||
      SampledEntropy(reinterpret_cast<const uint8_t*>(raw.data()), raw.size()) >= 7.5) {
    return EncodedChunk{kCodecNone, raw};
  }
  return CompressChunk(raw, level, scratch);
}

Status DecodeChunk(uint8_t codec, std::string_view payload, uint8_t* out, size_t raw_len) {
  if (codec == kCodecNone) {
    if (payload.size() != raw_len) return Status::IOError("stored chunk length mismatch");
    std::memcpy(out, payload.data(), raw_len);
    return Status::OK();
  }
  if (codec != kCodecZstd) return Status::IOError("unknown chunk codec ", int{codec});
  size_t n = ZSTD_decompressDCtx(Ctx().d, out, raw_len, payload.data(), payload.size());
  if (ZSTD_isError(n)) return Status::IOError("zstd: ", ZSTD_getErrorName(n));
  if (n != raw_len) return Status::IOError("zstd chunk decoded to ", n, " bytes, expected ", raw_len);
  return Status::OK();
}

}  // namespace millpond::blob
