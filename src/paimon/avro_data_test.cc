// Avro data-file reader tests: Java-written golden files under ../shared/interop (read in place)
// and files we frame ourselves covering the types Paimon's AvroSchemaConverter emits.
#include "millpond/paimon/avro_data.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "paimon/avro_container.h"

namespace millpond::paimon {
namespace {

namespace fs = std::filesystem;

const fs::path kInterop = MILLPOND_INTEROP_DIR;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

template <typename ArrayT>
const ArrayT& Column(const arrow::Table& t, const std::string& name) {
  auto col = t.GetColumnByName(name);
  EXPECT_NE(col, nullptr) << name;
  EXPECT_EQ(col->num_chunks(), 1);
  return static_cast<const ArrayT&>(*col->chunk(0));
}

// README: TIMESTAMP(0/3/6) and TIMESTAMP(0/3/6) WITH LOCAL TIME ZONE, three rows with nulls.
TEST(AvroData, MultipleTimestampPrecisionsAndZones) {
  const fs::path file =
      kInterop /
      "avro/append_with_multiple_ts_precision_and_timezone.db/"
      "append_with_multiple_ts_precision_and_timezone/bucket-0/"
      "data-441e233b-529d-4a8f-a0a4-25c2c84fb965-0.avro";
  auto table = ReadAvroDataFile(ReadFile(file), file.filename().string());
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  const arrow::Table& t = **table;
  ASSERT_EQ(t.num_rows(), 3);
  using arrow::TimeUnit;
  EXPECT_TRUE(t.schema()->Equals(arrow::schema({
      arrow::field("ts_sec", arrow::timestamp(TimeUnit::MILLI)),
      arrow::field("ts_milli", arrow::timestamp(TimeUnit::MILLI)),
      arrow::field("ts_micro", arrow::timestamp(TimeUnit::MICRO)),
      arrow::field("ts_tz_sec", arrow::timestamp(TimeUnit::MILLI, "UTC")),
      arrow::field("ts_tz_milli", arrow::timestamp(TimeUnit::MILLI, "UTC")),
      arrow::field("ts_tz_micro", arrow::timestamp(TimeUnit::MICRO, "UTC")),
  })))
      << t.schema()->ToString();
  // Rows: (1s, 1ms, 1us, 2s, 2ms, 2us), (null, 3ms, null, null, 4ms, null),
  //       (5s, null, 5us, 6s, null, 6us).
  const std::vector<std::vector<std::optional<int64_t>>> expected = {
      {1000, std::nullopt, 5000},    {1, 3, std::nullopt}, {1, std::nullopt, 5},
      {2000, std::nullopt, 6000},    {2, 4, std::nullopt}, {2, std::nullopt, 6},
  };
  for (int c = 0; c < 6; ++c) {
    const auto& col = static_cast<const arrow::TimestampArray&>(*t.column(c)->chunk(0));
    for (int r = 0; r < 3; ++r) {
      const auto& want = expected[c][r];
      ASSERT_EQ(col.IsNull(r), !want.has_value()) << c << "," << r;
      if (want.has_value()) {
        EXPECT_EQ(col.Value(r), *want) << c << "," << r;
      }
    }
  }
}

TEST(AvroData, AllTypesGoldenFile) {
  const fs::path file = kInterop / "avro/data/avro_all_types";
  auto table = ReadAvroDataFile(ReadFile(file), "avro_all_types");
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  const arrow::Table& t = **table;
  EXPECT_TRUE(t.schema()->Equals(arrow::schema({
      arrow::field("f0", arrow::boolean()),
      arrow::field("f1", arrow::int32()),
      arrow::field("f2", arrow::int32()),
      arrow::field("f3", arrow::int32()),
      arrow::field("f4", arrow::int64()),
      arrow::field("f5", arrow::float32()),
      arrow::field("f6", arrow::float64()),
      arrow::field("f7", arrow::utf8()),
      arrow::field("f8", arrow::binary()),
      arrow::field("f10", arrow::list(arrow::field("element", arrow::float32()))),
      arrow::field("f11", arrow::struct_({arrow::field("f0", arrow::boolean()),
                                          arrow::field("f1", arrow::int64())})),
      arrow::field("f12", arrow::timestamp(arrow::TimeUnit::MICRO)),
      arrow::field("f13", arrow::date32()),
      arrow::field("f14", arrow::decimal128(2, 2)),
      arrow::field("f15", arrow::decimal128(10, 10)),
      arrow::field("f16", arrow::decimal128(19, 19)),
  })))
      << t.schema()->ToString();
  ASSERT_EQ(t.num_rows(), 3);
  ASSERT_TRUE(t.ValidateFull().ok());
  // The last row is all nulls; the first two hold each type's extremes.
  for (const auto& column : t.columns()) EXPECT_TRUE(column->chunk(0)->IsNull(2));
  EXPECT_TRUE(Column<arrow::BooleanArray>(t, "f0").Value(0));
  EXPECT_FALSE(Column<arrow::BooleanArray>(t, "f0").Value(1));
  EXPECT_EQ(Column<arrow::Int32Array>(t, "f1").Value(1), -128);
  EXPECT_EQ(Column<arrow::Int32Array>(t, "f2").Value(0), 32767);
  EXPECT_EQ(Column<arrow::Int32Array>(t, "f3").Value(1), INT32_MIN);
  EXPECT_EQ(Column<arrow::Int64Array>(t, "f4").Value(0), 9999999999999);
  EXPECT_FLOAT_EQ(Column<arrow::FloatArray>(t, "f5").Value(1), -1234.56f);
  EXPECT_DOUBLE_EQ(Column<arrow::DoubleArray>(t, "f6").Value(0), 1234567890.0987654);
  EXPECT_EQ(Column<arrow::StringArray>(t, "f7").GetView(0), "aa");
  EXPECT_TRUE(Column<arrow::StringArray>(t, "f7").IsNull(1));
  EXPECT_EQ(Column<arrow::BinaryArray>(t, "f8").GetView(1), "ww");
  const auto& f10 = Column<arrow::ListArray>(t, "f10");
  EXPECT_EQ(f10.value_length(1), 5);
  EXPECT_TRUE(f10.values()->IsNull(f10.value_offset(1) + 2));
  const auto& f11 = Column<arrow::StructArray>(t, "f11");
  EXPECT_TRUE(f11.field(1)->IsNull(0));
  EXPECT_EQ(static_cast<const arrow::Int64Array&>(*f11.field(1)).Value(1), 2);
  EXPECT_EQ(Column<arrow::TimestampArray>(t, "f12").Value(0), 123123123);
  EXPECT_EQ(Column<arrow::Date32Array>(t, "f13").Value(0), 2456);  // 1976-09-22
  EXPECT_EQ(Column<arrow::Decimal128Array>(t, "f14").FormatValue(1), "-0.22");
  EXPECT_EQ(Column<arrow::Decimal128Array>(t, "f15").FormatValue(0), "0.1234567890");
  EXPECT_EQ(Column<arrow::Decimal128Array>(t, "f16").FormatValue(0), "0.1234567890987654321");
}

TEST(AvroData, KeyValueGoldenFile) {
  const fs::path file = kInterop / "avro/data/avro_with_null";
  auto table = ReadAvroDataFile(ReadFile(file), "avro_with_null");
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  const arrow::Table& t = **table;
  ASSERT_EQ(t.num_rows(), 3);
  EXPECT_EQ(Column<arrow::StringArray>(t, "_KEY_f0").GetView(2), "Evan");
  EXPECT_EQ(Column<arrow::Int64Array>(t, "_SEQUENCE_NUMBER").Value(0), 2);
  EXPECT_EQ(Column<arrow::Int32Array>(t, "_VALUE_KIND").Value(2), 0);
  EXPECT_EQ(Column<arrow::Int32Array>(t, "f2").Value(1), 19);
  EXPECT_TRUE(Column<arrow::Int32Array>(t, "f2").IsNull(2));
  EXPECT_DOUBLE_EQ(Column<arrow::DoubleArray>(t, "f3").Value(2), 14.1);
  EXPECT_EQ(t.schema()->field_names(),
            (std::vector<std::string>{"_KEY_f0", "_SEQUENCE_NUMBER", "_VALUE_KIND", "f0", "f1",
                                      "f2", "f3"}));
  EXPECT_FALSE(t.schema()->GetFieldByName("_KEY_f0")->nullable());
  EXPECT_TRUE(t.schema()->GetFieldByName("f2")->nullable());
}

// A file with maps (string-keyed and Paimon's array-of-records form), enum, fixed decimal,
// time-millis, nested records and non-null fields, written with our container and Avro C.
TEST(AvroData, NestedTypesAndMaps) {
  const std::string schema = R"({"type":"record","name":"record","namespace":"ns","fields":[
    {"name":"m","type":["null",{"type":"map","values":["null","long"]}],"default":null},
    {"name":"am","type":{"type":"array","logicalType":"map","items":{"type":"record",
      "name":"record_am","fields":[{"name":"key","type":"int"},
      {"name":"value","type":["null","string"],"default":null}]}}},
    {"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]}},
    {"name":"d","type":{"type":"fixed","name":"F","size":5,"logicalType":"decimal",
      "precision":10,"scale":2}},
    {"name":"t","type":{"type":"int","logicalType":"time-millis"}},
    {"name":"r","type":{"type":"record","name":"inner","fields":[
      {"name":"x","type":{"type":"array","items":"inner2"}}]}}]})";
  // "inner2" is unknown: the schema must fail cleanly.
  auto writer_bad = AvroFileWriter::Make(schema, AvroCodec::kNull);
  EXPECT_FALSE(writer_bad.ok());

