// Reading the key-value files of a primary-key bucket: one file with schema evolution, deletion
// vectors and key-filter pruning; a bucket's files split into key-disjoint sections, each read
// straight through or merged (merge_read.cc). Declarations in millpond/table/merge_read.h.
#include <algorithm>
#include <numeric>
#include <optional>

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include "deletion_vector.h"
#include "evolution_cast.h"
#include "predicate_internal.h"
#include "millpond/paimon/binary_row.h"
#include "millpond/paimon/data_file.h"
#include "millpond/table/merge_read.h"
#include "millpond/table/predicate.h"
#include "kv_merge_stream.h"

namespace millpond::table {
namespace {

constexpr const char* kSequenceNumber = "_SEQUENCE_NUMBER";
constexpr const char* kValueKind = "_VALUE_KIND";

bool IsRetract(RowKind k) { return k == RowKind::kUpdateBefore || k == RowKind::kDelete; }

// --- reading one data file ---------------------------------------------------------------------

}  // namespace

Result<KeyValueFilePlan> PlanKeyValueFile(const std::string& table_path,
                                          const paimon::TableSchema& schema,
                                          const std::map<int64_t, paimon::TableSchema>& schemas,
                                          const paimon::ManifestEntry& e) {
  auto fit = schemas.find(e.file.schema_id);
  if (fit == schemas.end()) {
    return Status::Invalid("data file ", e.file.file_name, ": schema ", e.file.schema_id,
                           " not loaded");
  }
  const paimon::TableSchema& file_schema = fit->second;
  KeyValueFilePlan plan;
  plan.level = e.file.level;
  plan.row_count = e.file.row_count;
  ARROW_ASSIGN_OR_RAISE(plan.path, DataFilePath(schema, table_path, e));
  plan.format = paimon::FormatFromFileName(e.file.file_name);
  if (plan.format.empty()) plan.format = file_schema.Option("file.format", "parquet");
  plan.columns = {kSequenceNumber, kValueKind};
  for (const auto& f : schema.fields) {
    int fi = file_schema.FieldIndexById(f.id);
    plan.file_fields.push_back(fi >= 0 ? &file_schema.fields[fi] : nullptr);
    if (fi < 0) continue;
    const auto& ff = file_schema.fields[fi];
    plan.columns.push_back(ff.name);
    plan.nanos = plan.nanos || ((ff.type->root == paimon::TypeRoot::kTimestamp ||
                                 ff.type->root == paimon::TypeRoot::kLocalZonedTimestamp) &&
                                ff.type->precision > 6);
  }
  return plan;
}

Result<KeyValueRows> ToKeyValueRows(const std::shared_ptr<arrow::Table>& read,
                                    const KeyValueFilePlan& plan,
                                    const paimon::TableSchema& schema, arrow::MemoryPool* pool) {
  const auto& path = plan.path;
  const auto& file_fields = plan.file_fields;
  // The merge indexes rows of one chunk; a file read straight through keeps its row groups'
  // chunks (no copy).
  std::shared_ptr<arrow::Table> table = read;
  if (plan.with_sequence) {
    ARROW_ASSIGN_OR_RAISE(table, read->CombineChunks(pool));
  }
  const int64_t rows = table->num_rows();
  KeyValueRows out;
  out.level = plan.level;
  auto seq_col = table->GetColumnByName(kSequenceNumber);
  auto kind_col = table->GetColumnByName(kValueKind);
  if ((!seq_col && plan.with_sequence) || !kind_col) {
    return Status::Invalid("data file ", path, " lacks ", kSequenceNumber, " or ", kValueKind,
                           "; is it a primary-key data file?");
  }
  arrow::compute::ExecContext ctx(pool);
  out.sequence_numbers.reserve(rows);
  out.kinds.reserve(rows);
  if (rows > 0) {
    if (plan.with_sequence) {
      ARROW_ASSIGN_OR_RAISE(auto seq_datum,
                            arrow::compute::Cast(seq_col, arrow::int64(),
                                                 arrow::compute::CastOptions::Safe(), &ctx));
      auto seq = std::static_pointer_cast<arrow::Int64Array>(seq_datum.chunked_array()->chunk(0));
      out.sequence_numbers.assign(seq->raw_values(), seq->raw_values() + rows);
    } else {
      out.sequence_numbers.assign(static_cast<size_t>(rows), 0);
    }
    ARROW_ASSIGN_OR_RAISE(auto kind_datum, arrow::compute::Cast(kind_col, arrow::int8(),
                                                                arrow::compute::CastOptions::Safe(),
                                                                &ctx));
    for (const auto& chunk : kind_datum.chunked_array()->chunks()) {
      const auto& kinds = static_cast<const arrow::Int8Array&>(*chunk);
      for (int64_t i = 0; i < kinds.length(); ++i) {
        int8_t k = kinds.Value(i);
        if (k < 0 || k > 3) return Status::Invalid("data file ", path, ": bad _VALUE_KIND ", int{k});
        out.kinds.push_back(static_cast<RowKind>(k));
      }
    }
  }
  auto target = KeyValueOutputSchema(schema);
  arrow::ChunkedArrayVector cols;
  for (size_t k = 0; k < schema.fields.size(); ++k) {
    const auto& tf = target->field(static_cast<int>(k));
    std::shared_ptr<arrow::ChunkedArray> col;
    if (file_fields[k]) col = table->GetColumnByName(file_fields[k]->name);
    if (!col) {
      ARROW_ASSIGN_OR_RAISE(auto nulls, arrow::MakeArrayOfNull(tf->type(), rows, pool));
      col = std::make_shared<arrow::ChunkedArray>(nulls);
    } else if (file_fields[k]->type->ToString() != schema.fields[k].type->ToString()) {
      auto cast = CastForEvolution(col, *file_fields[k]->type, *schema.fields[k].type);
      if (!cast.ok()) {
        return Status::IOError("data file ", path, ": column ", file_fields[k]->name,
                               " cannot be read as ", tf->type()->ToString(), ": ",
                               cast.status().message());
      }
      col = *cast;
    } else if (!col->type()->Equals(*tf->type())) {
      auto cast = arrow::compute::Cast(col, tf->type(), arrow::compute::CastOptions::Unsafe(), &ctx);
      if (!cast.ok()) {
        return Status::IOError("data file ", path, ": column ", file_fields[k]->name,
                               " cannot be read as ", tf->type()->ToString(), ": ",
                               cast.status().message());
      }
      col = cast->chunked_array();
    }
    cols.push_back(col);
  }
  out.values = arrow::Table::Make(target, cols, rows);
  return out;
}

namespace {

// Reads one key-value file as rows of `schema`. With `key_filter` (a predicate on primary-key
// columns only), row groups whose key statistics miss it are skipped and non-matching rows are
// dropped: every version of a key shares the key, so this never changes a merge's outcome.
Result<KeyValueRows> ReadKeyValueFile(const fs::FileSystem& fs, const std::string& table_path,
                                      const paimon::TableSchema& schema,
                                      const std::map<int64_t, paimon::TableSchema>& schemas,
                                      const paimon::ManifestEntry& e,
                                      const std::vector<uint32_t>* deleted,
                                      const BoundPredicate* key_filter = nullptr,
                                      bool with_sequence = true) {
  ARROW_ASSIGN_OR_RAISE(auto plan, PlanKeyValueFile(table_path, schema, schemas, e));
  if (!with_sequence) {
    plan.with_sequence = false;
    plan.columns.erase(std::remove(plan.columns.begin(), plan.columns.end(), kSequenceNumber),
                       plan.columns.end());
  }
  const auto& path = plan.path;
  const auto& file_fields = plan.file_fields;
  paimon::RowGroupFilter keep;
  if (key_filter) {
    keep = [&](const paimon::ColumnRangeLookup& ranges) {
      StatsView view = [&](const std::string& column) -> std::optional<ColumnStats> {
        int k = schema.FieldIndex(column);
        if (k < 0 || !file_fields[k] ||
            file_fields[k]->type->ToString() != schema.fields[k].type->ToString()) {
          return std::nullopt;
        }
        auto r = ranges(file_fields[k]->name);
        if (!r) return std::nullopt;
        ColumnStats cs;
        cs.min = r->min;
        cs.max = r->max;
        cs.null_count = r->null_count;
        cs.row_count = r->row_count;
        return cs;
      };
      return MayMatch(*key_filter, view);
    };
  }
  ARROW_ASSIGN_OR_RAISE(auto read, paimon::ReadDataFileFiltered(fs, path, plan.format,
                                                                plan.columns, plan.nanos, keep));
  if (read.file_rows != e.file.row_count) {
    return Status::IOError("data file ", path, " has ", read.file_rows,
                           " rows but the manifest says ", e.file.row_count);
  }
  ARROW_ASSIGN_OR_RAISE(KeyValueRows out,
                        ToKeyValueRows(read.table, plan, schema, arrow::default_memory_pool()));
  const int64_t rows = out.values->num_rows();
  const bool has_deleted = deleted && !deleted->empty();
  if (!has_deleted && !key_filter) return out;
  // One mask: deletion-vector positions (file row positions, mapped through the kept row groups)
  // and the key filter.
  std::vector<uint8_t> keep_row(rows, 1);
  if (has_deleted) {
    int64_t i = 0;
    for (const auto& [first, n] : read.kept_ranges) {
      auto d = std::lower_bound(deleted->begin(), deleted->end(), static_cast<uint32_t>(first));
      for (; d != deleted->end() && *d < first + n; ++d) keep_row[i + (*d - first)] = 0;
      i += n;
    }
  }
  if (key_filter && rows > 0) {
    ARROW_ASSIGN_OR_RAISE(auto batch, out.values->CombineChunksToBatch());
    ARROW_ASSIGN_OR_RAISE(auto mask, EvaluateMask(*key_filter, *batch));
    const auto& m = static_cast<const arrow::BooleanArray&>(*mask);
    for (int64_t i = 0; i < rows; ++i) keep_row[i] &= m.Value(i) ? 1 : 0;
  }
  arrow::BooleanBuilder keep_builder;
  ARROW_RETURN_NOT_OK(keep_builder.Reserve(rows));
  std::vector<int64_t> seqs;
  std::vector<RowKind> ks;
  for (int64_t i = 0; i < rows; ++i) {
    keep_builder.UnsafeAppend(keep_row[i] != 0);
    if (keep_row[i]) {
      seqs.push_back(out.sequence_numbers[i]);
      ks.push_back(out.kinds[i]);
    }
  }
  if (static_cast<int64_t>(seqs.size()) == rows) return out;
  ARROW_ASSIGN_OR_RAISE(auto mask, keep_builder.Finish());
  ARROW_ASSIGN_OR_RAISE(auto filtered, arrow::compute::Filter(out.values, mask));
  ARROW_ASSIGN_OR_RAISE(out.values, filtered.table()->CombineChunks());
  out.sequence_numbers = std::move(seqs);
  out.kinds = std::move(ks);
  return out;
}

}  // namespace

Result<KeyValueRows> ReadKeyValueRows(const fs::FileSystem& fs, const std::string& table_path,
                                      const paimon::TableSchema& schema,
                                      const std::map<int64_t, paimon::TableSchema>& schemas,
                                      const paimon::ManifestEntry& entry,
                                      const std::vector<uint32_t>* deleted) {
  return ReadKeyValueFile(fs, table_path, schema, schemas, entry, deleted);
}

bool SkipsLevelZero(const paimon::TableSchema& schema) {
  return schema.Option("deletion-vectors.enabled", "false") == "true" ||
         schema.Option("merge-engine", "deduplicate") == "first-row";
}

namespace {

// A file's key range, deserialized; empty when unknown (then it overlaps everything).
struct KeyRange {
  std::vector<std::shared_ptr<arrow::Scalar>> min, max;
};

std::optional<int> CompareKeyRows(const std::vector<std::shared_ptr<arrow::Scalar>>& a,
                                  const std::vector<std::shared_ptr<arrow::Scalar>>& b) {
  if (a.size() != b.size() || a.empty()) return std::nullopt;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!a[i] || !b[i] || !a[i]->is_valid || !b[i]->is_valid) return std::nullopt;
    auto c = internal::CompareScalars(*a[i], *b[i]);
    if (!c) return std::nullopt;
    if (*c != 0) return c;
  }
  return 0;
}

