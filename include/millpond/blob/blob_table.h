// Tables whose BLOB columns live in the warehouse's blob store. A row keeps the blob id in a
// STRING column and a Paimon BlobDescriptor in a descriptor BLOB column (`blob-descriptor-field`,
// `millpond.blob-id-field.<column>` naming the id column). The descriptor names the pack file,
// offset and length when the blob lies whole and uncompressed in one pack, so Paimon Java,
// pypaimon and Spark read the bytes themselves; otherwise its uri is "blob:sha256:<hex>", which
// only millpond resolves. millpond reads such columns by id (right even after the store moves
// packs). Also here: the set of blob ids every table of a warehouse references, for `millpond gc`.
// DescriptorMaker is single-threaded; the free functions are thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "millpond/blob/blob_store.h"
#include "millpond/fs/file_system.h"
#include "millpond/paimon/blob_format.h"

namespace millpond::blob {

/// Descriptors for blobs of one store, from its index (reloaded by Refresh after each Flush).
class DescriptorMaker {
 public:
  static Result<std::unique_ptr<DescriptorMaker>> Make(std::shared_ptr<fs::FileSystem> fs,
                                                       const std::string& warehouse_root,
                                                       const BlobStoreOptions& options = {});
  ~DescriptorMaker();

  /// Loads index segments written since the last call (call after BlobStore::Flush).
  Status Refresh();
  /// The descriptor of blob `id` of `size` bytes: its pack range when it has one Paimon can
  /// read, else the id uri.
  Result<paimon::BlobDescriptor> Describe(const BlobId& id, int64_t size);

 private:
  DescriptorMaker() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// "blob:sha256:<hex>": a descriptor uri naming a blob by id only.
std::string BlobIdUri(const BlobId& id);

/// Lets table scans read store blobs by id (see millpond/table/blob_reader.h). Idempotent.
void RegisterTableBlobReader();

/// Calls `add` for every blob id referenced by any table of the warehouse at `warehouse_root`:
/// every snapshot, tag and branch (and so every consumer position) of every table; ids come
/// from `millpond.blob-id-field` columns and from descriptor BLOB columns (id uris, and pack
/// ranges mapped back to their blob). A data file that cannot be read is an error: a live set
/// missing references would let the GC delete live blobs.
Status CollectLiveBlobs(const std::shared_ptr<fs::FileSystem>& fs,
                        const std::string& warehouse_root,
                        const std::function<void(const BlobId&)>& add,
                        const BlobStoreOptions& options = {});

}  // namespace millpond::blob
