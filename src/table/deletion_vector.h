// Deletion vectors of a primary-key (or append) table: the snapshot's index manifest lists
// DELETION_VECTORS index files; each holds, per data file, a serialized 32-bit RoaringBitmap of
// the row positions deleted from that file. Decoding only (reading what Paimon Java wrote).
// Immutable after Load, so thread-safe. Mirrors org.apache.paimon.index.IndexFileMeta,
// deletionvectors.DeletionVectorsIndexFile and BitmapDeletionVector.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "millpond/common/status.h"
#include "millpond/fs/file_system.h"
#include "millpond/paimon/manifest.h"
#include "millpond/paimon/schema.h"
#include "millpond/table/manifest_io.h"  // BucketPath, LocalExternalPath
#include "millpond/paimon/snapshot.h"

namespace millpond::table {

/// Paimon's index type name for deletion-vector index files.
inline constexpr std::string_view kDeletionVectorsIndex = "DELETION_VECTORS";
/// The magic number that precedes a 32-bit bitmap in a deletion-vector blob.
inline constexpr uint32_t kBitmapDeletionVectorMagic = 1581511376;

/// One range of a deletion-vector index file: the vector of data file `data_file`.
struct DeletionVectorRange {
  std::string data_file;
  int32_t offset = 0;
  int32_t length = 0;
  std::optional<int64_t> cardinality;
};

/// One entry of an index manifest (org.apache.paimon.manifest.IndexManifestEntry).
struct IndexManifestEntry {
  int32_t kind = 0;  // 0 ADD, 1 DELETE
  std::string partition;
  int32_t bucket = 0;
  std::string index_type;
  std::string file_name;
  int64_t file_size = 0;
  int64_t row_count = 0;
  std::vector<DeletionVectorRange> dv_ranges;
  std::optional<std::string> external_path;
};

/// Decodes an index manifest (Avro object container or ORC). `what` names it in errors.
Result<std::vector<IndexManifestEntry>> DecodeIndexManifest(std::string_view bytes,
                                                            std::string_view what);

/// Decodes a RoaringBitmap in the portable serialization (array, bitmap and run containers) into
/// its sorted values.
Result<std::vector<uint32_t>> DecodeRoaringBitmap(std::string_view bytes);

/// Decodes the deletion vector at `offset` of an index file: a 4-byte big-endian length, the
/// 4-byte magic and the bitmap (the length counts magic and bitmap).
Result<std::vector<uint32_t>> DecodeDeletionVector(std::string_view file, int64_t offset,
                                                   std::string_view what);


/// Encodes sorted, distinct values as a RoaringBitmap in the portable serialization without run
/// containers (array containers up to 4096 values, bitmap containers above).
std::string EncodeRoaringBitmap(const std::vector<uint32_t>& values);

/// Encodes a deletion-vector index file as Paimon's DeletionVectorsIndexFile writes it: a version
/// byte 1, then per data file a 4-byte big-endian length, the magic and the bitmap (the length
/// counts both), and a big-endian CRC32 of magic and bitmap. Fills one range per vector.
std::string EncodeDeletionVectorIndexFile(
    const std::vector<std::pair<std::string, std::vector<uint32_t>>>& vectors,
    std::vector<DeletionVectorRange>* ranges);

/// Encodes an index manifest as the Avro object container Paimon 1.x writes (IndexManifestEntry
/// version 1).
Result<std::string> EncodeIndexManifest(const std::vector<IndexManifestEntry>& entries,
                                        paimon::AvroCodec codec);

/// The live entries (ADDs not cancelled by a DELETE) of a snapshot's index manifest; empty when
/// it has none.
Result<std::vector<IndexManifestEntry>> ReadLiveIndexEntries(const fs::FileSystem& fs,
                                                             const std::string& table_path,
                                                             const paimon::Snapshot& snapshot);

/// The deletion vectors of every data file of one snapshot.
class DeletionVectors {
 public:
  /// Reads the snapshot's index manifest and every DELETION_VECTORS index file it lists. A
  /// snapshot without an index manifest gives an empty set.
  static Result<std::shared_ptr<DeletionVectors>> Load(const fs::FileSystem& fs,
                                                       const std::string& table_path,
                                                       const paimon::TableSchema& schema,
                                                       const paimon::Snapshot& snapshot);

  /// Adds (or replaces) the deleted positions of one data file; for tests and writers.
  void Add(const std::string& partition, int32_t bucket, const std::string& data_file,
           std::vector<uint32_t> positions);

  /// Sorted deleted row positions of a data file, or nullptr if none are deleted.
  const std::vector<uint32_t>* Find(const std::string& partition, int32_t bucket,
                                    const std::string& data_file) const;
  size_t size() const { return vectors_.size(); }

 private:
  std::map<std::tuple<std::string, int32_t, std::string>, std::vector<uint32_t>> vectors_;
};

}  // namespace millpond::table
