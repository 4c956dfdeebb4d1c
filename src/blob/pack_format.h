// Byte layouts of pack files and index segments (docs/format/blob-pack.md §3, §4): pure codecs,
// no I/O. Thread-safe (no state).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "millpond/blob/blob_store.h"

namespace millpond::blob {

/// A pack's name: 16 bytes, the first 8 the writer session that made it.
struct PackId {
  std::array<uint8_t, 16> bytes{};

  std::string Hex() const;
  uint64_t writer() const;
  /// A fresh id for writer session `writer`.
  static PackId Random(uint64_t writer);
  static Result<PackId> FromHex(std::string_view hex);

  bool operator==(const PackId&) const = default;
  auto operator<=>(const PackId&) const = default;
};

struct PackIdHash {
  size_t operator()(const PackId& p) const;
};

/// "pack-<32 hex>.mpk"; parsing returns false for other names.
std::string PackFileName(const PackId& id);
bool ParsePackFileName(std::string_view name, PackId* id);

inline constexpr size_t kPackHeaderSize = 48;
inline constexpr size_t kPackEntrySize = 56;
inline constexpr size_t kPackTrailerSize = 32;
inline constexpr uint32_t kPackFlagCold = 1;

struct PackHeader {
  PackId id;
  int64_t created = 0;
  uint32_t flags = 0;
};

/// One stored chunk: where its payload is in its pack and how to decode it.
struct ChunkEntry {
  BlobId id;
  uint64_t offset = 0;
  uint32_t stored_len = 0;
  uint32_t raw_len = 0;
  uint32_t crc = 0;
  uint8_t codec = 0;
  uint8_t cls = 0;
};

struct PackTrailer {
  uint64_t footer_offset = 0;
  uint32_t count = 0;
  uint32_t footer_crc = 0;
};

std::string EncodePackHeader(const PackHeader& h);
Result<PackHeader> DecodePackHeader(std::string_view bytes, const std::string& path);
/// Footer entries followed by the trailer; `footer_offset` is where they start in the pack.
std::string EncodePackFooter(const std::vector<ChunkEntry>& entries, uint64_t footer_offset);
/// The last kPackTrailerSize bytes of a pack of `file_size` bytes.
Result<PackTrailer> DecodePackTrailer(std::string_view bytes, int64_t file_size,
                                      const std::string& path);
Result<std::vector<ChunkEntry>> DecodePackFooter(std::string_view entries, const PackTrailer& t,
                                                 const std::string& path);

struct SegChunk {
  ChunkEntry entry;
  uint32_t pack = 0;  // ordinal into Segment::packs
};

struct SegBlob {
  BlobId id;
  uint64_t size = 0;
  int64_t ref_time = 0;
  uint32_t puts = 1;
  /// (chunk id, raw length) in order; empty: one chunk whose id is the blob id.
  std::vector<std::pair<BlobId, uint32_t>> chunks;
};

struct SegTouch {
  BlobId id;
  int64_t ref_time = 0;
};

struct Segment {
  int64_t created = 0;
  std::vector<PackId> packs;
  std::vector<SegChunk> chunks;
  std::vector<SegBlob> blobs;
  std::vector<SegTouch> touches;
};

std::string EncodeSegment(const Segment& s);
Result<Segment> DecodeSegment(std::string_view bytes, const std::string& path);

/// "seg-<13-digit created>-<16 hex>.mpi".
std::string SegmentFileName(int64_t created, uint64_t random);
bool IsSegmentFileName(std::string_view name);

/// A random 64-bit value (not for cryptography: names and session ids).
uint64_t RandomU64();
std::string Hex64(uint64_t v);

}  // namespace millpond::blob
