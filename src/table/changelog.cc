// Changelog producers: option checks, and the changelog-producing merge of lookup and
// full-compaction compactions.
#include "millpond/table/changelog.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <set>

#include <arrow/api.h>
#include <arrow/compute/api_vector.h>
#include <arrow/compute/exec.h>
#include <arrow/compute/row/grouper.h>

#include "deletion_vector.h"
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

Result<KeyValueRows> MergeWithChangelog(const fs::FileSystem& fs, const std::string& table_path,
                                        const paimon::TableSchema& schema,
                                        const std::map<int64_t, paimon::TableSchema>& schemas,
                                        const CompactUnit& unit, std::vector<KeyValueRows> runs,
                                        bool drop_delete, ChangelogOutput* out,
                                        std::vector<std::string>* written) {
  ARROW_ASSIGN_OR_RAISE(auto producer, ChangelogProducerOf(schema));
  ARROW_ASSIGN_OR_RAISE(auto options, CompactionOptions::FromSchema(schema));
  ARROW_ASSIGN_OR_RAISE(auto format, KeyValueFileFormat::Make(schema));
  const bool full = producer == ChangelogProducer::kFullCompaction;
  const bool first_row = schema.Option("merge-engine", "deduplicate") == "first-row";
  const bool row_dedup = schema.Option("changelog-producer.row-deduplicate", "false") == "true";
  std::vector<bool> compared(schema.fields.size(), true);
  for (const auto& f :
       paimon::SplitNames(schema.Option("changelog-producer.row-deduplicate-ignore-fields", ""))) {
    int i = schema.FieldIndex(f);
    if (i >= 0) compared[i] = false;
  }
  if (unit.files.empty()) return Status::Invalid("changelog compaction of an empty unit");

  // 1. Every key of the unit: whether it has level-0 records, its record at the lowest level above
  //    0 (lookup's "before"), its record at the max level (full-compaction's "before").
  std::shared_ptr<arrow::Schema> values_schema;
  for (const auto& r : runs) {
    if (r.values) values_schema = r.values->schema();
  }
  if (!values_schema) return Status::Invalid("changelog compaction without rows");
  ARROW_ASSIGN_OR_RAISE(auto groups, KeyGroups::Make(format, values_schema));
  std::vector<KeyState> keys;
  for (size_t s = 0; s < runs.size(); ++s) {
    if (!runs[s].values) continue;
    ARROW_ASSIGN_OR_RAISE(auto ids, groups.Consume(*runs[s].values));
    keys.resize(groups.num_groups());
    const int32_t level = runs[s].level;
    for (size_t i = 0; i < ids.size(); ++i) {
      auto& k = keys[ids[i]];
      ++k.count;
      Ref ref{static_cast<int>(s), static_cast<int64_t>(i)};
      if (level == 0) k.has_level0 = true;
      if (level > 0 && level < k.high_level) {
        k.high_level = level;
        k.high = ref;
      }
      if (level == options.max_level()) k.top = ref;
    }
  }
  const uint32_t unit_keys = static_cast<uint32_t>(keys.size());

  // 2. Lookup: keys with level-0 records but no record above level 0 in the unit are looked up in
  //    the bucket's other files, lowest level first (LookupLevels.lookup(key, outputLevel + 1)).
  if (!full) {
    size_t missing = 0;
    for (const auto& k : keys) missing += k.has_level0 && !k.high.valid();
    std::set<std::string> in_unit;
    for (const auto& e : unit.files) in_unit.insert(e.file.file_name);
    std::vector<const paimon::ManifestEntry*> above;
    if (out->bucket_files) {
      for (const auto& e : *out->bucket_files) {
        if (e.kind == paimon::FileKind::kAdd && e.file.level > unit.output_level &&
            !in_unit.count(e.file.file_name)) {
          above.push_back(&e);
        }
      }
    }
    std::stable_sort(above.begin(), above.end(),
                     [](const auto* a, const auto* b) { return a->file.level < b->file.level; });
    for (const auto* e : above) {
      if (missing == 0) break;
      const std::vector<uint32_t>* deleted =
          out->dvs ? out->dvs->Find(e->partition, e->bucket, e->file.file_name) : nullptr;
      ARROW_ASSIGN_OR_RAISE(auto rows,
                            ReadKeyValueRows(fs, table_path, schema, schemas, *e, deleted));
      ARROW_ASSIGN_OR_RAISE(auto ids, groups.Consume(*rows.values));
      std::vector<int64_t> found;
      for (size_t i = 0; i < ids.size(); ++i) {
        if (ids[i] >= unit_keys) continue;
        auto& k = keys[ids[i]];
        if (!k.has_level0 || k.high.valid()) continue;
        k.high = Ref{static_cast<int>(runs.size()), static_cast<int64_t>(found.size())};
        k.looked_up = true;
        found.push_back(static_cast<int64_t>(i));
        --missing;
      }
      if (found.empty()) continue;
      ARROW_ASSIGN_OR_RAISE(auto taken, TakeRows(rows, found));
      runs.push_back(std::move(taken));
    }
  }

  // 3. The merge. For first-row, a looked-up key keeps its old record and nothing new is written
  //    for it (FirstRowMergeFunctionWrapper); see step 4.
  ARROW_ASSIGN_OR_RAISE(auto after,
                        MergeKeyValuesForCompaction(schema, runs, /*drop_delete=*/false));
  ARROW_ASSIGN_OR_RAISE(auto after_ids, groups.Consume(*after.values));

  // 4. The changelog of each changed key, in key order (LookupChangelogMergeFunctionWrapper /
  //    FullChangelogMergeFunctionWrapper.setChangelog).
  const int after_source = static_cast<int>(runs.size());
  std::vector<arrow::ArrayVector> columns;  // per source, for row-deduplicate's comparison
  if (row_dedup) {
    for (const auto& r : runs) {
      arrow::ArrayVector cols;
      if (r.values) {
        ARROW_ASSIGN_OR_RAISE(cols, Columns(r.values));
      }
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
    for (size_t c = 0; c < compared.size(); ++c) {
      if (!compared[c]) continue;
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
    if (first_row) {
      if (k.looked_up) {
        keep[j] = false;  // the key already exists above: nothing new
        continue;
      }
      if (k.has_level0 && !k.high.valid() && after_add) changes.push_back({now, RowKind::kInsert});
      continue;
    }
    Ref before;
    if (full) {
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
      if (row_dedup) {
        ARROW_ASSIGN_OR_RAISE(same, same_values(before, now));
      }
      if (!same) {
        changes.push_back({before, RowKind::kUpdateBefore});
        changes.push_back({now, RowKind::kUpdateAfter});
      }
    }
  }

  // 5. Write the changelog files at the output level: the rows are taken from one table of all
  //    sources (unit runs, looked-up rows, merge result) at once.
  if (producer == ChangelogProducer::kNone) changes.clear();  // first-row without changelog
  if (!changes.empty()) {
    std::vector<std::shared_ptr<arrow::Table>> pool;
    std::vector<int64_t> offset;
    int64_t total = 0;
    for (const auto& r : runs) {
      offset.push_back(total);
      if (!r.values) continue;
      pool.push_back(r.values);
      total += r.values->num_rows();
    }
    offset.push_back(total);
    pool.push_back(after.values);
    ARROW_ASSIGN_OR_RAISE(auto all, arrow::ConcatenateTables(pool));
    arrow::Int64Builder idx;
    KeyValueRows log;
    for (const auto& [ref, kind] : changes) {
      ARROW_RETURN_NOT_OK(idx.Append(offset[ref.source] + ref.row));
      log.kinds.push_back(kind);
      log.sequence_numbers.push_back(seq_of(ref));
    }
    ARROW_ASSIGN_OR_RAISE(auto indices, idx.Finish());
    ARROW_ASSIGN_OR_RAISE(auto taken, arrow::compute::Take(arrow::Datum(all), indices));
    log.values = taken.table();
    ARROW_ASSIGN_OR_RAISE(auto batch, KeyValueRunBatch(log));
    const auto& first = unit.files.front();
    KeyValueRunTarget target;
    target.partition = first.partition;
    target.bucket = first.bucket;
    ARROW_ASSIGN_OR_RAISE(target.dir,
                          BucketPath(table_path, schema, first.partition, first.bucket));
    target.file_prefix = std::string(kChangelogFilePrefix) + NewUuid() + "-";
    int64_t counter = 0;
    target.file_counter = &counter;
    target.level = unit.output_level;
    target.file_source = paimon::FileSource::kAppend;  // as KeyValueFileWriterFactory writes them
    ARROW_RETURN_NOT_OK(WriteKeyValueRun(fs, format, target, batch, &out->files, written));
  }

  // 6. The compaction output: the merged rows (retractions only where deletes are kept).
  std::vector<int64_t> rows;
  for (size_t j = 0; j < after.kinds.size(); ++j) {
    if (!keep[j]) continue;
    if (drop_delete && IsRetract(after.kinds[j])) continue;
    rows.push_back(static_cast<int64_t>(j));
  }
  if (rows.size() == after.kinds.size()) return after;
  return TakeRows(after, rows);
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
