// Changelog producers: option checks, and the changelog-producing merge of lookup and
// full-compaction compactions.
#include "millpond/table/changelog.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <optional>
#include <set>

#include <arrow/api.h>
#include <arrow/compute/api_vector.h>
#include <arrow/compute/exec.h>
#include <arrow/compute/row/grouper.h>

#include "deletion_vector.h"
#include "kv_merge_stream.h"
#include "millpond/table/manifest_io.h"

namespace millpond::table {

namespace {

bool IsRetract(RowKind k) { return k == RowKind::kUpdateBefore || k == RowKind::kDelete; }

const char* ProducerName(ChangelogProducer p) {
  switch (p) {
    case ChangelogProducer::kNone: return "none";
    case ChangelogProducer::kInput: return "input";
    case ChangelogProducer::kLookup: return "lookup";
    case ChangelogProducer::kFullCompaction: return "full-compaction";
  }
  return "none";
}

// Where a row lives: a source table (a unit run, a looked-up run, or the merge result) and a row.
struct Ref {
  int source = -1;
  int64_t row = -1;
  bool valid() const { return source >= 0; }
};

// What a compaction saw of one key.
struct KeyState {
  bool has_level0 = false;
  int count = 0;                // records in the unit
  int32_t high_level = INT_MAX;  // lowest level above 0 of a record in the unit
  Ref high;                     // that record (or, after lookup, the one found above the unit)
  bool looked_up = false;
  Ref top;                      // the record at the max level (full-compaction)
};

// Arrow's Grouper over the trimmed primary key: equal keys get equal ids across Consume calls.
class KeyGroups {
 public:
  static Result<KeyGroups> Make(const KeyValueFileFormat& format,
                                const std::shared_ptr<arrow::Schema>& values_schema) {
    KeyGroups g;
    g.key_columns_ = format.key_columns;
    std::vector<arrow::TypeHolder> types;
    for (int c : format.key_columns) types.emplace_back(values_schema->field(c)->type());
    ARROW_ASSIGN_OR_RAISE(g.grouper_, arrow::compute::Grouper::Make(types));
    return g;
  }
  Result<std::vector<uint32_t>> Consume(const arrow::Table& values) {
    std::vector<uint32_t> out;
    const int64_t n = values.num_rows();
    if (n == 0) return out;
    ARROW_ASSIGN_OR_RAISE(auto t, values.CombineChunks());
    std::vector<arrow::Datum> cols;
    for (int c : key_columns_) cols.emplace_back(t->column(c)->chunk(0));
    arrow::compute::ExecBatch batch(cols, n);
    ARROW_ASSIGN_OR_RAISE(auto ids, grouper_->Consume(arrow::compute::ExecSpan(batch)));
    auto arr = ids.make_array();
    const auto& u = static_cast<const arrow::UInt32Array&>(*arr);
    out.assign(u.raw_values(), u.raw_values() + n);
    return out;
  }
  uint32_t num_groups() const { return grouper_->num_groups(); }
  /// Forgets every key (ids start again at 0).
  Status Reset() { return grouper_->Reset(); }

 private:
  std::vector<int> key_columns_;
  std::unique_ptr<arrow::compute::Grouper> grouper_;
};

// Rows `rows` of `from` as a run of their own (same level).
Result<KeyValueRows> TakeRows(const KeyValueRows& from, const std::vector<int64_t>& rows) {
  arrow::Int64Builder b;
  ARROW_RETURN_NOT_OK(b.AppendValues(rows));
  ARROW_ASSIGN_OR_RAISE(auto idx, b.Finish());
  ARROW_ASSIGN_OR_RAISE(auto taken, arrow::compute::Take(arrow::Datum(from.values), idx));
  KeyValueRows out;
  out.values = taken.table();
  out.level = from.level;
  for (int64_t r : rows) {
    out.sequence_numbers.push_back(from.sequence_numbers[r]);
    out.kinds.push_back(from.kinds[r]);
  }
  return out;
}

// Columns of a table as single arrays (for value comparison).
Result<arrow::ArrayVector> Columns(const std::shared_ptr<arrow::Table>& t) {
  arrow::ArrayVector out;
  ARROW_ASSIGN_OR_RAISE(auto combined, t->CombineChunks());
  for (int c = 0; c < combined->num_columns(); ++c) {
    const auto& chunked = combined->column(c);
    if (chunked->num_chunks() == 0) {
      ARROW_ASSIGN_OR_RAISE(auto empty, arrow::MakeEmptyArray(chunked->type()));
      out.push_back(empty);
    } else {
      out.push_back(chunked->chunk(0));
    }
  }
  return out;
}

}  // namespace

Result<ChangelogProducer> ChangelogProducerOf(const paimon::TableSchema& schema) {
  std::string v = schema.Option(kChangelogProducerOption, "none");
  std::string lower;
  for (char c : v) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "none") return ChangelogProducer::kNone;
  if (lower == "input") return ChangelogProducer::kInput;
  if (lower == "lookup") return ChangelogProducer::kLookup;
  if (lower == "full-compaction") return ChangelogProducer::kFullCompaction;
  return Status::Invalid("unknown changelog-producer '", v,
                         "' (none, input, lookup, full-compaction)");
}

