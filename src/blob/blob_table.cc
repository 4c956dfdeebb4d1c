// Blob-store-backed BLOB columns: descriptors from the store index, the table scans' store
// reader, and the warehouse-wide live set for the garbage collector.
#include "millpond/blob/blob_table.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include <arrow/array.h>
#include <arrow/buffer.h>
#include <arrow/chunked_array.h>
#include <arrow/table.h>

#include "index.h"
#include "millpond/paimon/data_file.h"
#include "millpond/table/blob_reader.h"
#include "millpond/table/file_store_commit.h"
#include "millpond/table/manifest_io.h"
#include "millpond/table/schema_manager.h"
#include "millpond/table/snapshot_manager.h"
#include "store_layout.h"

namespace millpond::blob {
namespace {

constexpr const char* kBlobIdField = table::kBlobIdFieldOptionPrefix;

std::string Parent(const std::string& path) {
  auto pos = path.find_last_of('/');
  return pos == std::string::npos ? std::string() : path.substr(0, pos);
}

std::string BaseName(const std::string& path) {
  auto pos = path.find_last_of('/');
  return pos == std::string::npos ? path : path.substr(pos + 1);
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::set<std::string> SplitNames(const std::string& text) {
  std::set<std::string> out;
  for (auto& n : paimon::SplitNames(text)) out.insert(n);
  return out;
}

}  // namespace

std::string BlobIdUri(const BlobId& id) { return table::kBlobIdUriPrefix + id.ToString(); }

// ---- DescriptorMaker ----------------------------------------------------------------------------

struct DescriptorMaker::Impl {
  std::shared_ptr<fs::FileSystem> fs;
  StoreLayout layout;
  LoadedIndex loaded;
};

DescriptorMaker::~DescriptorMaker() = default;

Result<std::unique_ptr<DescriptorMaker>> DescriptorMaker::Make(std::shared_ptr<fs::FileSystem> fs,
                                                               const std::string& warehouse_root,
                                                               const BlobStoreOptions& options) {
  ARROW_ASSIGN_OR_RAISE(auto layout, StoreLayout::Open(fs, warehouse_root, options.tier_locations));
  auto m = std::unique_ptr<DescriptorMaker>(new DescriptorMaker());
  m->impl_ = std::make_unique<Impl>(Impl{std::move(fs), std::move(layout), {}});
  return m;
}

Status DescriptorMaker::Refresh() {
  auto& li = impl_->loaded;
  ARROW_RETURN_NOT_OK(LoadSegments(impl_->layout, li.segments, /*lenient=*/false, &li));
  if (!li.consistent) {
    // A GC consolidated segments meanwhile: start over from what is there now.
    li = LoadedIndex{};
    ARROW_RETURN_NOT_OK(LoadSegments(impl_->layout, {}, /*lenient=*/false, &li));
  }
  return Status::OK();
}

Result<paimon::BlobDescriptor> DescriptorMaker::Describe(const BlobId& id, int64_t size) {
  paimon::BlobDescriptor logical{BlobIdUri(id), 0, size};
  const Index& index = impl_->loaded.index;
  const BlobRec* rec = index.FindBlob(id);
  if (!rec || rec->chunks.empty() || static_cast<int64_t>(rec->size) != size) return logical;
  // A pack holding every chunk raw, back to back, in order: one byte range Paimon can read.
  for (const Location& first : index.chunks()[rec->chunks[0]].locs) {
    if (first.codec != 0) continue;
    uint64_t expected = first.offset;
    bool contiguous = true;
    for (uint32_t c : rec->chunks) {
      const ChunkRec& chunk = index.chunks()[c];
      bool found = false;
      for (const Location& loc : chunk.locs) {
        if (loc.pack == first.pack && loc.codec == 0 && loc.offset == expected &&
            loc.stored_len == chunk.raw_len) {
          found = true;
          break;
        }
      }
      if (!found) {
        contiguous = false;
        break;
      }
      expected += chunk.raw_len;
    }
    if (!contiguous) continue;
    for (int t = 0; t < kTierCount; ++t) {
      const auto& tier = impl_->layout.tier(t);
      // Paimon opens descriptors with the table's file system: same kind of storage only.
      if (tier.fs->is_local() != impl_->fs->is_local()) continue;
      std::string path = impl_->layout.pack_path(t, first.pack);
      ARROW_ASSIGN_OR_RAISE(bool exists, tier.fs->Exists(path));
      if (!exists) continue;
      std::string uri = tier.fs->is_local() ? "file:" + path : "s3://" + path;
      return paimon::BlobDescriptor{uri, static_cast<int64_t>(first.offset), size};
    }
  }
  return logical;
}

// ---- the table scans' store reader --------------------------------------------------------------

void RegisterTableBlobReader() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct Cache {
      std::mutex mu;
      std::map<std::pair<const fs::FileSystem*, std::string>, std::shared_ptr<BlobStore>> stores;
    };
    auto cache = std::make_shared<Cache>();
    table::SetStoreBlobReader(
        [cache](const std::shared_ptr<fs::FileSystem>& fs, const std::string& table_path,
                const std::string& id_text, int64_t offset,
                int64_t length) -> Result<std::shared_ptr<arrow::Buffer>> {
          // <warehouse>/<db>.db/<table>
          std::string root = Parent(Parent(table_path));
          ARROW_ASSIGN_OR_RAISE(auto id, BlobId::Parse(id_text));
          std::shared_ptr<BlobStore> store;
          {
            std::lock_guard<std::mutex> lock(cache->mu);
            auto& slot = cache->stores[{fs.get(), root}];
            if (!slot) {
              ARROW_ASSIGN_OR_RAISE(auto opened, BlobStore::Open(fs, root));
              slot = std::move(opened);
            }
            store = slot;
          }
          return store->Get(id, offset, length);
        });
  });
}

