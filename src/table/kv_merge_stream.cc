// Streaming merge of sorted key-value runs: chunked run readers (Parquet batches, in-memory
// slices) and the windowed k-way merge over them.
#include "kv_merge_stream.h"

#include <algorithm>

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/schema.h>
#include <parquet/file_reader.h>
#include <parquet/properties.h>

namespace millpond::table {
namespace {

// Rows per chunk of a run reader: a Parquet batch, or an in-memory slice.
constexpr int64_t kChunkRows = 4 * 1024;
// Rows a window takes at most from the run whose buffered keys end first (the others add the rows
// of the same key range): bounds the rows merged at once.
constexpr int64_t kWindowRows = 1024;

// Drops the rows of `rows` whose file positions [first, first + n) are in `deleted` (sorted).
Result<KeyValueRows> DropDeleted(KeyValueRows rows, int64_t first,
                                 const std::vector<uint32_t>& deleted, arrow::MemoryPool* pool) {
  const int64_t n = rows.values->num_rows();
  auto d = std::lower_bound(deleted.begin(), deleted.end(), static_cast<uint64_t>(first),
                            [](uint32_t a, uint64_t b) { return a < b; });
  if (d == deleted.end() || static_cast<int64_t>(*d) >= first + n) return rows;
  std::vector<uint8_t> keep(n, 1);
  for (; d != deleted.end() && static_cast<int64_t>(*d) < first + n; ++d) keep[*d - first] = 0;
  arrow::BooleanBuilder mask_builder(pool);
  ARROW_RETURN_NOT_OK(mask_builder.Reserve(n));
  KeyValueRows out;
  out.level = rows.level;
  for (int64_t i = 0; i < n; ++i) {
    mask_builder.UnsafeAppend(keep[i] != 0);
    if (!keep[i]) continue;
    out.sequence_numbers.push_back(rows.sequence_numbers[i]);
    out.kinds.push_back(rows.kinds[i]);
  }
  ARROW_ASSIGN_OR_RAISE(auto mask, mask_builder.Finish());
  arrow::compute::ExecContext ctx(pool);
  ARROW_ASSIGN_OR_RAISE(auto filtered,
                        arrow::compute::Filter(rows.values, mask,
                                               arrow::compute::FilterOptions::Defaults(), &ctx));
  ARROW_ASSIGN_OR_RAISE(out.values, filtered.table()->CombineChunks(pool));
  return out;
}

// A Parquet key-value file, one batch of at most kChunkRows rows at a time.
class ParquetRunReader : public KeyValueRunReader {
 public:
  static Result<std::unique_ptr<KeyValueRunReader>> Open(const fs::FileSystem& fs,
                                                         KeyValueFilePlan plan,
                                                         const paimon::TableSchema& schema,
                                                         const std::vector<uint32_t>* deleted,
                                                         arrow::MemoryPool* pool) {
    auto r = std::unique_ptr<ParquetRunReader>(new ParquetRunReader(schema));
    r->plan_ = std::move(plan);
    r->deleted_ = deleted && !deleted->empty() ? deleted : nullptr;
    r->pool_ = pool;
    auto st = r->OpenFile(fs);
    if (!st.ok()) return Status::IOError("data file ", r->plan_.path, ": ", st.message());
    return std::unique_ptr<KeyValueRunReader>(std::move(r));
  }

  Result<std::optional<KeyValueRows>> Next() override {
    while (true) {
      std::shared_ptr<arrow::RecordBatch> batch;
      auto st = batches_->ReadNext(&batch);
      if (!st.ok()) return Status::IOError("data file ", plan_.path, ": ", st.message());
      if (!batch) return std::optional<KeyValueRows>();
      const int64_t first = position_;
      position_ += batch->num_rows();
      ARROW_ASSIGN_OR_RAISE(auto table, arrow::Table::FromRecordBatches({batch}));
      batch.reset();
      ARROW_ASSIGN_OR_RAISE(auto rows, ToKeyValueRows(table, plan_, schema_, pool_));
      if (deleted_) {
        ARROW_ASSIGN_OR_RAISE(rows, DropDeleted(std::move(rows), first, *deleted_, pool_));
      }
      if (rows.values->num_rows() > 0) return std::optional<KeyValueRows>(std::move(rows));
    }
  }

