// RefreshDescriptors: descriptor columns rewritten by data evolution after packs moved (see the
// header).
#include "millpond/blob/descriptor_refresh.h"

#include <algorithm>

#include <arrow/array.h>
#include <arrow/array/concatenate.h>
#include <arrow/builder.h>
#include <arrow/record_batch.h>
#include <arrow/table.h>

#include "millpond/blob/blob_table.h"
#include "millpond/paimon/binary_row.h"
#include "millpond/paimon/blob_format.h"
#include "millpond/paimon/data_file.h"
#include "millpond/table/blob_reader.h"
#include "millpond/table/file_store_commit.h"
#include "millpond/table/manifest_io.h"
#include "table/data_evolution_read.h"
#include "table/stats_collector.h"

namespace millpond::blob {
namespace {

constexpr int kAttempts = 20;

// A descriptor column and the column holding its blob ids.
struct StoreColumn {
  std::string descriptors;
  std::string ids;
};

std::vector<StoreColumn> StoreColumns(const paimon::TableSchema& schema) {
  std::vector<StoreColumn> out;
  for (const auto& name : paimon::SplitNames(schema.Option(paimon::kBlobDescriptorFieldOption, ""))) {
    const std::string ids = schema.Option(table::kBlobIdFieldOptionPrefix + name, "");
    int d = schema.FieldIndex(name);
    if (ids.empty() || d < 0 || schema.FieldIndex(ids) < 0) continue;
    if (schema.fields[d].type->root != paimon::TypeRoot::kBlob) continue;
    out.push_back({name, ids});
  }
  return out;
}

bool IsBlobFile(const paimon::ManifestEntry& e) {
  const std::string ext = paimon::kBlobFileExtension;
  const auto& n = e.file.file_name;
  return n.size() > ext.size() && n.compare(n.size() - ext.size(), ext.size(), ext) == 0;
}

class TableRefresh {
 public:
  TableRefresh(const table::Table& table, DescriptorMaker* maker, RefreshResult* result)
      : t_(table), fs_(table.file_system()), maker_(maker), result_(result) {}

  Status Run() {
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
      written_.clear();
      ARROW_ASSIGN_OR_RAISE(auto latest, t_.snapshots().LatestSnapshotId());
      if (!latest) return Status::OK();
      ARROW_ASSIGN_OR_RAISE(auto snapshot, t_.snapshots().ReadSnapshot(*latest));
      ARROW_ASSIGN_OR_RAISE(schema_, t_.schemas().Read(snapshot.schema_id));
      const auto columns = StoreColumns(schema_);
      if (columns.empty()) return Status::OK();
      if (attempt == 0) ++result_->tables;
      std::vector<paimon::ManifestEntry> changes;
      int64_t rows_changed = 0;
      ARROW_RETURN_NOT_OK(Plan(snapshot, columns, &changes, &rows_changed));
      if (changes.empty()) return Status::OK();
      table::CommitOptions co;
      co.commit_kind = "COMPACT";
      co.properties["millpond.blob.relink"] = std::to_string(rows_changed);
      const int64_t base = snapshot.id;
      co.precondition = [base](const paimon::Snapshot* now) {
        if (now && now->id == base) return Status::OK();
        return Status::Cancelled("the table changed meanwhile");
      };
      auto committed = t_.Commit(changes, co);
      if (committed.ok()) {
        result_->rows_changed += rows_changed;
        result_->files_written += static_cast<int64_t>(written_.size());
        result_->committed.push_back(t_.name() + "@" + std::to_string(*committed));
        return Status::OK();
      }
      for (const auto& p : written_) (void)fs_->DeleteFile(p);
      // A lost race (precondition, or a superseded file deleted meanwhile): plan again.
      if (!committed.status().IsCancelled()) return committed.status();
    }
    return Status::IOError("relinking blob descriptors of ", t_.name(), " lost ", kAttempts,
                           " commit races in a row; run it again");
  }

 private:
  Result<const paimon::TableSchema*> SchemaOf(int64_t id) {
    auto it = schemas_.find(id);
    if (it == schemas_.end()) {
      ARROW_ASSIGN_OR_RAISE(auto s, t_.schemas().Read(id));
      it = schemas_.emplace(id, std::move(s)).first;
    }
    return &it->second;
  }

  Result<bool> Writes(const paimon::ManifestEntry& e, const std::string& column) {
    if (e.file.write_cols) {
      return std::find(e.file.write_cols->begin(), e.file.write_cols->end(), column) !=
             e.file.write_cols->end();
    }
    ARROW_ASSIGN_OR_RAISE(const auto* s, SchemaOf(e.file.schema_id));
    return s->FieldIndex(column) >= 0;
  }