// ---- the live set -------------------------------------------------------------------------------

namespace {

// What one data file references, read once however many snapshots list it.
class LiveScanner {
 public:
  LiveScanner(std::shared_ptr<fs::FileSystem> fs, std::string root, BlobStoreOptions options,
              const std::function<void(const BlobId&)>& add)
      : fs_(std::move(fs)), root_(std::move(root)), options_(std::move(options)), add_(add) {}

  Status ScanWarehouse() {
    ARROW_ASSIGN_OR_RAISE(auto dbs, fs_->List(root_));
    for (const auto& db : dbs) {
      if (db.type() != arrow::fs::FileType::Directory || !EndsWith(db.base_name(), ".db")) continue;
      ARROW_ASSIGN_OR_RAISE(auto tables, fs_->List(db.path()));
      for (const auto& t : tables) {
        if (t.type() != arrow::fs::FileType::Directory) continue;
        ARROW_ASSIGN_OR_RAISE(bool is_table, fs_->IsDirectory(fs::JoinPath(t.path(), "schema")));
        if (is_table) ARROW_RETURN_NOT_OK(ScanTable(t.path()));
      }
    }
    return Status::OK();
  }

 private:
  Status ScanTable(const std::string& table_path) {
    std::vector<std::string> metadata = {table_path};
    ARROW_ASSIGN_OR_RAISE(auto branches, fs_->List(fs::JoinPath(table_path, "branch")));
    for (const auto& b : branches) {
      if (b.type() == arrow::fs::FileType::Directory && b.base_name().rfind("branch-", 0) == 0) {
        metadata.push_back(b.path());
      }
    }
    for (const auto& mp : metadata) {
      table::SnapshotManager snaps(fs_, mp);
      table::SchemaManager schemas(fs_, mp);
      std::vector<std::pair<paimon::Snapshot, bool>> list;  // (snapshot, is a tag)
      ARROW_ASSIGN_OR_RAISE(auto ids, snaps.ListSnapshotIds());
      for (int64_t id : ids) {
        auto s = snaps.ReadSnapshot(id);
        if (s.ok()) {
          list.emplace_back(std::move(*s), false);
        } else {
          // Expired meanwhile (its files are older than the snapshots that remain), or damaged.
          ARROW_ASSIGN_OR_RAISE(bool still, fs_->Exists(snaps.SnapshotPath(id)));
          if (still) return Status::IOError("live blobs: ", s.status().message());
        }
      }
      ARROW_ASSIGN_OR_RAISE(auto tags, snaps.ListTags());
      for (const auto& tag : tags) {
        auto s = snaps.ReadTag(tag);
        if (s.ok()) {
          list.emplace_back(std::move(*s), true);
        } else {
          ARROW_ASSIGN_OR_RAISE(bool still, fs_->Exists(snaps.TagPath(tag)));
          if (still) return Status::IOError("live blobs: ", s.status().message());
        }
      }
      for (const auto& [s, tag] : list) {
        ARROW_RETURN_NOT_OK(ScanSnapshot(table_path, mp, schemas, s, tag));
      }
    }
    return Status::OK();
  }

