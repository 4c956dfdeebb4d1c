// KeyValueWriter tests on a real local warehouse: file layout, buffer flushes at
// write-buffer-size, sequence numbers across writers and commits, row kinds, bad input.
#include <filesystem>

#include <arrow/api.h>
#include <arrow/compute/initialize.h>
#include <gtest/gtest.h>

#include "millpond/paimon/binary_row.h"
#include "millpond/paimon/data_file.h"
#include "millpond/table/catalog.h"
#include "millpond/table/key_value_writer.h"
#include "table_test_util.h"

namespace millpond::table {
namespace {

class KeyValueWriterTest : public WarehouseTest {
 protected:
  KeyValueWriterTest() : WarehouseTest("millpond_kv_test_") {}

  std::unique_ptr<Table> Create(std::map<std::string, std::string> options,
                                std::vector<std::string> partition = {}) {
    paimon::TableSchema s;
    for (auto [name, type] : std::vector<std::pair<std::string, std::string>>{
             {"id", "BIGINT"}, {"line", "STRING"}, {"value", "INT"}}) {
      paimon::DataField f;
      f.name = name;
      f.type = *paimon::ParseDataType(type);
      s.fields.push_back(f);
    }
    s.partition_keys = partition;
    s.primary_keys = {"id"};
    for (const auto& p : partition) s.primary_keys.push_back(p);
    s.options = options;
    auto prepared = PrepareKeyValueTableSchema(s);
    EXPECT_TRUE(prepared.ok()) << prepared.status().ToString();
    if (!prepared.ok()) return nullptr;
    SchemaManager schemas(catalog_->file_system(), catalog_->TablePath("db", "t"));
    auto ok = schemas.TryCommit(*prepared);
    EXPECT_TRUE(ok.ok() && *ok);
    auto t = catalog_->GetTable("db.t");
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? std::move(*t) : nullptr;
  }

  std::unique_ptr<KeyValueWriter> Writer(const Table& t) {
    auto schema = t.LatestSchema();
    EXPECT_TRUE(schema.ok());
    auto w = KeyValueWriter::Make(t.file_system(), t.path(), *schema);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    return w.ok() ? std::move(*w) : nullptr;
  }

  // Rows (id, "L<id % 3>", value); ids may be null (std::nullopt).
  static std::shared_ptr<arrow::RecordBatch> Batch(const std::vector<std::optional<int64_t>>& ids,
                                                   int32_t value,
                                                   const std::vector<std::string>& kinds = {}) {
    arrow::Int64Builder idb;
    arrow::StringBuilder lines;
    arrow::Int32Builder values;
    arrow::StringBuilder kb;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (ids[i]) {
        EXPECT_TRUE(idb.Append(*ids[i]).ok());
        EXPECT_TRUE(lines.Append("L" + std::to_string(*ids[i] % 3)).ok());
      } else {
        EXPECT_TRUE(idb.AppendNull().ok());
        EXPECT_TRUE(lines.Append("L").ok());
      }
      EXPECT_TRUE(values.Append(value).ok());
      if (!kinds.empty()) {
        EXPECT_TRUE(kb.Append(kinds[i]).ok());
      }
    }
    arrow::FieldVector fields = {arrow::field("id", arrow::int64()),
                                 arrow::field("line", arrow::utf8()),
                                 arrow::field("value", arrow::int32())};
    arrow::ArrayVector cols = {*idb.Finish(), *lines.Finish(), *values.Finish()};
    if (!kinds.empty()) {
      fields.push_back(arrow::field(kRowKindColumn, arrow::utf8()));
      cols.push_back(*kb.Finish());
    }
    return arrow::RecordBatch::Make(arrow::schema(fields), static_cast<int64_t>(ids.size()),
                                    cols);
  }

