// Reading and writing a table's manifest lists and manifest files, and merging manifest entries
// into the live file set of a snapshot. Thread-safe. Mirrors org.apache.paimon.manifest.ManifestFile,
// ManifestList and FileEntry.mergeEntries.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "millpond/common/status.h"
#include "millpond/fs/file_system.h"
#include "millpond/paimon/manifest.h"
#include "millpond/paimon/schema.h"
#include "millpond/paimon/snapshot.h"
#include "millpond/paimon/types.h"

namespace millpond::table {

/// "<table>/<partition path>bucket-N" for a serialized partition row, with the table's partition
/// naming options (`partition.default-name`, `partition.legacy-name`).
Result<std::string> BucketPath(const std::string& table_path, const paimon::TableSchema& schema,
                               const std::string& partition, int32_t bucket);

/// A path from a manifest's _EXTERNAL_PATH ("file:/x", "file:///x" or a plain path) as the local
/// file system names it.
std::string LocalExternalPath(const std::string& external_path);

/// Where a data file of `entry` lives: its external path if it has one, else
/// <table>/<partition path>bucket-N/<file name>, with the table's partition naming options.
Result<std::string> DataFilePath(const paimon::TableSchema& schema, const std::string& table_path,
                                 const paimon::ManifestEntry& entry);

/// A random UUID string (8-4-4-4-12 hex), as Paimon uses in file names.
std::string NewUuid();

/// A data file's creation time as Paimon stores it: the local wall-clock time as timestamp-millis.
int64_t CreationTimeMillis();

class ManifestIO {
 public:
  ManifestIO(std::shared_ptr<fs::FileSystem> fs, std::string table_path,
             paimon::AvroCodec codec, std::vector<paimon::DataTypePtr> partition_types)
      : fs_(std::move(fs)),
        table_path_(std::move(table_path)),
        codec_(codec),
        partition_types_(std::move(partition_types)) {}

  std::string ManifestPath(const std::string& name) const;

  Result<std::vector<paimon::ManifestFileMeta>> ReadManifestList(const std::string& name) const;
  Result<std::vector<paimon::ManifestEntry>> ReadManifest(const std::string& name) const;

  /// Writes entries as one manifest file and returns its meta (counts, partition stats).
  Result<paimon::ManifestFileMeta> WriteManifest(const std::vector<paimon::ManifestEntry>& entries,
                                                 int64_t schema_id) const;
  /// Writes a manifest list; returns (file name, size).
  Result<std::pair<std::string, int64_t>> WriteManifestList(
      const std::vector<paimon::ManifestFileMeta>& metas) const;

  /// Every manifest of a snapshot: its base list followed by its delta list.
  Result<std::vector<paimon::ManifestFileMeta>> DataManifests(const paimon::Snapshot& s) const;
  /// The live data files of a snapshot (ADDs not cancelled by a later DELETE), in commit order.
  Result<std::vector<paimon::ManifestEntry>> LiveEntries(const paimon::Snapshot& s) const;

  /// Keeps ADD entries not cancelled by a DELETE of the same (partition, bucket, file); a DELETE
  /// whose ADD is not in `entries` is kept (it cancels a file from older manifests).
  static std::vector<paimon::ManifestEntry> MergeEntries(std::vector<paimon::ManifestEntry> entries);

 private:
  std::shared_ptr<fs::FileSystem> fs_;
  std::string table_path_;
  paimon::AvroCodec codec_;
  std::vector<paimon::DataTypePtr> partition_types_;
};

}  // namespace millpond::table
