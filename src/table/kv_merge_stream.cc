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
#include <parquet/statistics.h>

#include "millpond/paimon/data_file.h"

namespace millpond::table {
namespace {

// Rows per chunk of a run reader: a Parquet batch, or an in-memory slice.
constexpr int64_t kChunkRows = 4 * 1024;
// Rows a window takes at most from the run whose buffered keys end first (the others add the rows
// of the same key range): bounds the rows merged at once.
constexpr int64_t kWindowRows = 1024;
// Rows per batch of a looked-up file: a merge-join that reads forward through much of a file
// reads larger batches (fewer per-batch conversions), still far below a row group's rows.
constexpr int64_t kLookupChunkRows = 16 * 1024;

// Opens planned Parquet file `plan` for streaming: pages through a small buffer instead of whole
// column chunks, no prefetch, one thread, batches of `batch_rows`. Checks the file's row count
// against the manifest's.
Result<std::unique_ptr<parquet::arrow::FileReader>> OpenStreaming(const fs::FileSystem& fs,
                                                                  const KeyValueFilePlan& plan,
                                                                  int64_t batch_rows,
                                                                  arrow::MemoryPool* pool) {
  ARROW_ASSIGN_OR_RAISE(auto in, fs.OpenInput(plan.path));
  parquet::ReaderProperties props(pool);
  props.enable_buffered_stream();
  props.set_buffer_size(64 << 10);
  parquet::ArrowReaderProperties aprops;
  aprops.set_coerce_int96_timestamp_unit(plan.nanos ? arrow::TimeUnit::NANO
                                                    : arrow::TimeUnit::MICRO);
  aprops.set_use_threads(false);
  aprops.set_pre_buffer(false);
  aprops.set_batch_size(batch_rows);
  parquet::arrow::FileReaderBuilder builder;
  ARROW_RETURN_NOT_OK(builder.Open(std::move(in), props));
  builder.memory_pool(pool);
  builder.properties(aprops);
  std::unique_ptr<parquet::arrow::FileReader> reader;
  ARROW_ASSIGN_OR_RAISE(reader, builder.Build());
  const int64_t file_rows = reader->parquet_reader()->metadata()->num_rows();
  if (file_rows != plan.row_count) {
    return Status::IOError("has ", file_rows, " rows but the manifest says ", plan.row_count);
  }
  return reader;
}

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
    ARROW_ASSIGN_OR_RAISE(reader_, OpenStreaming(fs, plan_, kChunkRows, pool_));
    ARROW_ASSIGN_OR_RAISE(auto leaves, paimon::ParquetLeafColumns(*reader_, plan_.columns));
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

Status ForEachKeyWindow(const paimon::TableSchema& schema,
                        std::vector<std::unique_ptr<KeyValueRunReader>> runs,
                        arrow::MemoryPool* pool,
                        const std::function<Status(std::vector<KeyValueRows>)>& window_fn) {
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
    ARROW_RETURN_NOT_OK(window_fn(std::move(window)));
  }
}

Status MergeKeyValueRunsStreaming(const paimon::TableSchema& schema,
                                  std::vector<std::unique_ptr<KeyValueRunReader>> runs,
                                  bool drop_delete, arrow::MemoryPool* pool,
                                  const std::function<Status(KeyValueRows)>& sink) {
  return ForEachKeyWindow(
      schema, std::move(runs), pool, [&](std::vector<KeyValueRows> window) -> Status {
        ARROW_ASSIGN_OR_RAISE(auto merged,
                              MergeKeyValuesForCompaction(schema, window, drop_delete, pool));
        window.clear();
        if (merged.values && merged.values->num_rows() > 0) {
          ARROW_RETURN_NOT_OK(sink(std::move(merged)));
        }
        return Status::OK();
      });
}

namespace {

// Parquet footer statistics of one row group's primary-key columns, as one-element arrays typed
// as the merged key columns (null where unknown).
struct KeyBounds {
  arrow::ArrayVector min, max;
};

enum class Where { kBelow, kMaybe, kAbove };

// Where key `k` lies against a row group's key range: below its smallest key, above its largest,
// or maybe inside. Composite keys are bounded by their leading columns while min == max.
Where Locate(const KeyBounds& b, const KeyRef& k) {
  for (size_t c = 0; c < b.min.size(); ++c) {
    if (!b.min[c] || !b.max[c] || k.columns->at(c)->IsNull(k.row)) return Where::kMaybe;
    const auto& col = *k.columns->at(c);
    if (CompareKeyValueCells(col, k.row, *b.min[c], 0) < 0) return Where::kBelow;
    if (CompareKeyValueCells(col, k.row, *b.max[c], 0) > 0) return Where::kAbove;
    if (CompareKeyValueCells(*b.min[c], 0, *b.max[c], 0) != 0) return Where::kMaybe;
  }
  return Where::kMaybe;
}

class FileLookup : public KeyValueFileLookup {
 public:
  FileLookup(const fs::FileSystem& fs, const paimon::TableSchema& schema,
             const std::map<int64_t, paimon::TableSchema>& schemas, std::string table_path,
             paimon::ManifestEntry e, const std::vector<uint32_t>* deleted,
             arrow::MemoryPool* pool, std::vector<int> key_fields)
      : fs_(fs), schema_(schema), schemas_(schemas), table_path_(std::move(table_path)),
        entry_(std::move(e)), deleted_(deleted && !deleted->empty() ? deleted : nullptr),
        pool_(pool), key_fields_(std::move(key_fields)) {}