  std::shared_ptr<arrow::Table> ReadFile(const Table& t, const paimon::ManifestEntry& e) {
    std::string path = t.path() + "/bucket-" + std::to_string(e.bucket) + "/" + e.file.file_name;
    auto r = paimon::ReadDataFile(*t.file_system(), path, "parquet", {});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : nullptr;
  }
};

TEST_F(KeyValueWriterTest, FileLayoutAndMetaFollowPaimon) {
  auto t = Create({{"bucket", "1"}});
  ASSERT_TRUE(t);
  auto w = Writer(*t);
  ASSERT_TRUE(w);
  // Out of key order, with a duplicate key (the later row wins) and one delete.
  ASSERT_TRUE(w->Write(Batch({5, 1, 3}, 10)).ok());
  ASSERT_TRUE(w->Write(Batch({3}, 20)).ok());
  ASSERT_TRUE(w->Write(Batch({7}, 0), RowKind::kDelete).ok());
  auto entries = w->PrepareCommit();
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  ASSERT_EQ(entries->size(), 1u);
  const auto& f = (*entries)[0].file;
  EXPECT_EQ(f.level, 0);
  EXPECT_EQ(f.row_count, 4);  // 1, 3 (value 20), 5, 7 (delete)
  EXPECT_EQ(f.delete_row_count, 1);
  EXPECT_EQ(f.min_sequence_number, 0);
  EXPECT_EQ(f.max_sequence_number, 4);
  EXPECT_EQ(f.key_stats.null_counts.size(), 1u);
  EXPECT_EQ(f.value_stats.null_counts.size(), 3u);
  EXPECT_EQ(f.file_source, static_cast<int32_t>(paimon::FileSource::kAppend));
  EXPECT_EQ(f.file_name.rfind("data-", 0), 0u);
  EXPECT_NE(f.min_key, f.max_key);

  auto data = ReadFile(*t, (*entries)[0]);
  ASSERT_TRUE(data);
  std::vector<std::string> names;
  for (const auto& field : data->schema()->fields()) names.push_back(field->name());
  EXPECT_EQ(names, (std::vector<std::string>{"_KEY_id", "_SEQUENCE_NUMBER", "_VALUE_KIND", "id",
                                             "line", "value"}));
  EXPECT_EQ(data->schema()->field(0)->metadata()->Get("PARQUET:field_id").ValueOrDie(),
            "1073741823");
  EXPECT_EQ(data->schema()->field(1)->metadata()->Get("PARQUET:field_id").ValueOrDie(),
            "2147483646");
  EXPECT_EQ(data->schema()->field(2)->metadata()->Get("PARQUET:field_id").ValueOrDie(),
            "2147483645");
  auto keys = std::static_pointer_cast<arrow::Int64Array>(data->column(0)->chunk(0));
  auto seqs = std::static_pointer_cast<arrow::Int64Array>(data->column(1)->chunk(0));
  auto kinds = std::static_pointer_cast<arrow::Int8Array>(data->column(2)->chunk(0));
  auto values = std::static_pointer_cast<arrow::Int32Array>(data->column(5)->chunk(0));
  std::vector<int64_t> k, s;
  for (int64_t i = 0; i < keys->length(); ++i) {
    k.push_back(keys->Value(i));
    s.push_back(seqs->Value(i));
  }
  EXPECT_EQ(k, (std::vector<int64_t>{1, 3, 5, 7}));
  EXPECT_EQ(s, (std::vector<int64_t>{1, 3, 0, 4}));
  EXPECT_EQ(values->Value(1), 20);
  EXPECT_EQ(kinds->Value(3), 3);
  EXPECT_EQ(kinds->Value(0), 0);
}

TEST_F(KeyValueWriterTest, FlushesSortedRunsWhenBufferIsFull) {
  auto t = Create({{"bucket", "2"}, {"write-buffer-size", "8 kb"}});
  ASSERT_TRUE(t);
  auto w = Writer(*t);
  ASSERT_TRUE(w);
  for (int b = 0; b < 20; ++b) {
    std::vector<std::optional<int64_t>> ids;
    for (int64_t i = 0; i < 100; ++i) ids.push_back((i * 7919 + b * 13) % 1000);
    ASSERT_TRUE(w->Write(Batch(ids, b)).ok());
    EXPECT_LT(w->buffered_bytes(), 8 * 1024);
  }
  EXPECT_GT(w->flush_count(), 2);
  auto entries = w->PrepareCommit();
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  EXPECT_GT(entries->size(), 2u);
  for (const auto& e : *entries) {
    EXPECT_EQ(e.file.level, 0);
    EXPECT_EQ(e.total_buckets, 2);
    auto data = ReadFile(*t, e);
    ASSERT_TRUE(data);
    auto keys = std::static_pointer_cast<arrow::Int64Array>(data->column(0)->chunk(0));
    for (int64_t i = 1; i < keys->length(); ++i) {
      ASSERT_LT(keys->Value(i - 1), keys->Value(i)) << e.file.file_name;  // sorted, deduplicated
    }
  }
  ASSERT_TRUE(t->Commit(*entries).ok());
}

TEST_F(KeyValueWriterTest, SequenceNumbersContinueAcrossCommitsAndWriters) {
  auto t = Create({{"bucket", "1"}});
  ASSERT_TRUE(t);
  auto w1 = Writer(*t);
  ASSERT_TRUE(w1);
  ASSERT_TRUE(w1->Write(Batch({1, 2, 3}, 1)).ok());
  auto e1 = w1->PrepareCommit();
  ASSERT_TRUE(e1.ok());
  ASSERT_TRUE(t->Commit(*e1).ok());
  // The same writer keeps counting after a commit.
  ASSERT_TRUE(w1->Write(Batch({2}, 2)).ok());
  auto e2 = w1->PrepareCommit();
  ASSERT_TRUE(e2.ok());
  ASSERT_EQ(e2->size(), 1u);
  EXPECT_EQ((*e2)[0].file.min_sequence_number, 3);
  ASSERT_TRUE(t->Commit(*e2).ok());
  // A new writer (a restart) continues after the live files of the latest snapshot.
  auto w2 = Writer(*t);
  ASSERT_TRUE(w2);
  ASSERT_TRUE(w2->Write(Batch({1, 9}, 3)).ok());
  auto e3 = w2->PrepareCommit();
  ASSERT_TRUE(e3.ok());
  ASSERT_EQ(e3->size(), 1u);
  EXPECT_EQ((*e3)[0].file.min_sequence_number, 4);
  EXPECT_EQ((*e3)[0].file.max_sequence_number, 5);
}

TEST_F(KeyValueWriterTest, NullPrimaryKeyNamesRowAndColumn) {
  auto t = Create({{"bucket", "1"}});
  ASSERT_TRUE(t);
  auto w = Writer(*t);
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->Write(Batch({1, 2}, 1)).ok());
  Status st = w->Write(Batch({3, std::nullopt}, 1));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("row 4"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("'id'"), std::string::npos) << st.ToString();
  w->Abort();
}