  Result<const paimon::TableSchema*> Schema(table::SchemaManager& schemas, const std::string& key,
                                            int64_t id) {
    auto& slot = schemas_[key + "#" + std::to_string(id)];
    if (!slot) {
      ARROW_ASSIGN_OR_RAISE(auto s, schemas.Read(id));
      slot = std::make_unique<paimon::TableSchema>(std::move(s));
    }
    return slot.get();
  }

  Status ScanSnapshot(const std::string& table_path, const std::string& metadata_path,
                      table::SchemaManager& schemas, const paimon::Snapshot& s, bool tag) {
    ARROW_ASSIGN_OR_RAISE(const auto* schema, Schema(schemas, metadata_path, s.schema_id));
    // Only tables that can reference the store matter: a BLOB column, or an id-field option.
    bool relevant = false;
    for (const auto& f : schema->fields) relevant |= f.type->root == paimon::TypeRoot::kBlob;
    for (const auto& [k, v] : schema->options) relevant |= k.rfind(kBlobIdField, 0) == 0;
    if (!relevant) return Status::OK();
    table::ManifestIO manifests(fs_, table_path, paimon::AvroCodec::kZstd,
                                table::PartitionTypes(*schema));
    auto live = manifests.LiveEntries(s);
    if (!live.ok()) {
      // A snapshot expired while being read is gone with its manifests; any other failure
      // could hide references.
      if (!tag) {
        ARROW_ASSIGN_OR_RAISE(bool still, fs_->Exists(table::SnapshotManager(fs_, metadata_path)
                                                           .SnapshotPath(s.id)));
        if (!still) return Status::OK();
      }
      return Status::IOError("live blobs: table ", table_path, " snapshot ", s.id, ": ",
                             live.status().message());
    }
    for (const auto& e : *live) {
      if (EndsWith(e.file.file_name, paimon::kBlobFileExtension)) continue;  // bytes in the table
      ARROW_ASSIGN_OR_RAISE(const auto* fschema, Schema(schemas, metadata_path, e.file.schema_id));
      ARROW_ASSIGN_OR_RAISE(std::string path, table::DataFilePath(*fschema, table_path, e));
      if (!seen_files_.insert(path).second) continue;
      ARROW_RETURN_NOT_OK(ScanFile(*fschema, e, path));
    }
    return Status::OK();
  }