  // The newest data file of `group` holding `column` (data files of a group span the same rows).
  Result<const paimon::ManifestEntry*> Owner(const std::vector<paimon::ManifestEntry>& group,
                                             const std::string& column) {
    const paimon::ManifestEntry* best = nullptr;
    for (const auto& e : group) {
      ARROW_ASSIGN_OR_RAISE(bool w, Writes(e, column));
      if (w && (!best || e.file.max_sequence_number > best->file.max_sequence_number)) best = &e;
    }
    return best;
  }

  Result<std::shared_ptr<arrow::Array>> ReadColumn(const paimon::ManifestEntry& e,
                                                   const std::string& column) {
    ARROW_ASSIGN_OR_RAISE(const auto* s, SchemaOf(e.file.schema_id));
    ARROW_ASSIGN_OR_RAISE(std::string path, table::DataFilePath(*s, t_.path(), e));
    std::string format = paimon::FormatFromFileName(e.file.file_name);
    if (format.empty()) format = s->Option("file.format", "parquet");
    ARROW_ASSIGN_OR_RAISE(auto t, paimon::ReadDataFile(*fs_, path, format, {column}));
    auto col = t->GetColumnByName(column);
    if (!col) return Status::IOError("data file ", path, " lacks column ", column);
    if (col->num_chunks() == 1) return col->chunk(0);
    return arrow::Concatenate(col->chunks());
  }

  Status Plan(const paimon::Snapshot& snapshot, const std::vector<StoreColumn>& columns,
              std::vector<paimon::ManifestEntry>* changes, int64_t* rows_changed) {
    table::ManifestIO manifests(fs_, t_.path(), paimon::AvroCodec::kZstd,
                                table::PartitionTypes(schema_));
    ARROW_ASSIGN_OR_RAISE(auto live, manifests.LiveEntries(snapshot));
    std::vector<paimon::ManifestEntry> data;
    for (auto& e : live) {
      if (!IsBlobFile(e)) data.push_back(std::move(e));
    }
    for (const auto& group : table::GroupByRowIdRange(data)) {
      if (!group.front().file.first_row_id) continue;  // no row tracking: nothing to update by
      for (const auto& col : columns) {
        ARROW_ASSIGN_OR_RAISE(const auto* owner, Owner(group, col.descriptors));
        ARROW_ASSIGN_OR_RAISE(const auto* id_owner, Owner(group, col.ids));
        if (!owner || !id_owner) continue;
        ARROW_ASSIGN_OR_RAISE(auto descriptors, ReadColumn(*owner, col.descriptors));
        ARROW_ASSIGN_OR_RAISE(auto ids, ReadColumn(*id_owner, col.ids));
        if (descriptors->type_id() != arrow::Type::BINARY ||
            ids->type_id() != arrow::Type::STRING || descriptors->length() != ids->length() ||
            descriptors->length() != owner->file.row_count) {
          return Status::IOError("table ", t_.name(), ": files ", owner->file.file_name, " and ",
                                 id_owner->file.file_name, " do not line up as columns ",
                                 col.descriptors, " and ", col.ids);
        }
        int64_t changed = 0;
        ARROW_ASSIGN_OR_RAISE(
            auto fresh, Fresh(static_cast<const arrow::BinaryArray&>(*descriptors),
                              static_cast<const arrow::StringArray&>(*ids), &changed));
        if (changed == 0) continue;
        ARROW_ASSIGN_OR_RAISE(auto added, WriteColumn(*owner, group, col.descriptors, fresh));
        changes->push_back(std::move(added));
        // The descriptor-only file this one supersedes goes in the same commit.
        if (owner->file.write_cols && owner->file.write_cols->size() == 1) {
          paimon::ManifestEntry gone = *owner;
          gone.kind = paimon::FileKind::kDelete;
          changes->push_back(std::move(gone));
        }
        *rows_changed += changed;
      }
    }
    return Status::OK();
  }

  // The descriptor column as the store places the blobs now.
  Result<std::shared_ptr<arrow::Array>> Fresh(const arrow::BinaryArray& descriptors,
                                              const arrow::StringArray& ids, int64_t* changed) {
    arrow::BinaryBuilder out;
    for (int64_t r = 0; r < descriptors.length(); ++r) {
      if (descriptors.IsNull(r)) {
        ARROW_RETURN_NOT_OK(out.AppendNull());
        continue;
      }
      const std::string_view bytes = descriptors.GetView(r);
      auto d = paimon::BlobDescriptor::Parse(bytes);
      auto id = ids.IsNull(r) ? Result<BlobId>(Status::Invalid("null id"))
                              : BlobId::Parse(ids.GetView(r));
      // Id uris (compressed or split blobs) and values that are not the store's stay as they are.
      if (!d.ok() || !id.ok() || d->uri.rfind(table::kBlobIdUriPrefix, 0) == 0) {
        ARROW_RETURN_NOT_OK(out.Append(bytes));
        continue;
      }
      ARROW_ASSIGN_OR_RAISE(auto now, maker_->Describe(*id, d->length));
      if (now == *d) {
        ARROW_RETURN_NOT_OK(out.Append(bytes));
      } else {
        ++*changed;
        ARROW_RETURN_NOT_OK(out.Append(now.Serialize()));
      }
    }
    return out.Finish();
  }