TEST_F(KeyValueWriterTest, RowKindColumnAndPartitions) {
  auto t = Create({{"bucket", "2"}}, {"line"});
  ASSERT_TRUE(t);
  auto w = Writer(*t);
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->Write(Batch({1, 2, 3, 4}, 1, {"+I", "+U", "-U", "-D"})).ok());
  Status bad = w->Write(Batch({1}, 1, {"X"}));
  EXPECT_FALSE(bad.ok());
  auto entries = w->PrepareCommit();
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  int64_t rows = 0, deletes = 0;
  for (const auto& e : *entries) {
    rows += e.file.row_count;
    deletes += e.file.delete_row_count.value_or(0);
    EXPECT_NE(e.partition, paimon::EmptySerializedBinaryRow());
  }
  EXPECT_EQ(rows, 4);
  EXPECT_EQ(deletes, 2);
  ASSERT_TRUE(t->Commit(*entries).ok());
}

TEST_F(KeyValueWriterTest, RejectsBadTables) {
  paimon::TableSchema s;
  paimon::DataField f;
  f.name = "id";
  f.type = *paimon::ParseDataType("BIGINT");
  s.fields.push_back(f);
  s.primary_keys = {"id"};
  EXPECT_FALSE(PrepareKeyValueTableSchema(s).ok());  // no bucket
  s.options["bucket"] = "2";
  s.options["merge-engine"] = "nope";
  EXPECT_FALSE(PrepareKeyValueTableSchema(s).ok());
  s.options["merge-engine"] = "deduplicate";
  s.options["merge-engine"] = "first-row";
  auto first_row = PrepareKeyValueTableSchema(s);
  ASSERT_TRUE(first_row.ok());
  // First-row tables are written (every commit compacts level 0 up; changelog_test.cc).
  EXPECT_TRUE(KeyValueWriter::Make(catalog_->file_system(), dir_.string() + "/x", *first_row).ok());
  s.options["merge-engine"] = "deduplicate";
  auto ok = PrepareKeyValueTableSchema(s);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_FALSE(ok->fields[0].type->nullable);
}

}  // namespace
}  // namespace millpond::table
