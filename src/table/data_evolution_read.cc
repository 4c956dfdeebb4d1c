// Data-evolution reads: merge groups by row-id range, columns from the newest file holding them.
#include "data_evolution_read.h"

#include <algorithm>

#include <arrow/array.h>
#include <arrow/chunked_array.h>
#include <arrow/record_batch.h>
#include <arrow/table.h>

#include "blob_columns.h"
#include "file_reader.h"
#include "millpond/table/manifest_io.h"

namespace millpond::table {
namespace {

int64_t FirstRowId(const paimon::ManifestEntry& e) { return e.file.first_row_id.value_or(-1); }
int64_t LastRowId(const paimon::ManifestEntry& e) {
  return FirstRowId(e) + e.file.row_count - 1;
}

// The file's schema restricted to the columns it wrote (_WRITE_COLS; absent: all).
paimon::TableSchema WrittenSchema(const paimon::TableSchema& file_schema,
                                  const paimon::ManifestEntry& e) {
  if (!e.file.write_cols) return file_schema;
  paimon::TableSchema out = file_schema;
  out.fields.clear();
  for (const auto& f : file_schema.fields) {
    if (std::find(e.file.write_cols->begin(), e.file.write_cols->end(), f.name) !=
        e.file.write_cols->end()) {
      out.fields.push_back(f);
    }
  }
  return out;
}

// Files that together provide some columns for the whole group: one data file, or the run of
// `.blob` files of one BLOB field (Paimon's DataBunch / SpecialFieldBunch).
struct Bunch {
  std::vector<const paimon::ManifestEntry*> files;
  std::vector<int32_t> field_ids;  // what the bunch wrote
  int64_t rows = 0;
  bool blob = false;
};

Result<const paimon::TableSchema*> SchemaFor(const std::map<int64_t, paimon::TableSchema>& schemas,
                                             int64_t id) {
  auto it = schemas.find(id);
  if (it == schemas.end()) return Status::IOError("schema ", id, " not loaded");
  return &it->second;
}

}  // namespace

std::vector<std::vector<paimon::ManifestEntry>> GroupByRowIdRange(
    const std::vector<paimon::ManifestEntry>& files) {
  // Per partition and bucket, in first-seen order.
  std::vector<std::string> keys;
  std::map<std::string, std::vector<paimon::ManifestEntry>> by_bucket;
  for (const auto& e : files) {
    std::string key = e.partition + '\x01' + std::to_string(e.bucket);
    if (!by_bucket.count(key)) keys.push_back(key);
    by_bucket[key].push_back(e);
  }
  std::vector<std::vector<paimon::ManifestEntry>> out;
  for (const auto& key : keys) {
    auto& list = by_bucket[key];
    std::vector<paimon::ManifestEntry> untracked;
    std::vector<paimon::ManifestEntry> tracked;
    for (auto& e : list) (e.file.first_row_id ? tracked : untracked).push_back(std::move(e));
    for (auto& e : untracked) out.push_back({std::move(e)});
    std::stable_sort(tracked.begin(), tracked.end(), [](const auto& a, const auto& b) {
      return FirstRowId(a) < FirstRowId(b);
    });
    int64_t group_end = -1;
    for (auto& e : tracked) {
      if (out.empty() || group_end < FirstRowId(e) || !out.back().front().file.first_row_id ||
          out.back().front().partition != e.partition || out.back().front().bucket != e.bucket) {
        out.push_back({});
        group_end = LastRowId(e);
      } else {
        group_end = std::max(group_end, LastRowId(e));
      }
      out.back().push_back(std::move(e));
    }
  }
  return out;
}

Result<std::vector<std::shared_ptr<arrow::RecordBatch>>> ReadRowIdGroup(
    const fs::FileSystem& fs, const std::string& table_path, const paimon::TableSchema& schema,
    const std::map<int64_t, paimon::TableSchema>& schemas, const std::vector<int>& read_fields,
    const BoundPredicate* predicate, const std::vector<paimon::ManifestEntry>& group,
    BlobResolver* resolver) {
  // Data files newest first (all must span the same rows); blob files by first row id, newest
  // first among equals.
  std::vector<const paimon::ManifestEntry*> data, blobs;
  for (const auto& e : group) (IsBlobDataFile(e) ? blobs : data).push_back(&e);
  std::stable_sort(data.begin(), data.end(), [](auto* a, auto* b) {
    return a->file.max_sequence_number > b->file.max_sequence_number;
  });
  std::stable_sort(blobs.begin(), blobs.end(), [](auto* a, auto* b) {
    if (FirstRowId(*a) != FirstRowId(*b)) return FirstRowId(*a) < FirstRowId(*b);
    return a->file.max_sequence_number > b->file.max_sequence_number;
  });
  for (const auto* d : data) {
    if (FirstRowId(*d) != FirstRowId(*data[0]) || d->file.row_count != data[0]->file.row_count) {
      return Status::IOError("table ", table_path, ": data files ", data[0]->file.file_name,
                             " and ", d->file.file_name,
                             " overlap in row ids but do not span the same rows");
    }
  }
  std::vector<Bunch> bunches;
  for (const auto* d : data) {
    ARROW_ASSIGN_OR_RAISE(const auto* fschema, SchemaFor(schemas, d->file.schema_id));
    Bunch b;
    b.files = {d};
    b.rows = d->file.row_count;
    for (const auto& f : WrittenSchema(*fschema, *d).fields) b.field_ids.push_back(f.id);
    bunches.push_back(std::move(b));
  }
  const int64_t group_rows = data.empty() ? -1 : data[0]->file.row_count;
  const int64_t group_first = data.empty() ? (blobs.empty() ? 0 : FirstRowId(*blobs[0]))
                                           : FirstRowId(*data[0]);
  std::map<int32_t, Bunch> blob_bunches;
  std::map<int32_t, int64_t> next_row;  // per blob field: the row id the run continues at
  for (const auto* b : blobs) {
    ARROW_ASSIGN_OR_RAISE(const auto* fschema, SchemaFor(schemas, b->file.schema_id));
    if (!b->file.write_cols || b->file.write_cols->size() != 1) {
      return Status::IOError("table ", table_path, ": blob file ", b->file.file_name,
                             " must name exactly one column in _WRITE_COLS");
    }
    int fi = fschema->FieldIndex(b->file.write_cols->front());
    if (fi < 0) {
      return Status::IOError("table ", table_path, ": blob file ", b->file.file_name,
                             " writes unknown column ", b->file.write_cols->front());
    }
    int32_t id = fschema->fields[fi].id;
    auto& bunch = blob_bunches[id];
    bunch.blob = true;
    bunch.field_ids = {id};
    auto it = next_row.find(id);
    if (it != next_row.end()) {
      if (FirstRowId(*b) < it->second) continue;  // an older file for rows already covered
      if (FirstRowId(*b) > it->second) {
        return Status::IOError("table ", table_path, ": blob files of column ",
                               fschema->fields[fi].name, " skip row ids ", it->second, "..",
                               FirstRowId(*b) - 1, " (at ", b->file.file_name, ")");
      }
    } else if (FirstRowId(*b) != group_first) {
      return Status::IOError("table ", table_path, ": blob file ", b->file.file_name,
                             " starts at row id ", FirstRowId(*b), ", not at ", group_first);
    }
    bunch.files.push_back(b);
    bunch.rows += b->file.row_count;
    next_row[id] = FirstRowId(*b) + b->file.row_count;
  }
  for (auto& [id, bunch] : blob_bunches) bunches.push_back(std::move(bunch));
  const int64_t rows = group_rows >= 0 ? group_rows : (bunches.empty() ? 0 : bunches[0].rows);
  for (const auto& b : bunches) {
    if (b.rows != rows) {
      return Status::IOError("table ", table_path, ": files ", b.files.front()->file.file_name,
                             "… hold ", b.rows, " rows where the group has ", rows);
    }
  }

  // Each read field from the first bunch that wrote it.
  std::vector<int> owner(read_fields.size(), -1);
  for (size_t k = 0; k < read_fields.size(); ++k) {
    int32_t id = schema.fields[read_fields[k]].id;
    for (size_t b = 0; b < bunches.size() && owner[k] < 0; ++b) {
      const auto& ids = bunches[b].field_ids;
      if (std::find(ids.begin(), ids.end(), id) != ids.end()) owner[k] = static_cast<int>(b);
    }
  }
  const bool as_descriptor = schema.Option(paimon::kBlobAsDescriptorOption, "false") == "true";
  const auto descriptor_fields = DescriptorBlobFields(schema);
  auto full = paimon::ToArrowSchema(schema.fields);
  std::vector<std::shared_ptr<arrow::ChunkedArray>> columns(read_fields.size());
  for (size_t b = 0; b < bunches.size(); ++b) {
    std::vector<int> mine;
    std::vector<size_t> slots;
    for (size_t k = 0; k < read_fields.size(); ++k) {
      if (owner[k] == static_cast<int>(b)) {
        mine.push_back(read_fields[k]);
        slots.push_back(k);
      }
    }
    if (mine.empty()) continue;
    const auto& bunch = bunches[b];
    if (bunch.blob) {
      std::vector<std::string> paths;
      std::vector<int64_t> sizes;
      for (const auto* f : bunch.files) {
        ARROW_ASSIGN_OR_RAISE(auto path, DataFilePath(schema, table_path, *f));
        paths.push_back(std::move(path));
        sizes.push_back(f->file.file_size);
      }
      ARROW_ASSIGN_OR_RAISE(columns[slots[0]], ReadBlobFiles(fs, paths, sizes, as_descriptor));
      continue;
    }
    const auto& e = *bunch.files[0];
    ARROW_ASSIGN_OR_RAISE(const auto* fschema, SchemaFor(schemas, e.file.schema_id));
    auto written = WrittenSchema(*fschema, e);
    // Descriptor BLOB columns with an id column are read by id: also read that column.
    const size_t wanted = mine.size();
    std::map<int, size_t> id_column_of;  // BLOB field index -> position of its id column in mine
    for (size_t j = 0; j < wanted && !as_descriptor; ++j) {
      const auto& field = schema.fields[mine[j]];
      if (field.type->root != paimon::TypeRoot::kBlob || !descriptor_fields.count(field.name)) {
        continue;
      }
      int id_field = BlobIdFieldIndex(schema, field.name);
      if (id_field < 0 || written.FieldIndexById(schema.fields[id_field].id) < 0) continue;
      auto at = std::find(mine.begin(), mine.end(), id_field);
      if (at == mine.end()) {
        mine.push_back(id_field);
        at = mine.end() - 1;
      }
      id_column_of[mine[j]] = static_cast<size_t>(at - mine.begin());
    }
    ARROW_ASSIGN_OR_RAISE(auto batches, ReadMappedFile(fs, table_path, schema, written, mine,
                                                       /*predicate=*/nullptr, e));
    auto column = [&](size_t j) {
      arrow::ArrayVector chunks;
      for (const auto& batch : batches) chunks.push_back(batch->column(static_cast<int>(j)));
      return std::make_shared<arrow::ChunkedArray>(chunks, full->field(mine[j])->type());
    };
    for (size_t j = 0; j < wanted; ++j) {
      auto col = column(j);
      const auto& field = schema.fields[mine[j]];
      if (field.type->root == paimon::TypeRoot::kBlob && descriptor_fields.count(field.name) &&
          !as_descriptor) {
        const std::string what = "data file " + e.file.file_name + ", column " + field.name;
        auto id_it = id_column_of.find(mine[j]);
        if (id_it != id_column_of.end()) {
          ARROW_ASSIGN_OR_RAISE(col,
                                resolver->ResolveColumnById(*col, *column(id_it->second), what));
        } else {
          ARROW_ASSIGN_OR_RAISE(col, resolver->ResolveColumn(*col, what));
        }
      }
      columns[slots[j]] = std::move(col);
    }
  }
  arrow::FieldVector fields;
  for (size_t k = 0; k < read_fields.size(); ++k) {
    const auto& target = full->field(read_fields[k]);
    if (!columns[k] && !schema.fields[read_fields[k]].type->nullable) {
      // Paimon refuses the read too ("Field … is not null but can't find any file contains it").
      return Status::IOError("table ", table_path, ": column ", schema.fields[read_fields[k]].name,
                             " is NOT NULL but no file holds it for row ids ", group_first, "..",
                             group_first + rows - 1);
    }
    if (!columns[k]) {
      ARROW_ASSIGN_OR_RAISE(auto nulls, arrow::MakeArrayOfNull(target->type(), rows));
      columns[k] = std::make_shared<arrow::ChunkedArray>(nulls);
    }
    fields.push_back(target->WithNullable(true));
  }
  auto merged = arrow::Table::Make(arrow::schema(fields), columns, rows);
  return FilteredBatches(*merged, /*chunk_rows=*/1 << 16, predicate);
}

}  // namespace millpond::table