Status ValidateChangelogOptions(const paimon::TableSchema& schema) {
  ARROW_ASSIGN_OR_RAISE(auto producer, ChangelogProducerOf(schema));
  auto flag = [&](const std::string& key, const std::string& dflt) -> Result<bool> {
    std::string v = schema.Option(key, dflt);
    if (v != "true" && v != "false") {
      return Status::Invalid("option ", key, " must be true or false, not '", v, "'");
    }
    return v == "true";
  };
  ARROW_RETURN_NOT_OK(flag("changelog-producer.row-deduplicate", "false").status());
  ARROW_RETURN_NOT_OK(
      flag("lookup-wait", schema.Option("changelog-producer.lookup-wait", "true")).status());
  for (const auto& f :
       paimon::SplitNames(schema.Option("changelog-producer.row-deduplicate-ignore-fields", ""))) {
    if (schema.FieldIndex(f) < 0) {
      return Status::Invalid("changelog-producer.row-deduplicate-ignore-fields: unknown column '",
                             f, "'");
    }
  }
  if (producer == ChangelogProducer::kNone) return Status::OK();
  const char* name = ProducerName(producer);
  if (schema.primary_keys.empty()) {
    return Status::Invalid("changelog-producer=", name,
                           " needs a primary-key table; this table has no primary key");
  }
  std::string engine = schema.Option("merge-engine", "deduplicate");
  if (engine == "first-row" && producer != ChangelogProducer::kLookup) {
    return Status::Invalid(
        "merge-engine first-row supports changelog-producer none and lookup only");
  }
  const bool compaction_producer = producer == ChangelogProducer::kLookup ||
                                   producer == ChangelogProducer::kFullCompaction;
  if (compaction_producer && schema.Option("streaming-read-overwrite", "false") == "true") {
    return Status::Invalid("streaming-read-overwrite cannot be set with changelog-producer=", name,
                           " (the stream would read changes twice)");
  }
  if (producer == ChangelogProducer::kFullCompaction &&
      schema.Option("deletion-vectors.enabled", "false") == "true") {
    return Status::Invalid(
        "deletion vectors support changelog-producer none, input and lookup only");
  }
  return Status::OK();
}

bool NeedsLookup(const paimon::TableSchema& schema) {
  auto producer = ChangelogProducerOf(schema);
  return (producer.ok() && *producer == ChangelogProducer::kLookup) ||
         schema.Option("deletion-vectors.enabled", "false") == "true" ||
         schema.Option("merge-engine", "deduplicate") == "first-row" ||
         schema.Option("force-lookup", "false") == "true";
}

bool LookupWait(const paimon::TableSchema& schema) {
  return schema.Option("lookup-wait", schema.Option("changelog-producer.lookup-wait", "true")) !=
         "false";
}

Result<bool> ProducesChangelog(const paimon::TableSchema& schema, const CompactUnit& unit) {
  ARROW_ASSIGN_OR_RAISE(auto producer, ChangelogProducerOf(schema));
  if (producer == ChangelogProducer::kFullCompaction) {
    ARROW_ASSIGN_OR_RAISE(auto options, CompactionOptions::FromSchema(schema));
    return unit.output_level == options.max_level();
  }
  // First-row always rewrites level 0 through lookups (FirstRowMergeFunctionWrapper drops what
  // exists above), with or without a changelog.
  const bool first_row = schema.Option("merge-engine", "deduplicate") == "first-row";
  if ((producer != ChangelogProducer::kLookup && !first_row) || unit.output_level == 0) {
    return false;
  }
  for (const auto& e : unit.files) {
    if (e.file.level == 0) return true;
  }
  return false;
}