 private:
  explicit ParquetRunReader(const paimon::TableSchema& schema) : schema_(schema) {}

  Status OpenFile(const fs::FileSystem& fs) {
    ARROW_ASSIGN_OR_RAISE(auto in, fs.OpenInput(plan_.path));
    parquet::ReaderProperties props(pool_);
    // Pages are streamed through a small buffer instead of whole column chunks.
    props.enable_buffered_stream();
    props.set_buffer_size(64 << 10);
    parquet::ArrowReaderProperties aprops;
    aprops.set_coerce_int96_timestamp_unit(plan_.nanos ? arrow::TimeUnit::NANO
                                                       : arrow::TimeUnit::MICRO);
    aprops.set_use_threads(false);
    aprops.set_pre_buffer(false);
    aprops.set_batch_size(kChunkRows);
    parquet::arrow::FileReaderBuilder builder;
    ARROW_RETURN_NOT_OK(builder.Open(std::move(in), props));
    builder.memory_pool(pool_);
    builder.properties(aprops);
    ARROW_ASSIGN_OR_RAISE(reader_, builder.Build());
    const int64_t file_rows = reader_->parquet_reader()->metadata()->num_rows();
    if (file_rows != plan_.row_count) {
      return Status::IOError("has ", file_rows, " rows but the manifest says ", plan_.row_count);
    }
    std::shared_ptr<arrow::Schema> file_schema;
    ARROW_RETURN_NOT_OK(reader_->GetSchema(&file_schema));
    const auto& manifest = reader_->manifest();
    std::vector<int> leaves;
    std::function<void(const parquet::arrow::SchemaField&)> collect =
        [&](const parquet::arrow::SchemaField& sf) {
          if (sf.children.empty()) {
            leaves.push_back(sf.column_index);
          } else {
            for (const auto& ch : sf.children) collect(ch);
          }
        };
    for (const auto& c : plan_.columns) {
      int i = file_schema->GetFieldIndex(c);
      if (i >= 0) collect(manifest.schema_fields[i]);
    }
    std::vector<int> row_groups(reader_->num_row_groups());
    for (int i = 0; i < reader_->num_row_groups(); ++i) row_groups[i] = i;
    ARROW_ASSIGN_OR_RAISE(batches_, reader_->GetRecordBatchReader(row_groups, leaves));
    return Status::OK();
  }

  const paimon::TableSchema& schema_;
  KeyValueFilePlan plan_;
  const std::vector<uint32_t>* deleted_ = nullptr;
  arrow::MemoryPool* pool_ = nullptr;
  std::unique_ptr<parquet::arrow::FileReader> reader_;
  std::unique_ptr<arrow::RecordBatchReader> batches_;
  int64_t position_ = 0;  // file row position of the next batch
};

class InMemoryReader : public KeyValueRunReader {
 public:
  InMemoryReader(KeyValueRows rows, int64_t chunk_rows)
      : rows_(std::move(rows)), chunk_rows_(std::max<int64_t>(1, chunk_rows)) {}

  Result<std::optional<KeyValueRows>> Next() override {
    const int64_t n = rows_.values ? rows_.values->num_rows() : 0;
    if (pos_ >= n) return std::optional<KeyValueRows>();
    const int64_t len = std::min(chunk_rows_, n - pos_);
    KeyValueRows out;
    out.level = rows_.level;
    out.values = rows_.values->Slice(pos_, len);
    out.sequence_numbers.assign(rows_.sequence_numbers.begin() + pos_,
                                rows_.sequence_numbers.begin() + pos_ + len);
    out.kinds.assign(rows_.kinds.begin() + pos_, rows_.kinds.begin() + pos_ + len);
    pos_ += len;
    return std::optional<KeyValueRows>(std::move(out));
  }