  Result<paimon::ManifestEntry> WriteColumn(const paimon::ManifestEntry& owner,
                                            const std::vector<paimon::ManifestEntry>& group,
                                            const std::string& column,
                                            const std::shared_ptr<arrow::Array>& values) {
    const paimon::DataField& field = schema_.fields[schema_.FieldIndex(column)];
    paimon::ManifestEntry e;
    e.kind = paimon::FileKind::kAdd;
    e.partition = owner.partition;
    e.bucket = owner.bucket;
    e.total_buckets = owner.total_buckets;
    auto& f = e.file;
    f.file_name = "data-" + table::NewUuid() + "-0.parquet";
    ARROW_ASSIGN_OR_RAISE(std::string path, table::DataFilePath(schema_, t_.path(), e));
    auto batch = arrow::RecordBatch::Make(
        arrow::schema({arrow::field(field.name, arrow::binary())}), values->length(), {values});
    paimon::ParquetWriteOptions opts;
    opts.compression = schema_.Option("file.compression", "zstd");
    ARROW_ASSIGN_OR_RAISE(auto writer,
                          paimon::ParquetDataFileWriter::Open(*fs_, path, {field}, opts));
    written_.push_back(path);
    table::StatsCollector stats({field});
    ARROW_RETURN_NOT_OK(writer->Write(*batch));
    ARROW_RETURN_NOT_OK(stats.Update(*batch));
    ARROW_ASSIGN_OR_RAISE(f.file_size, writer->Finish());
    ARROW_ASSIGN_OR_RAISE(auto min_max, writer->FooterMinMax());
    ARROW_ASSIGN_OR_RAISE(f.value_stats, stats.Finish(min_max));
    f.row_count = values->length();
    f.min_key = paimon::EmptySerializedBinaryRow();
    f.max_key = paimon::EmptySerializedBinaryRow();
    f.key_stats = paimon::SimpleStats::Empty();
    // Newer than every file of its rows: readers take each column from the newest file holding it.
    int64_t newest = 0;
    for (const auto& g : group) newest = std::max(newest, g.file.max_sequence_number);
    f.min_sequence_number = newest + 1;
    f.max_sequence_number = newest + 1;
    f.schema_id = schema_.id;
    f.level = 0;
    f.creation_time_millis = table::CreationTimeMillis();
    f.delete_row_count = 0;
    f.file_source = static_cast<int32_t>(paimon::FileSource::kAppend);
    f.first_row_id = owner.file.first_row_id;
    f.write_cols = std::vector<std::string>{field.name};
    f.value_stats_cols = std::vector<std::string>{field.name};
    return e;
  }

  const table::Table& t_;
  std::shared_ptr<fs::FileSystem> fs_;
  DescriptorMaker* maker_;
  RefreshResult* result_;
  paimon::TableSchema schema_;
  std::map<int64_t, paimon::TableSchema> schemas_;
  std::vector<std::string> written_;  // files of the current attempt
};

}  // namespace

Result<RefreshResult> RefreshDescriptors(const table::Catalog& catalog,
                                         const BlobStoreOptions& options) {
  RefreshResult result;
  std::unique_ptr<DescriptorMaker> maker;
  ARROW_ASSIGN_OR_RAISE(auto dbs, catalog.ListDatabases());
  for (const auto& db : dbs) {
    ARROW_ASSIGN_OR_RAISE(auto tables, catalog.ListTables(db));
    for (const auto& name : tables) {
      ARROW_ASSIGN_OR_RAISE(auto t, catalog.GetTable(db + "." + name));
      ARROW_ASSIGN_OR_RAISE(auto schema, t->LatestSchema());
      if (StoreColumns(schema).empty()) continue;
      if (!maker) {
        ARROW_ASSIGN_OR_RAISE(maker, DescriptorMaker::Make(catalog.file_system(), catalog.root(),
                                                           options));
        ARROW_RETURN_NOT_OK(maker->Refresh());
      }
      ARROW_RETURN_NOT_OK(TableRefresh(*t, maker.get(), &result).Run());
      // Branches hold descriptors of their own (their snapshots share data files with main
      // only up to where they forked): each is re-pointed on its own snapshot line.
      ARROW_ASSIGN_OR_RAISE(auto branches, t->ListBranches());
      for (const auto& b : branches) {
        ARROW_ASSIGN_OR_RAISE(auto bt, t->OnBranch(b));
        ARROW_ASSIGN_OR_RAISE(auto bschema, bt->LatestSchema());
        if (StoreColumns(bschema).empty()) continue;
        ARROW_RETURN_NOT_OK(TableRefresh(*bt, maker.get(), &result).Run());
      }
    }
  }
  return result;
}

}  // namespace millpond::blob