  int64_t row_groups_decoded() const override { return decoded_; }
  int64_t row_groups_skipped() const override { return skipped_; }

  Result<KeyValueRows> Find(const std::vector<KeyRef>& keys,
                            std::vector<size_t>* matched) override {
    if (!opened_) {
      auto st = OpenFile();
      if (!st.ok()) return Status::IOError("data file ", plan_.path, ": ", st.message());
      opened_ = true;
    }
    std::vector<KeyValueRows> found;
    std::vector<int64_t> take;  // rows of the current chunk found
    auto flush = [&]() -> Status {
      if (take.empty()) return Status::OK();
      arrow::Int64Builder b(pool_);
      ARROW_RETURN_NOT_OK(b.AppendValues(take));
      ARROW_ASSIGN_OR_RAISE(auto idx, b.Finish());
      arrow::compute::ExecContext ctx(pool_);
      ARROW_ASSIGN_OR_RAISE(auto taken, arrow::compute::Take(arrow::Datum(chunk_.values), idx,
                                                             arrow::compute::TakeOptions{}, &ctx));
      KeyValueRows rows;
      rows.level = chunk_.level;
      rows.values = taken.table();
      for (int64_t r : take) {
        rows.sequence_numbers.push_back(chunk_.sequence_numbers[r]);
        rows.kinds.push_back(chunk_.kinds[r]);
      }
      found.push_back(std::move(rows));
      take.clear();
      return Status::OK();
    };
    for (size_t i = 0; i < keys.size() && !done_; ++i) {
      const KeyRef& key = keys[i];
      while (!done_) {
        if (pos_ < ChunkRows()) {
          int64_t lo = pos_, hi = ChunkRows();
          while (lo < hi) {
            int64_t mid = lo + (hi - lo) / 2;
            if (CompareKeyRefs(KeyRef{&chunk_keys_, mid}, key) < 0) {
              lo = mid + 1;
            } else {
              hi = mid;
            }
          }
          pos_ = lo;
          if (lo < ChunkRows()) {
            if (CompareKeyRefs(KeyRef{&chunk_keys_, lo}, key) == 0) {
              take.push_back(lo);
              matched->push_back(i);
            }
            break;  // the key is at lo or not in the file
          }
          continue;  // the key is above this chunk
        }
        ARROW_RETURN_NOT_OK(flush());
        if (decoding_) {
          ARROW_RETURN_NOT_OK(NextChunk());
          continue;
        }
        if (rg_ >= num_row_groups_) {
          done_ = true;
          break;
        }
        const Where w = bounds_.empty() ? Where::kMaybe : Locate(bounds_[rg_], key);
        if (w == Where::kAbove) {
          ++skipped_;
          position_ += rg_rows_[rg_];
          ++rg_;
          continue;
        }
        if (w == Where::kBelow) break;  // not in the file: its next row group starts above
        ARROW_RETURN_NOT_OK(StartRowGroup());
      }
    }
    ARROW_RETURN_NOT_OK(flush());
    KeyValueRows out;
    out.level = entry_.file.level;
    if (found.empty()) {
      ARROW_ASSIGN_OR_RAISE(out.values,
                            arrow::Table::MakeEmpty(KeyValueOutputSchema(schema_), pool_));
      return out;
    }
    std::vector<std::shared_ptr<arrow::Table>> tables;
    for (auto& f : found) {
      tables.push_back(f.values);
      out.sequence_numbers.insert(out.sequence_numbers.end(), f.sequence_numbers.begin(),
                                  f.sequence_numbers.end());
      out.kinds.insert(out.kinds.end(), f.kinds.begin(), f.kinds.end());
    }
    ARROW_ASSIGN_OR_RAISE(auto all, arrow::ConcatenateTables(
                                        tables, arrow::ConcatenateTablesOptions::Defaults(), pool_));
    ARROW_ASSIGN_OR_RAISE(out.values, all->CombineChunks(pool_));
    return out;
  }