 private:
  KeyValueRows rows_;
  int64_t chunk_rows_;
  int64_t pos_ = 0;
};

// Rows [begin, end) of `rows` (zero-copy for the values).
KeyValueRows SliceRows(const KeyValueRows& rows, int64_t begin, int64_t end) {
  KeyValueRows out;
  out.level = rows.level;
  out.values = rows.values->Slice(begin, end - begin);
  out.sequence_numbers.assign(rows.sequence_numbers.begin() + begin,
                              rows.sequence_numbers.begin() + end);
  out.kinds.assign(rows.kinds.begin() + begin, rows.kinds.begin() + end);
  return out;
}

// One run in the merge: its reader and the buffered rows not yet merged.
struct Cursor {
  std::unique_ptr<KeyValueRunReader> reader;
  bool reader_done = false;
  KeyValueRows chunk;       // values with one chunk per column
  arrow::ArrayVector keys;  // the chunk's primary-key columns
  int64_t pos = 0;          // first row not yet merged
  int64_t size() const { return chunk.values ? chunk.values->num_rows() : 0; }
  bool has_rows() const { return pos < size(); }
};

class WindowMerge {
 public:
  WindowMerge(const paimon::TableSchema& schema, arrow::MemoryPool* pool) : pool_(pool) {
    for (const auto& k : schema.primary_keys) key_fields_.push_back(schema.FieldIndex(k));
  }

  int Compare(const Cursor& a, int64_t i, const Cursor& b, int64_t j) const {
    for (size_t k = 0; k < a.keys.size(); ++k) {
      int c = CompareKeyValueCells(*a.keys[k], i, *b.keys[k], j);
      if (c != 0) return c;
    }
    return 0;
  }

  // Reads the cursor's next chunk after its unmerged rows.
  Status Load(Cursor* c) const {
    ARROW_ASSIGN_OR_RAISE(auto next, c->reader->Next());
    if (!next) {
      c->reader_done = true;
      return Status::OK();
    }
    if (next->values->num_rows() == 0) return Status::OK();
    const int32_t level = next->level;
    KeyValueRows chunk;
    if (c->has_rows()) {
      KeyValueRows rest = SliceRows(c->chunk, c->pos, c->size());
      ARROW_ASSIGN_OR_RAISE(
          chunk.values,
          arrow::ConcatenateTables({rest.values, next->values},
                                   arrow::ConcatenateTablesOptions::Defaults(), pool_));
      chunk.sequence_numbers = std::move(rest.sequence_numbers);
      chunk.sequence_numbers.insert(chunk.sequence_numbers.end(), next->sequence_numbers.begin(),
                                    next->sequence_numbers.end());
      chunk.kinds = std::move(rest.kinds);
      chunk.kinds.insert(chunk.kinds.end(), next->kinds.begin(), next->kinds.end());
    } else {
      chunk = std::move(*next);
    }
    chunk.level = level;
    ARROW_ASSIGN_OR_RAISE(chunk.values, chunk.values->CombineChunks(pool_));
    if (static_cast<size_t>(chunk.values->num_rows()) != chunk.sequence_numbers.size() ||
        chunk.sequence_numbers.size() != chunk.kinds.size()) {
      return Status::Invalid("key-value rows: values, sequence numbers and kinds differ in length");
    }
    c->keys.clear();
    for (int k : key_fields_) {
      if (k < 0 || k >= chunk.values->num_columns()) {
        return Status::Invalid("key-value rows lack primary-key column ", k);
      }
      const auto& col = chunk.values->column(k);
      if (col->num_chunks() != 1) return Status::Invalid("key column not in one chunk");
      c->keys.push_back(col->chunk(0));
    }
    c->chunk = std::move(chunk);
    c->pos = 0;
    return Status::OK();
  }

  // Buffers rows until the cursor holds a row whose key is below its last buffered key (so a
  // window ending before that key leaves nothing of it unread), or the run ends.
  Status Fill(Cursor* c) const {
    while (!c->reader_done &&
           (!c->has_rows() || Compare(*c, c->pos, *c, c->size() - 1) == 0)) {
      ARROW_RETURN_NOT_OK(Load(c));
    }
    return Status::OK();
  }

