// Streaming compaction merge: the windows of MergeKeyValueRunsStreaming equal the whole-run merge
// (MergeKeyValuesForCompaction), its memory (through a tracking pool) does not grow with the runs,
// and RewriteCompactUnit's rolled output files read back as the whole-run merge; the lookup
// changelog merge streams too, looking keys up in higher levels as a merge-join that skips row
// groups by their key statistics.
#include "kv_merge_stream.h"

#include <arrow/api.h>
#include <arrow/util/byte_size.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "millpond/paimon/binary_row.h"
#include "millpond/table/changelog.h"
#include "deletion_vector.h"
#include "millpond/table/compaction.h"
#include "millpond/table/key_value_writer.h"
#include "millpond/table/manifest_io.h"
#include "table_test_util.h"

namespace millpond::table {
namespace {

class KvMergeStreamTest : public WarehouseTest {
 protected:
  KvMergeStreamTest() : WarehouseTest("millpond_kv_merge_stream_test_") {}

  paimon::TableSchema Schema(std::map<std::string, std::string> options = {}) {
    paimon::TableSchema s;
    for (auto [name, type] : std::vector<std::pair<std::string, std::string>>{
             {"id", "BIGINT"}, {"v", "DOUBLE"}, {"s", "STRING"}}) {
      paimon::DataField f;
      f.name = name;
      f.type = *paimon::ParseDataType(type);
      s.fields.push_back(f);
    }
    s.primary_keys = {"id"};
    s.options = std::move(options);
    s.options["bucket"] = "1";
    auto prepared = PrepareKeyValueTableSchema(s);
    EXPECT_TRUE(prepared.ok()) << prepared.status().ToString();
    return *prepared;
  }

  std::string TablePath() const { return (dir_ / "t").string(); }

  // `runs` level-0 files of one bucket: run r holds the ids i < n with (7i + r) % 3 != 0, newer
  // runs with larger sequence numbers, every 11th row of a run a DELETE.
  std::vector<paimon::ManifestEntry> WriteRuns(const paimon::TableSchema& schema, int runs,
                                               int64_t n) {
    auto format = *KeyValueFileFormat::Make(schema);
    std::vector<paimon::ManifestEntry> entries;
    std::vector<std::string> written;
    int64_t counter = 0;
    for (int r = 0; r < runs; ++r) {
      arrow::Int64Builder ids, seqs;
      arrow::DoubleBuilder v;
      arrow::StringBuilder s;
      arrow::Int8Builder kinds;
      for (int64_t i = 0; i < n; ++i) {
        if ((7 * i + r) % 3 == 0) continue;
        EXPECT_TRUE(ids.Append(i).ok());
        EXPECT_TRUE(v.Append(r * 1000.0 + static_cast<double>(i)).ok());
        EXPECT_TRUE(s.Append("run" + std::to_string(r) + "-" + std::to_string(i)).ok());
        EXPECT_TRUE(kinds.Append(i % 11 == r % 11 ? 3 : 0).ok());
        EXPECT_TRUE(seqs.Append(r * n + i).ok());
      }
      auto batch_schema = arrow::schema(
          {arrow::field("id", arrow::int64()), arrow::field("v", arrow::float64()),
           arrow::field("s", arrow::utf8()), arrow::field(kValueKindField, arrow::int8()),
           arrow::field(kSequenceNumberField, arrow::int64())});
      const int64_t rows = ids.length();
      auto batch = arrow::RecordBatch::Make(batch_schema, rows,
                                            {*ids.Finish(), *v.Finish(), *s.Finish(),
                                             *kinds.Finish(), *seqs.Finish()});
      KeyValueRunTarget target;
      target.partition = *paimon::SerializeBinaryRow({}, {});
      target.bucket = 0;
      target.dir = *BucketPath(TablePath(), schema, target.partition, 0);
      target.file_prefix = "data-run" + std::to_string(r) + "-";
      target.file_counter = &counter;
      EXPECT_TRUE(catalog_->file_system()->MakeDirs(target.dir).ok());
      auto st = WriteKeyValueRun(*catalog_->file_system(), format, target, batch, &entries,
                                 &written);
      EXPECT_TRUE(st.ok()) << st.ToString();
    }
    return entries;
  }