Result<std::shared_ptr<arrow::RecordBatch>> KeyValueRunBatch(const KeyValueRows& rows) {
  const int64_t n = rows.values->num_rows();
  ARROW_ASSIGN_OR_RAISE(auto values, rows.values->CombineChunks());
  ARROW_ASSIGN_OR_RAISE(arrow::ArrayVector columns, Columns(values));
  arrow::FieldVector fields = values->schema()->fields();
  arrow::Int8Builder kinds;
  arrow::Int64Builder seqs;
  ARROW_RETURN_NOT_OK(kinds.Reserve(n));
  for (auto k : rows.kinds) kinds.UnsafeAppend(static_cast<int8_t>(k));
  ARROW_RETURN_NOT_OK(seqs.AppendValues(rows.sequence_numbers));
  ARROW_ASSIGN_OR_RAISE(auto kind_arr, kinds.Finish());
  ARROW_ASSIGN_OR_RAISE(auto seq_arr, seqs.Finish());
  columns.push_back(kind_arr);
  fields.push_back(arrow::field(kValueKindField, arrow::int8(), false));
  columns.push_back(seq_arr);
  fields.push_back(arrow::field(kSequenceNumberField, arrow::int64(), false));
  return arrow::RecordBatch::Make(arrow::schema(fields), n, std::move(columns));
}

namespace {

// The changelog merge of one compaction, fed one key window at a time (every record of a key
// lies in one window, so each window is merged and compared on its own).
class ChangelogMerge {
 public:
  ChangelogMerge(const paimon::TableSchema& schema, ChangelogProducer producer,
                 const CompactionOptions& options, const KeyValueFileFormat& format,
                 bool drop_delete, arrow::MemoryPool* pool)
      : schema_(schema), producer_(producer), options_(options), format_(format),
        drop_delete_(drop_delete), pool_(pool) {
    full_ = producer == ChangelogProducer::kFullCompaction;
    first_row_ = schema.Option("merge-engine", "deduplicate") == "first-row";
    row_dedup_ = schema.Option("changelog-producer.row-deduplicate", "false") == "true";
    compared_.assign(schema.fields.size(), true);
    for (const auto& f : paimon::SplitNames(
             schema.Option("changelog-producer.row-deduplicate-ignore-fields", ""))) {
      int i = schema.FieldIndex(f);
      if (i >= 0) compared_[i] = false;
    }
  }

  /// Files above the output level, lowest level first, to look keys up in.
  std::vector<std::unique_ptr<KeyValueFileLookup>> lookups;
  /// Where the changelog rows go (null: no changelog is written).
  KeyValueRunWriter* log = nullptr;