  // First row at or after the cursor's position whose key is >= row j of cursor b.
  int64_t LowerBound(const Cursor& c, const Cursor& b, int64_t j) const {
    int64_t lo = c.pos, hi = c.size();
    while (lo < hi) {
      int64_t mid = lo + (hi - lo) / 2;
      if (Compare(c, mid, b, j) < 0) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

 private:
  arrow::MemoryPool* pool_;
  std::vector<int> key_fields_;
};

}  // namespace

Result<std::unique_ptr<KeyValueRunReader>> OpenKeyValueFileReader(
    const fs::FileSystem& fs, const std::string& table_path, const paimon::TableSchema& schema,
    const std::map<int64_t, paimon::TableSchema>& schemas, const paimon::ManifestEntry& e,
    const std::vector<uint32_t>* deleted, arrow::MemoryPool* pool) {
  ARROW_ASSIGN_OR_RAISE(auto plan, PlanKeyValueFile(table_path, schema, schemas, e));
  if (plan.format != "parquet") {
    // ORC and Avro files are read whole.
    ARROW_ASSIGN_OR_RAISE(auto rows, ReadKeyValueRows(fs, table_path, schema, schemas, e, deleted));
    return InMemoryRunReader(std::move(rows), kChunkRows);
  }
  return ParquetRunReader::Open(fs, std::move(plan), schema, deleted, pool);
}

std::unique_ptr<KeyValueRunReader> InMemoryRunReader(KeyValueRows rows, int64_t chunk_rows) {
  return std::make_unique<InMemoryReader>(std::move(rows), chunk_rows);
}

Status MergeKeyValueRunsStreaming(const paimon::TableSchema& schema,
                                  std::vector<std::unique_ptr<KeyValueRunReader>> runs,
                                  bool drop_delete, arrow::MemoryPool* pool,
                                  const std::function<Status(KeyValueRows)>& sink) {
  WindowMerge merge(schema, pool);
  std::vector<Cursor> cursors(runs.size());
  for (size_t i = 0; i < runs.size(); ++i) cursors[i].reader = std::move(runs[i]);
  while (true) {
    for (auto& c : cursors) ARROW_RETURN_NOT_OK(merge.Fill(&c));
    // The window ends before the smallest last buffered key of the runs that have more to read:
    // every row of a smaller key is buffered in every run.
    const Cursor* bound = nullptr;
    for (const auto& c : cursors) {
      if (!c.has_rows() || c.reader_done) continue;
      if (!bound || merge.Compare(c, c.size() - 1, *bound, bound->size() - 1) < 0) bound = &c;
    }
    int64_t bound_row = bound ? bound->size() - 1 : -1;
    // A smaller window: end before the key kWindowRows rows into the bound run, when that key is
    // above the run's first unmerged key (and so below its last).
    if (bound && bound->size() - bound->pos > 2 * kWindowRows) {
      const int64_t row = bound->pos + kWindowRows;
      if (merge.Compare(*bound, row, *bound, bound->pos) > 0 &&
          merge.Compare(*bound, row, *bound, bound_row) < 0) {
        bound_row = row;
      }
    }
    std::vector<KeyValueRows> window;
    bool pending = false;
    for (auto& c : cursors) {
      if (!c.has_rows()) continue;
      pending = true;
      const int64_t end = bound ? merge.LowerBound(c, *bound, bound_row) : c.size();
      if (end <= c.pos) continue;
      window.push_back(SliceRows(c.chunk, c.pos, end));
      c.pos = end;
    }
    if (window.empty()) {
      if (!pending) return Status::OK();
      return Status::Invalid("a sorted run of the compaction is not sorted by primary key");
    }
    ARROW_ASSIGN_OR_RAISE(auto merged,
                          MergeKeyValuesForCompaction(schema, window, drop_delete, pool));
    window.clear();
    if (merged.values && merged.values->num_rows() > 0) ARROW_RETURN_NOT_OK(sink(std::move(merged)));
  }
}

}  // namespace millpond::table