  // The whole-run merge of the files, and the bytes their rows take decoded.
  KeyValueRows WholeMerge(const paimon::TableSchema& schema,
                          const std::vector<paimon::ManifestEntry>& files, bool drop_delete,
                          int64_t* decoded_bytes = nullptr) {
    std::map<int64_t, paimon::TableSchema> schemas{{schema.id, schema}};
    std::vector<KeyValueRows> runs;
    int64_t bytes = 0;
    for (const auto& e : files) {
      auto rows = ReadKeyValueRows(*catalog_->file_system(), TablePath(), schema, schemas, e,
                                   nullptr);
      EXPECT_TRUE(rows.ok()) << rows.status().ToString();
      bytes += arrow::util::TotalBufferSize(*rows->values) +
               static_cast<int64_t>(rows->sequence_numbers.size() * 9);
      runs.push_back(std::move(*rows));
    }
    if (decoded_bytes) *decoded_bytes = bytes;
    auto merged = MergeKeyValuesForCompaction(schema, runs, drop_delete);
    EXPECT_TRUE(merged.ok()) << merged.status().ToString();
    return std::move(*merged);
  }

  // Streams the merge of `files` through a tracking pool, checking every window against
  // `expected`; returns the pool's peak bytes.
  int64_t StreamAndCompare(const paimon::TableSchema& schema,
                           const std::vector<paimon::ManifestEntry>& files, bool drop_delete,
                           const KeyValueRows& expected) {
    std::map<int64_t, paimon::TableSchema> schemas{{schema.id, schema}};
    arrow::ProxyMemoryPool pool(arrow::default_memory_pool());
    int64_t offset = 0, windows = 0;
    {
      std::vector<std::unique_ptr<KeyValueRunReader>> readers;
      for (const auto& e : files) {
        auto r = OpenKeyValueFileReader(*catalog_->file_system(), TablePath(), schema, schemas, e,
                                        nullptr, &pool);
        EXPECT_TRUE(r.ok()) << r.status().ToString();
        readers.push_back(std::move(*r));
      }
      auto st = MergeKeyValueRunsStreaming(
          schema, std::move(readers), drop_delete, &pool, [&](KeyValueRows w) -> Status {
            const int64_t n = w.values->num_rows();
            EXPECT_GT(n, 0);
            EXPECT_LE(offset + n, expected.values->num_rows());
            if (offset + n > expected.values->num_rows()) return Status::Invalid("too many rows");
            for (int c = 0; c < w.values->num_columns(); ++c) {
              EXPECT_TRUE(w.values->column(c)->Equals(*expected.values->column(c)->Slice(offset, n)))
                  << "column " << c << " at row " << offset;
            }
            for (int64_t i = 0; i < n; ++i) {
              EXPECT_EQ(w.sequence_numbers[i], expected.sequence_numbers[offset + i]);
              EXPECT_EQ(w.kinds[i], expected.kinds[offset + i]);
            }
            offset += n;
            ++windows;
            return Status::OK();
          });
      EXPECT_TRUE(st.ok()) << st.ToString();
    }
    EXPECT_EQ(offset, expected.values->num_rows());
    EXPECT_GT(windows, 1);
    EXPECT_EQ(pool.bytes_allocated(), 0);
    return pool.max_memory();
  }

