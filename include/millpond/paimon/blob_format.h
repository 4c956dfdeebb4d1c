// Paimon's BLOB storage formats: the serialized BlobDescriptor (a reference to bytes elsewhere:
// uri, offset, length) that descriptor-stored BLOB fields keep inline in data files, and the
// `.blob` data file holding one BLOB column's raw values. Pure codecs; a writer or reader object is
// single-threaded, the free functions are thread-safe.
// Mirrors org.apache.paimon.data.BlobDescriptor, format.blob.BlobFormatWriter and BlobFileMeta.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/type_fwd.h>

#include "millpond/common/status.h"
#include "millpond/fs/file_system.h"

namespace millpond::paimon {

/// Paimon's `blob-descriptor-field`, `blob-field` and `blob-as-descriptor` table options.
inline constexpr const char* kBlobDescriptorFieldOption = "blob-descriptor-field";
inline constexpr const char* kBlobFieldOption = "blob-field";
inline constexpr const char* kBlobAsDescriptorOption = "blob-as-descriptor";
inline constexpr const char* kBlobTargetFileSizeOption = "blob.target-file-size";
inline constexpr const char* kBlobFileExtension = ".blob";

/// Where a blob's bytes are: `length` bytes at `offset` of the file `uri` (length -1: to the end).
/// Serialized little-endian as: version byte (2), magic "BLOBDESC" (8 bytes), uri length (int32),
/// uri (UTF-8), offset (int64), length (int64). Version 1 has no magic.
struct BlobDescriptor {
  std::string uri;
  int64_t offset = 0;
  int64_t length = -1;

  std::string Serialize() const;
  /// Parses serialized bytes; Invalid (naming what is wrong) for anything else.
  static Result<BlobDescriptor> Parse(std::string_view bytes);
  /// True when `bytes` start like a version-2 descriptor (version byte and magic).
  static bool LooksLikeDescriptor(std::string_view bytes);

  bool operator==(const BlobDescriptor&) const = default;
};

/// Delta + ZigZag + varint coding of a long array (Paimon's DeltaVarintCompressor).
std::string DeltaVarintEncode(const std::vector<int64_t>& values);
Result<std::vector<int64_t>> DeltaVarintDecode(std::string_view bytes);

/// Writes one `.blob` file. Each value is framed as magic (int32 1481511375), the bytes, the
/// frame length (int64, = bytes + 16) and the CRC-32 of magic, bytes and length; after the last
/// value come the index (frame lengths, -1 for null, delta-varint coded), the index length (int32)
/// and the version byte (1). All integers little-endian.
class BlobFileWriter {
 public:
  static Result<std::unique_ptr<BlobFileWriter>> Open(const fs::FileSystem& fs,
                                                      const std::string& path);
  ~BlobFileWriter();

  Status AppendNull();
  /// Appends one value; returns the offset of its bytes in the file.
  Result<int64_t> Append(std::string_view bytes);
  /// Streams one value from `in` (to its end); returns (offset of the bytes, length).
  Result<std::pair<int64_t, int64_t>> AppendFrom(arrow::io::InputStream* in);

  int64_t position() const { return pos_; }
  int64_t record_count() const { return static_cast<int64_t>(lengths_.size()); }
  /// Writes the index and closes the file; returns its size.
  Result<int64_t> Finish();

 private:
  BlobFileWriter() = default;
  Status Write(std::string_view bytes, bool checksum);
  Status BeginValue();
  Result<int64_t> EndValue(int64_t data_start);

  std::shared_ptr<arrow::io::OutputStream> out_;
  std::string path_;
  int64_t pos_ = 0;
  int64_t frame_start_ = 0;
  uint32_t crc_ = 0;
  std::vector<int64_t> lengths_;
};

/// The index of a `.blob` file, read from its tail.
class BlobFileReader {
 public:
  /// `size`: the file size if known (from the manifest), else -1.
  static Result<std::unique_ptr<BlobFileReader>> Open(const fs::FileSystem& fs,
                                                      const std::string& path, int64_t size = -1);

  int64_t record_count() const { return static_cast<int64_t>(lengths_.size()); }
  bool IsNull(int64_t i) const { return lengths_[i] < 0; }
  /// Offset and length of value i's bytes (inside its frame).
  int64_t DataOffset(int64_t i) const { return offsets_[i] + 4; }
  int64_t DataLength(int64_t i) const { return lengths_[i] - 16; }
  /// Value i's bytes, its frame checked (magic, length, CRC-32).
  Result<std::shared_ptr<arrow::Buffer>> Read(int64_t i) const;
  /// Every value as a binary column (chunked so no chunk passes 1 GiB), nulls kept.
  Result<std::shared_ptr<arrow::ChunkedArray>> ReadAll() const;

 private:
  BlobFileReader() = default;
  std::shared_ptr<arrow::io::RandomAccessFile> file_;
  std::string path_;
  std::vector<int64_t> lengths_;
  std::vector<int64_t> offsets_;
};

}  // namespace millpond::paimon