  std::string good_schema = schema;
  good_schema.replace(good_schema.find("\"inner2\""), 8, "\"ns.E\"");
  auto writer = AvroFileWriter::Make(good_schema, AvroCodec::kDeflate);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  for (int row = 0; row < 2; ++row) {
    avro_value_t* rec = (*writer)->record();
    avro_value_reset(rec);
    avro_value_t f, b, item, k, v;
    avro_value_get_by_name(rec, "m", &f, nullptr);
    if (row == 0) {
      avro_value_set_branch(&f, 1, &b);
      avro_value_add(&b, "one", &item, nullptr, nullptr);
      avro_value_set_branch(&item, 1, &v);
      avro_value_set_long(&v, 1);
      avro_value_add(&b, "none", &item, nullptr, nullptr);
      avro_value_set_branch(&item, 0, &v);
      avro_value_set_null(&v);
    } else {
      avro_value_set_branch(&f, 0, &b);
      avro_value_set_null(&b);
    }
    avro_value_get_by_name(rec, "am", &f, nullptr);
    avro_value_append(&f, &item, nullptr);
    avro_value_get_by_name(&item, "key", &k, nullptr);
    avro_value_set_int(&k, 7 + row);
    avro_value_get_by_name(&item, "value", &v, nullptr);
    avro_value_set_branch(&v, 1, &b);
    avro_value_set_string(&b, "seven");
    avro_value_get_by_name(rec, "e", &f, nullptr);
    avro_value_set_enum(&f, row);
    avro_value_get_by_name(rec, "d", &f, nullptr);
    // -12345 (= -123.45 at scale 2) as 5-byte big-endian two's complement.
    char fixed[5] = {'\xff', '\xff', '\xff', '\xcf', '\xc7'};
    avro_value_set_fixed(&f, fixed, sizeof(fixed));
    avro_value_get_by_name(rec, "t", &f, nullptr);
    avro_value_set_int(&f, 3723000);
    avro_value_get_by_name(rec, "r", &f, nullptr);
    avro_value_get_by_name(&f, "x", &v, nullptr);
    avro_value_append(&v, &item, nullptr);
    avro_value_set_enum(&item, 1);
    ASSERT_TRUE((*writer)->Append().ok());
  }
  auto bytes = (*writer)->Finish();
  ASSERT_TRUE(bytes.ok());
  auto table = ReadAvroDataFile(*bytes, "nested");
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  const arrow::Table& t = **table;
  ASSERT_EQ(t.num_rows(), 2);
  ASSERT_TRUE(t.ValidateFull().ok());
  const auto& m = Column<arrow::MapArray>(t, "m");
  EXPECT_TRUE(m.IsNull(1));
  EXPECT_EQ(m.value_length(0), 2);
  EXPECT_EQ(static_cast<const arrow::StringArray&>(*m.keys()).GetView(0), "one");
  EXPECT_EQ(static_cast<const arrow::Int64Array&>(*m.items()).Value(0), 1);
  EXPECT_TRUE(m.items()->IsNull(1));
  const auto& am = Column<arrow::MapArray>(t, "am");
  EXPECT_EQ(am.type()->ToString(), "map<int32, string>");
  EXPECT_EQ(static_cast<const arrow::Int32Array&>(*am.keys()).Value(1), 8);
  const auto& e = Column<arrow::StringArray>(t, "e");
  EXPECT_EQ(e.GetView(0), "A");
  EXPECT_EQ(e.GetView(1), "B");
  const auto& d = Column<arrow::Decimal128Array>(t, "d");
  EXPECT_EQ(d.type()->ToString(), "decimal128(10, 2)");
  EXPECT_EQ(d.FormatValue(0), "-123.45");
  const auto& tm = Column<arrow::Time32Array>(t, "t");
  EXPECT_EQ(tm.Value(0), 3723000);
  const auto& r = Column<arrow::StructArray>(t, "r");
  const auto& x = static_cast<const arrow::ListArray&>(*r.field(0));
  EXPECT_EQ(static_cast<const arrow::StringArray&>(*x.values()).GetView(0), "B");
}

TEST(AvroData, CorruptInputFailsWithFileName) {
  const fs::path file = kInterop / "avro/data/avro_all_types";
  const std::string bytes = ReadFile(file);
  for (size_t len = 0; len < bytes.size(); ++len) {
    auto table = ReadAvroDataFile(std::string_view(bytes).substr(0, len), "cut.avro");
    if (table.ok()) continue;  // cut right after a block
    EXPECT_NE(table.status().message().find("cut.avro"), std::string::npos)
        << table.status().ToString();
  }
  EXPECT_FALSE(ReadAvroDataFile("Obj\x01", "tiny.avro").ok());
}

}  // namespace
}  // namespace millpond::paimon