  Status ScanFile(const paimon::TableSchema& schema, const paimon::ManifestEntry& e,
                  const std::string& path) {
    auto written = [&](const std::string& name) {
      return !e.file.write_cols || std::find(e.file.write_cols->begin(), e.file.write_cols->end(),
                                             name) != e.file.write_cols->end();
    };
    std::vector<std::string> id_columns, descriptor_columns;
    for (const auto& [k, v] : schema.options) {
      if (k.rfind(kBlobIdField, 0) == 0 && schema.FieldIndex(v) >= 0 && written(v)) {
        id_columns.push_back(v);
      }
    }
    for (const auto& name : SplitNames(schema.Option(paimon::kBlobDescriptorFieldOption, ""))) {
      int i = schema.FieldIndex(name);
      if (i >= 0 && schema.fields[i].type->root == paimon::TypeRoot::kBlob && written(name)) {
        descriptor_columns.push_back(name);
      }
    }
    if (id_columns.empty() && descriptor_columns.empty()) return Status::OK();
    std::vector<std::string> columns = id_columns;
    columns.insert(columns.end(), descriptor_columns.begin(), descriptor_columns.end());
    std::string format = paimon::FormatFromFileName(e.file.file_name);
    if (format.empty()) format = schema.Option("file.format", "parquet");
    auto table = paimon::ReadDataFile(*fs_, path, format, columns);
    if (!table.ok()) {
      return Status::IOError("live blobs: cannot read ", path, ": ", table.status().message());
    }
    for (const auto& name : id_columns) {
      auto col = (*table)->GetColumnByName(name);
      if (!col) continue;
      for (const auto& chunk : col->chunks()) {
        if (chunk->type_id() != arrow::Type::STRING) continue;
        const auto& s = static_cast<const arrow::StringArray&>(*chunk);
        for (int64_t r = 0; r < s.length(); ++r) {
          if (s.IsNull(r)) continue;
          auto id = BlobId::Parse(s.GetView(r));
          if (id.ok()) add_(*id);
        }
      }
    }
    for (const auto& name : descriptor_columns) {
      auto col = (*table)->GetColumnByName(name);
      if (!col) continue;
      for (const auto& chunk : col->chunks()) {
        if (chunk->type_id() != arrow::Type::BINARY) continue;
        const auto& b = static_cast<const arrow::BinaryArray&>(*chunk);
        for (int64_t r = 0; r < b.length(); ++r) {
          if (b.IsNull(r)) continue;
          auto d = paimon::BlobDescriptor::Parse(b.GetView(r));
          if (!d.ok()) continue;
          ARROW_RETURN_NOT_OK(AddDescriptor(*d));
        }
      }
    }
    return Status::OK();
  }

  Status AddDescriptor(const paimon::BlobDescriptor& d) {
    if (d.uri.rfind(table::kBlobIdUriPrefix, 0) == 0) {
      auto id = BlobId::Parse(d.uri.substr(std::string(table::kBlobIdUriPrefix).size()));
      if (id.ok()) add_(*id);
      return Status::OK();
    }
    PackId pack;
    if (!ParsePackFileName(BaseName(d.uri), &pack)) return Status::OK();  // not in the store
    if (!by_location_) {
      // Pack ranges back to blobs: every location of every blob's first chunk.
      by_location_.emplace();
      ARROW_ASSIGN_OR_RAISE(auto layout, StoreLayout::Open(fs_, root_, options_.tier_locations));
      LoadedIndex li;
      ARROW_RETURN_NOT_OK(LoadSegments(layout, {}, /*lenient=*/false, &li));
      for (const auto& [id, rec] : li.index.blobs()) {
        if (rec.chunks.empty()) continue;
        for (const auto& loc : li.index.chunks()[rec.chunks[0]].locs) {
          (*by_location_)[{loc.pack, loc.offset}].push_back(id);
        }
      }
    }
    auto it = by_location_->find({pack, static_cast<uint64_t>(d.offset)});
    if (it != by_location_->end()) {
      for (const auto& id : it->second) add_(id);
    }
    return Status::OK();
  }

  std::shared_ptr<fs::FileSystem> fs_;
  std::string root_;
  BlobStoreOptions options_;
  const std::function<void(const BlobId&)>& add_;
  std::set<std::string> seen_files_;
  std::map<std::string, std::unique_ptr<paimon::TableSchema>> schemas_;
  std::optional<std::map<std::pair<PackId, uint64_t>, std::vector<BlobId>>> by_location_;
};

}  // namespace

Status CollectLiveBlobs(const std::shared_ptr<fs::FileSystem>& fs,
                        const std::string& warehouse_root,
                        const std::function<void(const BlobId&)>& add,
                        const BlobStoreOptions& options) {
  LiveScanner scanner(fs, warehouse_root, options, add);
  return scanner.ScanWarehouse();
}

}  // namespace millpond::blob