  // One sorted run at `level`: rows (id, v = tag * 1000 + id, s) for `ids` (ascending), sequence
  // numbers seq0 + position, kind DELETE where `deleted(id)`.
  paimon::ManifestEntry WriteFile(const paimon::TableSchema& schema, int32_t level,
                                  const std::vector<int64_t>& ids, int tag, int64_t seq0,
                                  const std::function<bool(int64_t)>& deleted) {
    auto format = *KeyValueFileFormat::Make(schema);
    arrow::Int64Builder idb, seqs;
    arrow::DoubleBuilder v;
    arrow::StringBuilder s;
    arrow::Int8Builder kinds;
    for (size_t i = 0; i < ids.size(); ++i) {
      EXPECT_TRUE(idb.Append(ids[i]).ok());
      EXPECT_TRUE(v.Append(tag * 1000.0 + static_cast<double>(ids[i])).ok());
      EXPECT_TRUE(s.Append("t" + std::to_string(tag) + "-" + std::to_string(ids[i])).ok());
      EXPECT_TRUE(kinds.Append(deleted(ids[i]) ? 3 : 0).ok());
      EXPECT_TRUE(seqs.Append(seq0 + static_cast<int64_t>(i)).ok());
    }
    auto batch_schema = arrow::schema(
        {arrow::field("id", arrow::int64()), arrow::field("v", arrow::float64()),
         arrow::field("s", arrow::utf8()), arrow::field(kValueKindField, arrow::int8()),
         arrow::field(kSequenceNumberField, arrow::int64())});
    const int64_t rows = idb.length();
    auto batch = arrow::RecordBatch::Make(
        batch_schema, rows, {*idb.Finish(), *v.Finish(), *s.Finish(), *kinds.Finish(),
                             *seqs.Finish()});
    KeyValueRunTarget target;
    target.partition = *paimon::SerializeBinaryRow({}, {});
    target.dir = *BucketPath(TablePath(), schema, target.partition, 0);
    target.file_prefix = "data-l" + std::to_string(level) + "-" + std::to_string(tag) + "-";
    int64_t counter = 0;
    target.file_counter = &counter;
    target.level = level;
    EXPECT_TRUE(catalog_->file_system()->MakeDirs(target.dir).ok());
    std::vector<paimon::ManifestEntry> entries;
    std::vector<std::string> written;
    auto st = WriteKeyValueRun(*catalog_->file_system(), format, target, batch, &entries, &written);
    EXPECT_TRUE(st.ok()) << st.ToString();
    EXPECT_EQ(entries.size(), 1u);
    return entries.front();
  }

  struct LookupResult {
    std::vector<std::string> output;     // "id:v:seq:kind" of the compaction output
    std::vector<std::string> changelog;  // "kind:id:v:seq" of the changelog files
    int64_t peak = 0;
    int64_t decoded = 0, skipped = 0;
  };

  // The lookup changelog compaction of `level0` (output level 4) over `top` (level 5) through a
  // tracking pool.
  LookupResult LookupCompact(const paimon::TableSchema& schema, const paimon::ManifestEntry& top,
                             const paimon::ManifestEntry& level0) {
    std::map<int64_t, paimon::TableSchema> schemas{{schema.id, schema}};
    std::vector<paimon::ManifestEntry> bucket{level0, top};
    CompactUnit unit;
    unit.output_level = 4;
    unit.files = {level0};
    unit.runs = 1;
    ChangelogOutput out;
    out.bucket_files = &bucket;
    std::vector<std::string> written;
    LookupResult r;
    arrow::ProxyMemoryPool pool(arrow::default_memory_pool());
    {
      std::vector<std::unique_ptr<KeyValueRunReader>> readers;
      auto reader = OpenKeyValueFileReader(*catalog_->file_system(), TablePath(), schema, schemas,
                                           level0, nullptr, &pool);
      EXPECT_TRUE(reader.ok()) << reader.status().ToString();
      readers.push_back(std::move(*reader));
      auto st = MergeWithChangelog(
          *catalog_->file_system(), TablePath(), schema, schemas, unit, std::move(readers),
          /*drop_delete=*/false, &out, &written, &pool, [&](KeyValueRows w) -> Status {
            auto t = *w.values->CombineChunks();
            auto id = std::static_pointer_cast<arrow::Int64Array>(t->column(0)->chunk(0));
            auto v = std::static_pointer_cast<arrow::DoubleArray>(t->column(1)->chunk(0));
            for (int64_t i = 0; i < t->num_rows(); ++i) {
              r.output.push_back(std::to_string(id->Value(i)) + ":" + std::to_string(v->Value(i)) +
                                 ":" + std::to_string(w.sequence_numbers[i]) + ":" +
                                 std::to_string(static_cast<int>(w.kinds[i])));
            }
            return Status::OK();
          });
      EXPECT_TRUE(st.ok()) << st.ToString();
    }
    EXPECT_EQ(pool.bytes_allocated(), 0);
    r.peak = pool.max_memory();
    r.decoded = out.lookup_row_groups_decoded;
    r.skipped = out.lookup_row_groups_skipped;
    for (const auto& e : out.files) {
      EXPECT_EQ(e.file.level, 4);
      auto rows = ReadKeyValueRows(*catalog_->file_system(), TablePath(), schema, schemas, e,
                                   nullptr);
      EXPECT_TRUE(rows.ok()) << rows.status().ToString();
      auto t = *rows->values->CombineChunks();
      auto id = std::static_pointer_cast<arrow::Int64Array>(t->column(0)->chunk(0));
      auto v = std::static_pointer_cast<arrow::DoubleArray>(t->column(1)->chunk(0));
      for (int64_t i = 0; i < t->num_rows(); ++i) {
        r.changelog.push_back(std::to_string(static_cast<int>(rows->kinds[i])) + ":" +
                              std::to_string(id->Value(i)) + ":" + std::to_string(v->Value(i)) +
                              ":" + std::to_string(rows->sequence_numbers[i]));
      }
    }
    return r;
  }