// Splits a bucket's files into sections whose key ranges overlap within and not across, in key
// order (Paimon's IntervalPartition). Files with unknown or incomparable key ranges put everything
// in one section.
std::vector<std::vector<size_t>> KeySections(const paimon::TableSchema& schema,
                                             const std::vector<const paimon::ManifestEntry*>& files) {
  std::vector<size_t> all(files.size());
  std::iota(all.begin(), all.end(), 0);
  if (files.size() <= 1) return {all};
  std::vector<paimon::DataTypePtr> key_types;
  for (const auto& k : schema.primary_keys) {
    int i = schema.FieldIndex(k);
    if (i < 0) return {all};
    key_types.push_back(schema.fields[i].type);
  }
  std::vector<KeyRange> ranges(files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    auto mn = paimon::DeserializeBinaryRow(files[i]->file.min_key, key_types);
    auto mx = paimon::DeserializeBinaryRow(files[i]->file.max_key, key_types);
    if (!mn.ok() || !mx.ok()) return {all};
    ranges[i] = {*mn, *mx};
  }
  bool comparable = true;
  std::stable_sort(all.begin(), all.end(), [&](size_t a, size_t b) {
    auto c = CompareKeyRows(ranges[a].min, ranges[b].min);
    if (!c) comparable = false;
    return c && *c < 0;
  });
  if (!comparable) {
    std::iota(all.begin(), all.end(), 0);
    return {all};
  }
  std::vector<std::vector<size_t>> sections;
  std::vector<std::shared_ptr<arrow::Scalar>> section_max;
  for (size_t i : all) {
    if (!sections.empty()) {
      auto c = CompareKeyRows(ranges[i].min, section_max);
      if (!c) {
        std::iota(all.begin(), all.end(), 0);
        return {all};
      }
      if (*c <= 0) {  // overlaps the open section
        sections.back().push_back(i);
        auto m = CompareKeyRows(ranges[i].max, section_max);
        if (!m) {
          std::iota(all.begin(), all.end(), 0);
          return {all};
        }
        if (*m > 0) section_max = ranges[i].max;
        continue;
      }
    }
    sections.push_back({i});
    section_max = ranges[i].max;
  }
  return sections;
}