 private:
  int64_t ChunkRows() const { return chunk_.values ? chunk_.values->num_rows() : 0; }

  Status OpenFile() {
    ARROW_ASSIGN_OR_RAISE(plan_, PlanKeyValueFile(table_path_, schema_, schemas_, entry_));
    if (plan_.format != "parquet") {
      // ORC and Avro: one "row group" of the whole file, without statistics.
      ARROW_ASSIGN_OR_RAISE(whole_, ReadKeyValueRows(fs_, table_path_, schema_, schemas_, entry_,
                                                     deleted_));
      num_row_groups_ = 1;
      rg_rows_ = {plan_.row_count};
      return Status::OK();
    }
    ARROW_ASSIGN_OR_RAISE(reader_, OpenStreaming(fs_, plan_, kLookupChunkRows, pool_));
    ARROW_ASSIGN_OR_RAISE(leaves_, paimon::ParquetLeafColumns(*reader_, plan_.columns));
    auto md = reader_->parquet_reader()->metadata();
    std::shared_ptr<arrow::Schema> file_schema;
    ARROW_RETURN_NOT_OK(reader_->GetSchema(&file_schema));
    const auto& manifest = reader_->manifest();
    num_row_groups_ = reader_->num_row_groups();
    auto out_schema = KeyValueOutputSchema(schema_);
    // The key columns' leaf indices, where their statistics are comparable with the keys.
    std::vector<int> stat_leaf;
    for (int k : key_fields_) {
      int leaf = -1;
      const paimon::DataField* ff = k >= 0 ? plan_.file_fields[k] : nullptr;
      const auto& type = out_schema->field(k)->type();
      if (ff && ff->type->ToString() == schema_.fields[k].type->ToString() &&
          !arrow::is_floating(type->id())) {
        int i = file_schema->GetFieldIndex(ff->name);
        if (i >= 0 && manifest.schema_fields[i].children.empty() &&
            file_schema->field(i)->type()->Equals(type)) {
          leaf = manifest.schema_fields[i].column_index;
        }
      }
      stat_leaf.push_back(leaf);
    }
    for (int rg = 0; rg < num_row_groups_; ++rg) {
      auto group = md->RowGroup(rg);
      rg_rows_.push_back(group->num_rows());
      KeyBounds b;
      for (size_t c = 0; c < key_fields_.size(); ++c) {
        std::shared_ptr<arrow::Array> lo, hi;
        auto stats = stat_leaf[c] >= 0 ? group->ColumnChunk(stat_leaf[c])->statistics() : nullptr;
        if (stats && stats->HasMinMax()) {
          std::shared_ptr<arrow::Scalar> a, z;
          const auto& type = out_schema->field(key_fields_[c])->type();
          if (parquet::arrow::StatisticsAsScalars(*stats, &a, &z).ok()) {
            auto ca = a->CastTo(type);
            auto cz = z->CastTo(type);
            if (ca.ok() && cz.ok()) {
              auto la = arrow::MakeArrayFromScalar(**ca, 1, pool_);
              auto lz = arrow::MakeArrayFromScalar(**cz, 1, pool_);
              if (la.ok() && lz.ok()) {
                lo = *la;
                hi = *lz;
              }
            }
          }
        }
        b.min.push_back(lo);
        b.max.push_back(hi);
      }
      bounds_.push_back(std::move(b));
    }
    return Status::OK();
  }

  Status StartRowGroup() {
    ++decoded_;
    if (!reader_) {  // ORC / Avro: the rows read whole
      batches_done_whole_ = false;
      decoding_ = true;
      return NextChunk();
    }
    ARROW_ASSIGN_OR_RAISE(rg_batches_, reader_->GetRecordBatchReader({rg_}, leaves_));
    decoding_ = true;
    return NextChunk();
  }