  // Paimon's lookup changelog of deduplicate, from the rows: `top` ids (tag 0, DELETE where
  // top_deleted) under level-0 `ids` (tag 1, newer, DELETE where l0_deleted).
  static LookupResult LookupModel(const std::vector<int64_t>& top, int64_t top_seq0,
                                  const std::function<bool(int64_t)>& top_deleted,
                                  const std::vector<int64_t>& ids, int64_t seq0,
                                  const std::function<bool(int64_t)>& l0_deleted) {
    std::map<int64_t, int64_t> top_pos;
    for (size_t i = 0; i < top.size(); ++i) top_pos[top[i]] = static_cast<int64_t>(i);
    auto row = [](int kind, int64_t id, int tag, int64_t seq) {
      return std::to_string(kind) + ":" + std::to_string(id) + ":" +
             std::to_string(tag * 1000.0 + static_cast<double>(id)) + ":" + std::to_string(seq);
    };
    LookupResult m;
    for (size_t i = 0; i < ids.size(); ++i) {
      const int64_t id = ids[i], seq = seq0 + static_cast<int64_t>(i);
      const bool del = l0_deleted(id);
      m.output.push_back(std::to_string(id) + ":" + std::to_string(1000.0 + id) + ":" +
                         std::to_string(seq) + ":" + (del ? "3" : "0"));
      auto it = top_pos.find(id);
      const bool before = it != top_pos.end() && !top_deleted(id);
      if (!before) {
        if (!del) m.changelog.push_back(row(0, id, 1, seq));
      } else if (del) {
        m.changelog.push_back(row(3, id, 0, top_seq0 + it->second));
      } else {
        m.changelog.push_back(row(1, id, 0, top_seq0 + it->second));
        m.changelog.push_back(row(2, id, 1, seq));
      }
    }
    return m;
  }
};

TEST_F(KvMergeStreamTest, WindowsEqualTheWholeMergeInBoundedMemory) {
  auto schema = Schema();
  // 4 runs of ~67K rows, then 4 runs four times as long: the streaming merge's peak stays about
  // the same and far below the decoded runs, which the whole-run merge holds at once.
  auto small = WriteRuns(schema, 4, 100'000);
  int64_t small_bytes = 0;
  auto small_expected = WholeMerge(schema, small, /*drop_delete=*/false, &small_bytes);
  const int64_t small_peak = StreamAndCompare(schema, small, false, small_expected);

  std::filesystem::remove_all(TablePath());
  auto large = WriteRuns(schema, 4, 400'000);
  int64_t large_bytes = 0;
  auto large_expected = WholeMerge(schema, large, /*drop_delete=*/false, &large_bytes);
  const int64_t large_peak = StreamAndCompare(schema, large, false, large_expected);

  RecordProperty("small_peak", std::to_string(small_peak));
  RecordProperty("large_peak", std::to_string(large_peak));
  RecordProperty("large_bytes", std::to_string(large_bytes));
  EXPECT_GT(large_bytes, 40ll << 20);  // the input of the large merge, decoded
  EXPECT_LT(large_peak, large_bytes / 3) << "peak " << large_peak << " of " << large_bytes;
  EXPECT_LT(large_peak, 16ll << 20);
  EXPECT_LT(large_peak, small_peak * 5 / 4 + (1 << 20))
      << "small " << small_peak << " large " << large_peak;
}

TEST_F(KvMergeStreamTest, DropsDeletesAndKeepsRunOrderForTies) {
  auto schema = Schema();
  auto files = WriteRuns(schema, 3, 20'000);
  auto expected = WholeMerge(schema, files, /*drop_delete=*/true);
  StreamAndCompare(schema, files, true, expected);
  // The same runs again as the newest: equal keys and sequence numbers, later runs win.
  auto again = files;
  again.insert(again.end(), files.begin(), files.end());
  auto expected_again = WholeMerge(schema, again, /*drop_delete=*/false);
  StreamAndCompare(schema, again, false, expected_again);
}

TEST_F(KvMergeStreamTest, RewriteCompactUnitRollsFilesThatReadBackAsTheWholeMerge) {
  auto schema = Schema({{"target-file-size", "256 kb"}});
  auto files = WriteRuns(schema, 5, 60'000);
  auto expected = WholeMerge(schema, files, /*drop_delete=*/true);
  CompactUnit unit;
  unit.output_level = 5;
  unit.files = files;
  unit.runs = static_cast<int>(files.size());
  std::map<int64_t, paimon::TableSchema> schemas{{schema.id, schema}};
  std::vector<std::string> written;
  auto out = RewriteCompactUnit(*catalog_->file_system(), TablePath(), schema, schemas, unit,
                                /*drop_delete=*/true, &written);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  std::vector<paimon::ManifestEntry> added;
  size_t deletes = 0;
  for (const auto& e : *out) {
    if (e.kind == paimon::FileKind::kDelete) {
      EXPECT_EQ(added.size(), 0u) << "DELETE entries come first";
      ++deletes;
    } else {
      added.push_back(e);
    }
  }
  EXPECT_EQ(deletes, files.size());
  ASSERT_GT(added.size(), 1u) << "rolled at target-file-size";
  EXPECT_EQ(written.size(), added.size());
  std::vector<std::shared_ptr<arrow::Table>> tables;
  std::vector<int64_t> seqs;
  int64_t rows = 0;
  for (const auto& e : added) {
    EXPECT_EQ(e.file.level, 5);
    EXPECT_EQ(e.file.delete_row_count.value_or(-1), 0);
    auto r = ReadKeyValueRows(*catalog_->file_system(), TablePath(), schema, schemas, e, nullptr);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->values->num_rows(), e.file.row_count);
    EXPECT_EQ(*std::min_element(r->sequence_numbers.begin(), r->sequence_numbers.end()),
              e.file.min_sequence_number);
    EXPECT_EQ(*std::max_element(r->sequence_numbers.begin(), r->sequence_numbers.end()),
              e.file.max_sequence_number);
    rows += e.file.row_count;
    tables.push_back(r->values);
    seqs.insert(seqs.end(), r->sequence_numbers.begin(), r->sequence_numbers.end());
  }
  // Files follow each other in key order.
  for (size_t i = 1; i < added.size(); ++i) {
    auto prev = *paimon::DeserializeBinaryRow(added[i - 1].file.max_key, {schema.fields[0].type});
    auto next = *paimon::DeserializeBinaryRow(added[i].file.min_key, {schema.fields[0].type});
    EXPECT_LT(static_cast<const arrow::Int64Scalar&>(*prev[0]).value,
              static_cast<const arrow::Int64Scalar&>(*next[0]).value);
  }
  EXPECT_EQ(rows, expected.values->num_rows());
  auto all = *arrow::ConcatenateTables(tables);
  EXPECT_TRUE(all->Equals(*expected.values));
  EXPECT_EQ(seqs, expected.sequence_numbers);
}

// The lookup changelog merge streams: its output and changelog equal Paimon's rules applied to
// the rows, keys are looked up in the level-5 file without decoding it whole (only the row groups
// that may hold a level-0 key), and its peak memory does not grow with the level-5 file.
TEST_F(KvMergeStreamTest, LookupChangelogStreamsAndSkipsRowGroupsByKeyStatistics) {
  auto schema = Schema({{"changelog-producer", "lookup"}});
  auto top_deleted = [](int64_t id) { return id % 13 == 5; };
  auto l0_deleted = [](int64_t id) { return id % 7 == 3; };
  auto evens = [](int64_t n) {
    std::vector<int64_t> v;
    for (int64_t i = 0; i < n; i += 2) v.push_back(i);
    return v;
  };
  // Level-0 keys in a narrow range (half of them absent above) plus a few past the top's end.
  std::vector<int64_t> clustered;
  for (int64_t i = 200'000; i < 203'000; ++i) clustered.push_back(i);
  for (int64_t i = 5'000'000; i < 5'000'010; ++i) clustered.push_back(i);
  // Level-0 keys spread over the whole top file: every row group is decoded.
  std::vector<int64_t> spread;
  for (int64_t i = 1; i < 3'200'000; i += 1'001) spread.push_back(i);
  for (int64_t i = 0; i < 3'200'000; i += 50'000) spread.push_back(i);
  std::sort(spread.begin(), spread.end());
  spread.erase(std::unique(spread.begin(), spread.end()), spread.end());

  int64_t peaks[2] = {0, 0};
  int64_t top_rows = 0;
  for (int size = 0; size < 2; ++size) {
    std::filesystem::remove_all(TablePath());
    const int64_t n = size == 0 ? 800'000 : 3'200'000;
    auto top_ids = evens(n);
    top_rows = static_cast<int64_t>(top_ids.size());
    auto top = WriteFile(schema, 5, top_ids, 0, 0, top_deleted);
    const int64_t seq0 = 10'000'000;
    auto l0 = WriteFile(schema, 0, clustered, 1, seq0, l0_deleted);
    auto got = LookupCompact(schema, top, l0);
    auto model = LookupModel(top_ids, 0, top_deleted, clustered, seq0, l0_deleted);
    EXPECT_EQ(got.output, model.output);
    EXPECT_EQ(got.changelog, model.changelog);
    EXPECT_GT(got.changelog.size(), 3000u);
    // 32K-row row groups: the clustered keys touch one or two of them.
    EXPECT_LE(got.decoded, 2) << "size " << size;
    EXPECT_GE(got.decoded + got.skipped, top_rows / (32 * 1024) - 1) << "size " << size;

    // Spread keys: a merge-join through the whole file, in bounded memory.
    std::filesystem::remove_all(TablePath());
    top = WriteFile(schema, 5, top_ids, 0, 0, top_deleted);
    l0 = WriteFile(schema, 0, spread, 1, seq0, l0_deleted);
    got = LookupCompact(schema, top, l0);
    model = LookupModel(top_ids, 0, top_deleted, spread, seq0, l0_deleted);
    EXPECT_EQ(got.output, model.output);
    EXPECT_EQ(got.changelog, model.changelog);
    peaks[size] = got.peak;
  }
  RecordProperty("small_peak", std::to_string(peaks[0]));
  RecordProperty("large_peak", std::to_string(peaks[1]));
  // The large top file holds 1.6M rows (over 40 MB decoded); the merge holds a few batches.
  EXPECT_EQ(top_rows, 1'600'000);
  EXPECT_LT(peaks[1], 8ll << 20);
  EXPECT_LT(peaks[1], peaks[0] * 5 / 4 + (1 << 20)) << "small " << peaks[0] << " large "
                                                     << peaks[1];
}

// Keys deleted in the level-5 file (by a deletion vector) are looked up further up, lowest
// level first: the level-6 record then is the "before".
TEST_F(KvMergeStreamTest, LookupSkipsDeletedPositionsAndGoesToTheNextLevel) {
  auto schema = Schema({{"changelog-producer", "lookup"}, {"num-levels", "7"}});
  std::map<int64_t, paimon::TableSchema> schemas{{schema.id, schema}};
  auto none = [](int64_t) { return false; };
  std::vector<int64_t> l5_ids, l6_ids, l0_ids;
  for (int64_t i = 0; i < 100'000; i += 2) l5_ids.push_back(i);
  for (int64_t i = 0; i < 100'000; ++i) l6_ids.push_back(i);
  for (int64_t i = 0; i < 100'000; i += 333) l0_ids.push_back(i);
  auto l5 = WriteFile(schema, 5, l5_ids, 5, 0, none);
  auto l6 = WriteFile(schema, 6, l6_ids, 6, 0, none);
  auto l0 = WriteFile(schema, 0, l0_ids, 1, 1'000'000, none);
  // Level 5's rows of ids divisible by 4 are deleted.
  std::vector<uint32_t> positions;
  for (size_t p = 0; p < l5_ids.size(); ++p) {
    if (l5_ids[p] % 4 == 0) positions.push_back(static_cast<uint32_t>(p));
  }
  DeletionVectors dvs;
  dvs.Add(l5.partition, l5.bucket, l5.file.file_name, positions);
  std::vector<paimon::ManifestEntry> bucket{l0, l6, l5};
  CompactUnit unit;
  unit.output_level = 4;
  unit.files = {l0};
  unit.runs = 1;
  for (int with_dv = 0; with_dv < 2; ++with_dv) {
    ChangelogOutput out;
    out.bucket_files = &bucket;
    if (with_dv) out.dvs = &dvs;
    std::vector<std::unique_ptr<KeyValueRunReader>> readers;
    readers.push_back(*OpenKeyValueFileReader(*catalog_->file_system(), TablePath(), schema,
                                              schemas, l0, nullptr, arrow::default_memory_pool()));
    std::vector<std::string> written;
    auto st = MergeWithChangelog(*catalog_->file_system(), TablePath(), schema, schemas, unit,
                                 std::move(readers), false, &out, &written,
                                 arrow::default_memory_pool(),
                                 [](KeyValueRows) { return Status::OK(); });
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_EQ(out.files.size(), 1u);
    auto rows = *ReadKeyValueRows(*catalog_->file_system(), TablePath(), schema, schemas,
                                  out.files[0], nullptr);
    auto t = *rows.values->CombineChunks();
    auto id = std::static_pointer_cast<arrow::Int64Array>(t->column(0)->chunk(0));
    auto v = std::static_pointer_cast<arrow::DoubleArray>(t->column(1)->chunk(0));
    size_t k = 0;
    for (int64_t key : l0_ids) {
      // -U of the lowest live record above, then +U of the level-0 row.
      const bool in5 = key % 2 == 0 && !(with_dv && key % 4 == 0);
      ASSERT_LT(k + 1, static_cast<size_t>(t->num_rows()));
      EXPECT_EQ(rows.kinds[k], RowKind::kUpdateBefore);
      EXPECT_EQ(id->Value(k), key);
      EXPECT_EQ(v->Value(k), (in5 ? 5000.0 : 6000.0) + key) << key << " dv " << with_dv;
      EXPECT_EQ(rows.kinds[k + 1], RowKind::kUpdateAfter);
      EXPECT_EQ(v->Value(k + 1), 1000.0 + key);
      k += 2;
    }
    EXPECT_EQ(k, static_cast<size_t>(t->num_rows()));
  }
}

}  // namespace
}  // namespace millpond::table