// The live rows of one file that needs no merge: a file above level 0 holds each key once, so
// each row passes through as a single record does (retractions dropped).
Result<std::shared_ptr<arrow::Table>> PassThrough(KeyValueRows run) {
  bool any_retract = false;
  for (RowKind k : run.kinds) any_retract |= IsRetract(k);
  if (!any_retract) return run.values;
  arrow::BooleanBuilder keep;
  ARROW_RETURN_NOT_OK(keep.Reserve(static_cast<int64_t>(run.kinds.size())));
  for (RowKind k : run.kinds) keep.UnsafeAppend(!IsRetract(k));
  ARROW_ASSIGN_OR_RAISE(auto mask, keep.Finish());
  ARROW_ASSIGN_OR_RAISE(auto filtered, arrow::compute::Filter(run.values, mask));
  return filtered.table();
}

}  // namespace

Result<std::vector<std::shared_ptr<arrow::RecordBatch>>> ReadPrimaryKeyBucket(
    const fs::FileSystem& fs, const std::string& table_path, const paimon::TableSchema& schema,
    const std::map<int64_t, paimon::TableSchema>& schemas,
    const std::vector<paimon::ManifestEntry>& bucket_files, const DeletionVectors* dvs) {
  return ReadPrimaryKeyBucket(fs, table_path, schema, schemas, bucket_files, dvs, nullptr);
}