  // Merges one window of the unit's runs; `sink` gets the compaction output.
  Status Window(std::vector<KeyValueRows> runs, const std::function<Status(KeyValueRows)>& sink) {
    // 1. Every key of the window: whether it has level-0 records, its record at the lowest level
    //    above 0 (lookup's "before"), its record at the max level (full-compaction's "before").
    if (!groups_) {
      ARROW_ASSIGN_OR_RAISE(groups_, KeyGroups::Make(format_, runs.front().values->schema()));
    } else {
      ARROW_RETURN_NOT_OK(groups_->Reset());
    }
    KeyGroups& groups = *groups_;
    std::vector<KeyState> keys;
    std::vector<Ref> first_ref;  // a record of each key (for its key value)
    for (size_t s = 0; s < runs.size(); ++s) {
      ARROW_ASSIGN_OR_RAISE(auto ids, groups.Consume(*runs[s].values));
      keys.resize(groups.num_groups());
      first_ref.resize(groups.num_groups());
      const int32_t level = runs[s].level;
      for (size_t i = 0; i < ids.size(); ++i) {
        auto& k = keys[ids[i]];
        ++k.count;
        Ref ref{static_cast<int>(s), static_cast<int64_t>(i)};
        if (!first_ref[ids[i]].valid()) first_ref[ids[i]] = ref;
        if (level == 0) k.has_level0 = true;
        if (level > 0 && level < k.high_level) {
          k.high_level = level;
          k.high = ref;
        }
        if (level == options_.max_level()) k.top = ref;
      }
    }
    const uint32_t unit_keys = static_cast<uint32_t>(keys.size());

    // 2. Lookup: keys with level-0 records but no record above level 0 in the unit are looked
    //    up in the bucket's other files, lowest level first (LookupLevels.lookup(key,
    //    outputLevel + 1)), each file read forward as a merge-join in key order.
    if (!full_ && !lookups.empty()) {
      std::vector<uint32_t> missing;
      for (uint32_t id = 0; id < unit_keys; ++id) {
        if (keys[id].has_level0 && !keys[id].high.valid()) missing.push_back(id);
      }
      if (!missing.empty()) {
        std::vector<arrow::ArrayVector> key_columns(runs.size());
        for (size_t s = 0; s < runs.size(); ++s) {
          ARROW_ASSIGN_OR_RAISE(auto t, runs[s].values->CombineChunks(pool_));
          runs[s].values = t;
          for (int c : format_.key_columns) key_columns[s].push_back(t->column(c)->chunk(0));
        }
        auto ref_of = [&](uint32_t id) {
          const Ref& r = first_ref[id];
          return KeyRef{&key_columns[r.source], r.row};
        };
        std::sort(missing.begin(), missing.end(), [&](uint32_t a, uint32_t b) {
          return CompareKeyRefs(ref_of(a), ref_of(b)) < 0;
        });
        for (auto& file : lookups) {
          if (missing.empty()) break;
          std::vector<KeyRef> asked;
          for (uint32_t id : missing) asked.push_back(ref_of(id));
          std::vector<size_t> matched;
          ARROW_ASSIGN_OR_RAISE(auto found, file->Find(asked, &matched));
          if (matched.empty()) continue;
          std::vector<bool> hit(missing.size(), false);
          for (size_t j = 0; j < matched.size(); ++j) {
            auto& k = keys[missing[matched[j]]];
            k.high = Ref{static_cast<int>(runs.size()), static_cast<int64_t>(j)};
            k.looked_up = true;
            hit[matched[j]] = true;
          }
          runs.push_back(std::move(found));
          std::vector<uint32_t> rest;
          for (size_t j = 0; j < missing.size(); ++j) {
            if (!hit[j]) rest.push_back(missing[j]);
          }
          missing = std::move(rest);
        }
      }
    }

    // 3. The merge. For first-row, a looked-up key keeps its old record and nothing new is
    //    written for it (FirstRowMergeFunctionWrapper); see step 4.
    ARROW_ASSIGN_OR_RAISE(auto after,
                          MergeKeyValuesForCompaction(schema_, runs, /*drop_delete=*/false, pool_));
    ARROW_ASSIGN_OR_RAISE(auto after_ids, groups.Consume(*after.values));

    // 4. The changelog of each changed key, in key order (LookupChangelogMergeFunctionWrapper /
    //    FullChangelogMergeFunctionWrapper.setChangelog).
    const int after_source = static_cast<int>(runs.size());
    std::vector<arrow::ArrayVector> columns;  // per source, for row-deduplicate's comparison
    if (row_dedup_) {
      for (const auto& r : runs) {
        ARROW_ASSIGN_OR_RAISE(auto cols, Columns(r.values));
        columns.push_back(std::move(cols));
      }
      ARROW_ASSIGN_OR_RAISE(auto after_cols, Columns(after.values));
      columns.push_back(after_cols);
    }
    auto kind_of = [&](const Ref& ref) {
      return ref.source == after_source ? after.kinds[ref.row] : runs[ref.source].kinds[ref.row];
    };
    auto seq_of = [&](const Ref& ref) {
      return ref.source == after_source ? after.sequence_numbers[ref.row]
                                        : runs[ref.source].sequence_numbers[ref.row];
    };
    auto same_values = [&](const Ref& a, const Ref& b) -> Result<bool> {
      for (size_t c = 0; c < compared_.size(); ++c) {
        if (!compared_[c]) continue;
        ARROW_ASSIGN_OR_RAISE(auto x, columns[a.source][c]->GetScalar(a.row));
        ARROW_ASSIGN_OR_RAISE(auto y, columns[b.source][c]->GetScalar(b.row));
        if (!x->Equals(*y)) return false;
      }
      return true;
    };
    std::vector<std::pair<Ref, RowKind>> changes;
    std::vector<bool> keep(after_ids.size(), true);
    for (size_t j = 0; j < after_ids.size(); ++j) {
      if (after_ids[j] >= unit_keys) {
        return Status::Invalid("changelog merge produced an unknown key");
      }
      const KeyState& k = keys[after_ids[j]];
      Ref now{after_source, static_cast<int64_t>(j)};
      const bool after_add = !IsRetract(kind_of(now));
      if (first_row_) {
        if (k.looked_up) {
          keep[j] = false;  // the key already exists above: nothing new
          continue;
        }
        if (k.has_level0 && !k.high.valid() && after_add) {
          changes.push_back({now, RowKind::kInsert});
        }
        continue;
      }
      Ref before;
      if (full_) {
        if (k.count == 1 && k.top.valid()) continue;  // the top record alone: unchanged
        before = k.top;
      } else {
        if (!k.has_level0) continue;
        before = k.high;
      }
      const bool before_add = before.valid() && !IsRetract(kind_of(before));
      if (!before_add) {
        if (after_add) changes.push_back({now, RowKind::kInsert});
      } else if (!after_add) {
        changes.push_back({before, RowKind::kDelete});
      } else {
        bool same = false;
        if (row_dedup_) {
          ARROW_ASSIGN_OR_RAISE(same, same_values(before, now));
        }
        if (!same) {
          changes.push_back({before, RowKind::kUpdateBefore});
          changes.push_back({now, RowKind::kUpdateAfter});
        }
      }
    }

    // 5. The window's changelog rows, taken from one table of all sources (unit runs, looked-up
    //    rows, merge result) at once.
    if (producer_ == ChangelogProducer::kNone) changes.clear();  // first-row without changelog
    if (!changes.empty() && log) {
      std::vector<std::shared_ptr<arrow::Table>> tables;
      std::vector<int64_t> offset;
      int64_t total = 0;
      for (const auto& r : runs) {
        offset.push_back(total);
        tables.push_back(r.values);
        total += r.values->num_rows();
      }
      offset.push_back(total);
      tables.push_back(after.values);
      ARROW_ASSIGN_OR_RAISE(auto all, arrow::ConcatenateTables(
                                          tables, arrow::ConcatenateTablesOptions::Defaults(),
                                          pool_));
      arrow::Int64Builder idx(pool_);
      KeyValueRows rows;
      for (const auto& [ref, kind] : changes) {
        ARROW_RETURN_NOT_OK(idx.Append(offset[ref.source] + ref.row));
        rows.kinds.push_back(kind);
        rows.sequence_numbers.push_back(seq_of(ref));
      }
      ARROW_ASSIGN_OR_RAISE(auto indices, idx.Finish());
      arrow::compute::ExecContext ctx(pool_);
      ARROW_ASSIGN_OR_RAISE(auto taken,
                            arrow::compute::Take(arrow::Datum(all), indices,
                                                 arrow::compute::TakeOptions::Defaults(), &ctx));
      rows.values = taken.table();
      ARROW_ASSIGN_OR_RAISE(auto batch, KeyValueRunBatch(rows));
      ARROW_RETURN_NOT_OK(log->Write(batch));
    }

    // 6. The compaction output: the merged rows (retractions only where deletes are kept).
    std::vector<int64_t> out_rows;
    for (size_t j = 0; j < after.kinds.size(); ++j) {
      if (!keep[j]) continue;
      if (drop_delete_ && IsRetract(after.kinds[j])) continue;
      out_rows.push_back(static_cast<int64_t>(j));
    }
    if (out_rows.empty()) return Status::OK();
    if (out_rows.size() == after.kinds.size()) return sink(std::move(after));
    ARROW_ASSIGN_OR_RAISE(auto kept, TakeRows(after, out_rows));
    return sink(std::move(kept));
  }