  // The next chunk of the row group being decoded; past its end, the next row group.
  Status NextChunk() {
    chunk_ = KeyValueRows();
    chunk_keys_.clear();
    pos_ = 0;
    if (!reader_) {
      if (!batches_done_whole_) {
        batches_done_whole_ = true;
        chunk_ = std::move(whole_);
        whole_ = KeyValueRows();
        return SetKeys();
      }
      return EndRowGroup();
    }
    std::shared_ptr<arrow::RecordBatch> batch;
    ARROW_RETURN_NOT_OK(rg_batches_->ReadNext(&batch));
    if (!batch) return EndRowGroup();
    const int64_t first = position_ + rg_offset_;
    rg_offset_ += batch->num_rows();
    ARROW_ASSIGN_OR_RAISE(auto table, arrow::Table::FromRecordBatches({batch}));
    batch.reset();
    ARROW_ASSIGN_OR_RAISE(chunk_, ToKeyValueRows(table, plan_, schema_, pool_));
    if (deleted_) {
      ARROW_ASSIGN_OR_RAISE(chunk_, DropDeleted(std::move(chunk_), first, *deleted_, pool_));
    }
    return SetKeys();
  }

  Status EndRowGroup() {
    decoding_ = false;
    rg_batches_.reset();
    position_ += rg_rows_[rg_];
    rg_offset_ = 0;
    ++rg_;
    return Status::OK();
  }

  Status SetKeys() {
    if (!chunk_.values) return Status::OK();
    ARROW_ASSIGN_OR_RAISE(chunk_.values, chunk_.values->CombineChunks(pool_));
    for (int k : key_fields_) {
      if (k < 0 || k >= chunk_.values->num_columns()) {
        return Status::Invalid("key-value rows lack primary-key column ", k);
      }
      const auto& col = chunk_.values->column(k);
      if (col->num_chunks() == 0) {
        ARROW_ASSIGN_OR_RAISE(auto empty, arrow::MakeEmptyArray(col->type(), pool_));
        chunk_keys_.push_back(empty);
      } else {
        chunk_keys_.push_back(col->chunk(0));
      }
    }
    return Status::OK();
  }

  const fs::FileSystem& fs_;
  const paimon::TableSchema& schema_;
  const std::map<int64_t, paimon::TableSchema>& schemas_;
  std::string table_path_;
  paimon::ManifestEntry entry_;
  const std::vector<uint32_t>* deleted_;
  arrow::MemoryPool* pool_;
  std::vector<int> key_fields_;

  bool opened_ = false;
  bool done_ = false;
  KeyValueFilePlan plan_;
  std::unique_ptr<parquet::arrow::FileReader> reader_;
  std::vector<int> leaves_;
  int num_row_groups_ = 0;
  std::vector<int64_t> rg_rows_;
  std::vector<KeyBounds> bounds_;
  KeyValueRows whole_;               // ORC / Avro
  bool batches_done_whole_ = false;  // ORC / Avro: the whole rows were handed out
  int rg_ = 0;                       // the row group being decoded or looked at next
  int64_t position_ = 0;             // file position of row group rg_'s first row
  int64_t rg_offset_ = 0;            // rows of row group rg_ read so far
  bool decoding_ = false;            // row group rg_ is being decoded
  std::unique_ptr<arrow::RecordBatchReader> rg_batches_;
  KeyValueRows chunk_;
  arrow::ArrayVector chunk_keys_;
  int64_t pos_ = 0;  // first chunk row a later key can match
  int64_t decoded_ = 0, skipped_ = 0;
};

}  // namespace

int CompareKeyRefs(const KeyRef& a, const KeyRef& b) {
  for (size_t k = 0; k < a.columns->size(); ++k) {
    int c = CompareKeyValueCells(*(*a.columns)[k], a.row, *(*b.columns)[k], b.row);
    if (c != 0) return c;
  }
  return 0;
}

Result<std::unique_ptr<KeyValueFileLookup>> KeyValueFileLookup::Make(
    const fs::FileSystem& fs, const std::string& table_path, const paimon::TableSchema& schema,
    const std::map<int64_t, paimon::TableSchema>& schemas, const paimon::ManifestEntry& e,
    const std::vector<uint32_t>* deleted, arrow::MemoryPool* pool) {
  // The trimmed primary key (partition fields left out), as the files' _KEY_ columns hold it.
  ARROW_ASSIGN_OR_RAISE(auto format, KeyValueFileFormat::Make(schema));
  return std::unique_ptr<KeyValueFileLookup>(
      new FileLookup(fs, schema, schemas, table_path, e, deleted, pool, format.key_columns));
}

}  // namespace millpond::table