Result<std::vector<std::shared_ptr<arrow::RecordBatch>>> ReadPrimaryKeyBucket(
    const fs::FileSystem& fs, const std::string& table_path, const paimon::TableSchema& schema,
    const std::map<int64_t, paimon::TableSchema>& schemas,
    const std::vector<paimon::ManifestEntry>& bucket_files, const DeletionVectors* dvs,
    const BoundPredicate* key_filter) {
  const bool skip_level0 = SkipsLevelZero(schema);
  std::vector<const paimon::ManifestEntry*> files;
  for (const auto& e : bucket_files) {
    if (e.kind != paimon::FileKind::kAdd) continue;
    if (skip_level0 && e.file.level == 0) continue;
    files.push_back(&e);
  }
  auto read = [&](const paimon::ManifestEntry& e, bool merged) {
    const std::vector<uint32_t>* deleted =
        dvs ? dvs->Find(e.partition, e.bucket, e.file.file_name) : nullptr;
    return ReadKeyValueFile(fs, table_path, schema, schemas, e, deleted, key_filter, merged);
  };
  std::vector<std::shared_ptr<arrow::RecordBatch>> out;
  auto emit = [&](const std::shared_ptr<arrow::Table>& t) -> Status {
    arrow::TableBatchReader reader(*t);
    reader.set_chunksize(1 << 20);
    while (true) {
      std::shared_ptr<arrow::RecordBatch> batch;
      ARROW_RETURN_NOT_OK(reader.ReadNext(&batch));
      if (!batch) break;
      if (batch->num_rows() > 0) out.push_back(std::move(batch));
    }
    return Status::OK();
  };
  // Sections in key order: one file above level 0 alone in its key range is read straight through;
  // overlapping files are merged.
  for (const auto& section : KeySections(schema, files)) {
    if (section.size() == 1 && files[section[0]]->file.level > 0) {
      ARROW_ASSIGN_OR_RAISE(auto run, read(*files[section[0]], /*merged=*/false));
      if (!run.values || run.values->num_rows() == 0) continue;
      ARROW_ASSIGN_OR_RAISE(auto t, PassThrough(std::move(run)));
      ARROW_RETURN_NOT_OK(emit(t));
      continue;
    }
    std::vector<KeyValueRows> runs;
    for (size_t i : section) {
      ARROW_ASSIGN_OR_RAISE(auto run, read(*files[i], /*merged=*/true));
      runs.push_back(std::move(run));
    }
    ARROW_ASSIGN_OR_RAISE(auto merged, MergeKeyValues(schema, runs));
    ARROW_RETURN_NOT_OK(emit(merged));
  }
  return out;
}

std::vector<std::vector<paimon::ManifestEntry>> GroupByBucket(
    const std::vector<paimon::ManifestEntry>& entries) {
  std::map<std::pair<std::string, int32_t>, size_t> index;
  std::vector<std::vector<paimon::ManifestEntry>> groups;
  for (const auto& e : entries) {
    auto key = std::make_pair(e.partition, e.bucket);
    auto it = index.find(key);
    if (it == index.end()) {
      it = index.emplace(key, groups.size()).first;
      groups.emplace_back();
    }
    groups[it->second].push_back(e);
  }
  return groups;
}

}  // namespace millpond::table
