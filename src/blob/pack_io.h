// Writing and reading whole pack files (docs/format/blob-pack.md §3). A PackWriter is used by one
// thread at a time (the store serializes appends); the free functions are thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <arrow/io/interfaces.h>

#include "millpond/fs/file_system.h"
#include "pack_format.h"

namespace millpond::blob {

class PackWriter {
 public:
  /// Starts a pack at `path`. On a local file system the payloads stream into the file as they
  /// come (so memory stays small); elsewhere they are buffered and written at Seal.
  static Result<std::unique_ptr<PackWriter>> Create(std::shared_ptr<fs::FileSystem> fs,
                                                    std::string path, const PackHeader& header);
  ~PackWriter();

  const PackId& id() const { return header_.id; }
  const std::string& path() const { return path_; }
  uint64_t size() const { return size_; }
  const std::vector<ChunkEntry>& entries() const { return entries_; }

  /// Appends a payload; `entry.offset` is set to where it went.
  Status Append(std::string_view payload, ChunkEntry* entry);
  /// Reads back bytes already appended (a store serving its own unflushed puts).
  Status ReadAt(uint64_t offset, uint64_t n, uint8_t* out) const;
  /// Writes footer and trailer and closes the file.
  Status Seal();

 private:
  PackWriter(std::shared_ptr<fs::FileSystem> fs, std::string path, PackHeader header)
      : fs_(std::move(fs)), path_(std::move(path)), header_(header) {}

  std::shared_ptr<fs::FileSystem> fs_;
  std::string path_;
  PackHeader header_;
  std::shared_ptr<arrow::io::OutputStream> out_;  // local: streaming
  std::string buffer_;                            // elsewhere: everything until Seal
  uint64_t size_ = 0;
  std::vector<ChunkEntry> entries_;
  bool sealed_ = false;
};

/// A pack's header, checked footer entries and file size.
struct PackContents {
  PackHeader header;
  std::vector<ChunkEntry> entries;
  int64_t size = 0;
};

/// Reads the header, trailer and footer of the pack at `path`.
Result<PackContents> ReadPackIndex(const fs::FileSystem& fs, const std::string& path);
/// Reads `n` bytes at `offset` of an open pack into `out`; a short read is a truncation error
/// naming `path` and `chunk`.
Status ReadExactly(arrow::io::RandomAccessFile* file, const std::string& path, uint64_t offset,
                   uint64_t n, uint8_t* out, const BlobId& chunk);
/// Reads `n` bytes at `offset` of an open pack: a slice of the mapping for memory-mapped packs
/// (no copy), else a new buffer; a short read is a truncation error as for ReadExactly.
Result<std::shared_ptr<arrow::Buffer>> ReadSpan(arrow::io::RandomAccessFile* file,
                                                const std::string& path, uint64_t offset,
                                                uint64_t n, const BlobId& chunk);
/// fsyncs a file of a local file system.
Status SyncLocalFile(const std::string& path);

}  // namespace millpond::blob