 private:
  const paimon::TableSchema& schema_;
  ChangelogProducer producer_;
  CompactionOptions options_;
  const KeyValueFileFormat& format_;
  bool drop_delete_;
  arrow::MemoryPool* pool_;
  bool full_ = false, first_row_ = false, row_dedup_ = false;
  std::vector<bool> compared_;
  std::optional<KeyGroups> groups_;  // reset at each window
};

}  // namespace

Status MergeWithChangelog(const fs::FileSystem& fs, const std::string& table_path,
                          const paimon::TableSchema& schema,
                          const std::map<int64_t, paimon::TableSchema>& schemas,
                          const CompactUnit& unit,
                          std::vector<std::unique_ptr<KeyValueRunReader>> runs, bool drop_delete,
                          ChangelogOutput* out, std::vector<std::string>* written,
                          arrow::MemoryPool* pool,
                          const std::function<Status(KeyValueRows)>& sink) {
  ARROW_ASSIGN_OR_RAISE(auto producer, ChangelogProducerOf(schema));
  ARROW_ASSIGN_OR_RAISE(auto options, CompactionOptions::FromSchema(schema));
  ARROW_ASSIGN_OR_RAISE(auto format, KeyValueFileFormat::Make(schema));
  if (unit.files.empty()) return Status::Invalid("changelog compaction of an empty unit");
  ChangelogMerge merge(schema, producer, options, format, drop_delete, pool);

  // The bucket's files above the output level, outside the unit, lowest level first.
  if (producer != ChangelogProducer::kFullCompaction && out->bucket_files) {
    std::set<std::string> in_unit;
    for (const auto& e : unit.files) in_unit.insert(e.file.file_name);
    std::vector<const paimon::ManifestEntry*> above;
    for (const auto& e : *out->bucket_files) {
      if (e.kind == paimon::FileKind::kAdd && e.file.level > unit.output_level &&
          !in_unit.count(e.file.file_name)) {
        above.push_back(&e);
      }
    }
    std::stable_sort(above.begin(), above.end(),
                     [](const auto* a, const auto* b) { return a->file.level < b->file.level; });
    for (const auto* e : above) {
      const std::vector<uint32_t>* deleted =
          out->dvs ? out->dvs->Find(e->partition, e->bucket, e->file.file_name) : nullptr;
      ARROW_ASSIGN_OR_RAISE(auto lookup, KeyValueFileLookup::Make(fs, table_path, schema, schemas,
                                                                  *e, deleted, pool));
      merge.lookups.push_back(std::move(lookup));
    }
  }

  // The changelog files at the output level, named as KeyValueFileWriterFactory names them.
  const auto& first = unit.files.front();
  KeyValueRunTarget target;
  target.partition = first.partition;
  target.bucket = first.bucket;
  ARROW_ASSIGN_OR_RAISE(target.dir, BucketPath(table_path, schema, first.partition, first.bucket));
  target.file_prefix = std::string(kChangelogFilePrefix) + NewUuid() + "-";
  int64_t counter = 0;
  target.file_counter = &counter;
  target.level = unit.output_level;
  target.file_source = paimon::FileSource::kAppend;
  KeyValueRunWriter log(fs, format, target, &out->files, written);
  merge.log = &log;

  ARROW_RETURN_NOT_OK(ForEachKeyWindow(
      schema, std::move(runs), pool,
      [&](std::vector<KeyValueRows> window) { return merge.Window(std::move(window), sink); }));
  ARROW_RETURN_NOT_OK(log.Finish());
  for (const auto& l : merge.lookups) {
    out->lookup_row_groups_decoded += l->row_groups_decoded();
    out->lookup_row_groups_skipped += l->row_groups_skipped();
  }
  return Status::OK();
}

Status WriteInputChangelog(const fs::FileSystem& fs, const KeyValueFileFormat& format,
                           const KeyValueRunTarget& target,
                           const std::shared_ptr<arrow::RecordBatch>& rows,
                           const std::shared_ptr<arrow::Array>& order,
                           std::vector<paimon::ManifestEntry>* out,
                           std::vector<std::string>* written) {
  if (rows->num_rows() == 0) return Status::OK();
  ARROW_ASSIGN_OR_RAISE(auto sorted, arrow::compute::Take(arrow::Datum(rows), arrow::Datum(order)));
  return WriteKeyValueRun(fs, format, target, sorted.record_batch(), out, written);
}

void DeleteChangelogFiles(const fs::FileSystem& fs, const std::string& table_path,
                          const paimon::TableSchema& schema,
                          const std::vector<paimon::ManifestEntry>& entries) {
  for (const auto& e : entries) {
    auto path = DataFilePath(schema, table_path, e);
    if (path.ok()) (void)fs.DeleteFile(*path);
  }
}

}  // namespace millpond::table
