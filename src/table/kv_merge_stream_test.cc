// Streaming compaction merge: the windows of MergeKeyValueRunsStreaming equal the whole-run merge
// (MergeKeyValuesForCompaction), its memory (through a tracking pool) does not grow with the runs,
// and RewriteCompactUnit's rolled output files read back as the whole-run merge.
#include "kv_merge_stream.h"

#include <arrow/api.h>
#include <arrow/util/byte_size.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "millpond/paimon/binary_row.h"
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

}  // namespace
}  // namespace millpond::table
