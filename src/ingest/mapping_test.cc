// Mapping: value casts, expressions, topic filters, the YAML map file and RuleMapper on JSON and
// Sparkplug messages against real tables of a temporary warehouse.
#include "millpond/ingest/mapping.h"

#include <unistd.h>

#include <filesystem>

#include <arrow/compute/initialize.h>
#include <gtest/gtest.h>

#include "millpond/ingest/sparkplug.h"
#include "sparkplug_b.pb.h"

namespace millpond::ingest {
namespace {

namespace stdfs = std::filesystem;

paimon::DataTypePtr T(const char* s) { return *paimon::ParseDataType(s); }

TEST(CastValue, FitsOrNamesTheProblem) {
  EXPECT_EQ(std::get<int64_t>(*CastValue(Value(int64_t{5}), *T("INT"))), 5);
  EXPECT_EQ(std::get<int64_t>(*CastValue(Value(7.0), *T("BIGINT"))), 7);
  EXPECT_EQ(std::get<int64_t>(*CastValue(Value(std::string(" 42")), *T("SMALLINT"))), 42);
  EXPECT_FALSE(CastValue(Value(7.5), *T("BIGINT")).ok());
  EXPECT_FALSE(CastValue(Value(int64_t{300}), *T("TINYINT")).ok());
  auto bad = CastValue(Value(std::string("abc")), *T("DOUBLE"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'abc'"), std::string::npos);
  EXPECT_NE(bad.status().message().find("DOUBLE"), std::string::npos);
  EXPECT_DOUBLE_EQ(std::get<double>(*CastValue(Value(true), *T("DOUBLE"))), 1.0);
  EXPECT_EQ(std::get<std::string>(*CastValue(Value(2.5), *T("STRING"))), "2.5");
  EXPECT_FALSE(CastValue(Value(std::string("toolong")), *T("VARCHAR(3)")).ok());
  EXPECT_EQ(std::get<std::string>(*CastValue(Value(std::string("12.34")), *T("DECIMAL(5,2)"))),
            "12.34");
  EXPECT_FALSE(CastValue(Value(std::string("1234.5")), *T("DECIMAL(5,2)")).ok());
  EXPECT_FALSE(CastValue(Value(), *T("INT NOT NULL")).ok());
  EXPECT_TRUE(IsNull(*CastValue(Value(), *T("INT"))));
  EXPECT_EQ(std::get<int64_t>(*CastValue(Value(std::string("1970-01-03")), *T("DATE"))), 2);
}

TEST(CastValue, TimestampsFromTextAndEpochNumbers) {
  const int64_t want = 1700000000123000ll;  // 2023-11-14T22:13:20.123Z
  for (const Value& v : {Value(int64_t{1700000000123}), Value(1700000000.123),
                         Value(int64_t{1700000000123000}), Value(int64_t{1700000000123000000}),
                         Value(std::string("2023-11-14T22:13:20.123Z")),
                         Value(std::string("2023-11-14 23:13:20.123+01:00")),
                         Value(std::string("2023-11-14T22:13:20.123"))}) {
    auto t = CastValue(v, *T("TIMESTAMP(3)"));
    ASSERT_TRUE(t.ok()) << ValueToString(v) << ": " << t.status();
    EXPECT_EQ(std::get<Timestamp>(*t).micros, want) << ValueToString(v);
  }
  EXPECT_EQ(std::get<Timestamp>(*CastValue(Value(int64_t{1700000000}), *T("TIMESTAMP(3)"))).micros,
            1700000000000000ll);
  EXPECT_FALSE(CastValue(Value(std::string("yesterday")), *T("TIMESTAMP(3)")).ok());
  EXPECT_EQ(ValueToString(Value(Timestamp{want})), "2023-11-14T22:13:20.123Z");
}

TEST(Expressions, ParseAndMatch) {
  auto e = Expr::Parse("${topic[2]}");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->kind, Expr::Kind::kBuiltin);
  EXPECT_EQ(e->index, 2);
  e = Expr::Parse("$.sensors[1].v");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->kind, Expr::Kind::kJsonPath);
  EXPECT_EQ(e->path, (std::vector<std::string>{"sensors", "[1]", "v"}));
  e = Expr::Parse("line-${topic[1]}/${$.id}");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->kind, Expr::Kind::kTemplate);
  EXPECT_EQ(e->parts.size(), 4u);
  e = Expr::Parse("42", /*plain=*/true);
  EXPECT_EQ(std::get<int64_t>(e->literal), 42);
  EXPECT_EQ(std::get<std::string>(Expr::Parse("42")->literal), "42");
  auto bad = Expr::Parse("${nope}");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("nope"), std::string::npos);
  EXPECT_FALSE(Expr::Parse("${topic[x]}").ok());
  EXPECT_FALSE(Expr::Parse("${device").ok());

  EXPECT_TRUE(TopicMatches("plant/+/temp", "plant/l1/temp"));
  EXPECT_FALSE(TopicMatches("plant/+/temp", "plant/l1/x/temp"));
  EXPECT_TRUE(TopicMatches("plant/#", "plant"));
  EXPECT_TRUE(TopicMatches("plant/#", "plant/a/b"));
  EXPECT_FALSE(TopicMatches("plant/a", "plant/a/b"));
  EXPECT_FALSE(TopicMatches("plant/a/b", "plant/a"));
  EXPECT_TRUE(TopicMatches("#", "x"));
  EXPECT_TRUE(GlobMatches("Inputs/*", "Inputs/Temp"));
  EXPECT_TRUE(GlobMatches("press-?", "press-3"));
  EXPECT_FALSE(GlobMatches("press-?", "press-10"));
  EXPECT_TRUE(GlobMatches("*", ""));
}

TEST(MapFile, ErrorsNameTheKey) {
  auto c = MappingConfig::FromYaml("rules:\n  - topic: a/#\n    colums: {x: 1}\n", "m.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("m.yaml: rules[0]: unknown key 'colums'"), std::string::npos)
      << c.status();
  c = MappingConfig::FromYaml("rules: [{tags: {t: {type: NOPE}}}]", "m.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("rules[0].tags.t.type"), std::string::npos) << c.status();
  c = MappingConfig::FromYaml("rules: [{columns: {x: '${bogus}'}}]", "m.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("rules[0].columns.x"), std::string::npos) << c.status();
  EXPECT_FALSE(MappingConfig::FromYaml("rules: [", "m.yaml").ok());
  EXPECT_FALSE(MappingConfig::FromYaml("format: xml\nrules: [{}]", "m.yaml").ok());
  EXPECT_FALSE(MappingConfig::FromYaml("tables: {a.b: {columns: 'x NOTATYPE'}}\nrules: [{}]",
                                       "m.yaml")
                   .ok());
  c = MappingConfig::FromYaml(
      "source: line3\nformat: json\ntables:\n  p.r:\n    columns: 'ts TIMESTAMP(3), v DOUBLE'\n"
      "rules:\n  - topic: 'plant/+/+'\n    device: '${topic[1]}'\n    tags:\n"
      "      temp: {tag: temperature, unit: degC, type: DOUBLE}\n      raw_*: ignore\n"
      "      '*': {}\n",
      "m.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->source, "line3");
  ASSERT_EQ(c->rules.size(), 1u);
  ASSERT_EQ(c->rules[0].tags.size(), 3u);
  EXPECT_EQ(c->rules[0].tags[0].rename, "temperature");
  EXPECT_TRUE(c->rules[0].tags[1].ignore);
  EXPECT_EQ(c->rules[0].tags[2].pattern, "*");
}

// RuleMapper against a temporary warehouse.
class MapperTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(arrow::compute::Initialize().ok()); }
  void SetUp() override {
    dir_ = stdfs::temp_directory_path() /
           ("mp-map-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    stdfs::remove_all(dir_);
    catalog_ = *table::Catalog::Open(dir_.string(), true);
    tables_ = std::make_unique<TableSet>(catalog_.get(), "src");
  }
  void TearDown() override { stdfs::remove_all(dir_); }

  std::unique_ptr<RuleMapper> Make(const std::string& yaml, PayloadFormat format) {
    MappingConfig c = yaml.empty() ? MappingConfig::Default(format)
                                   : *MappingConfig::FromYaml(yaml, "test.yaml");
    MapperOptions o;
    o.source_id = "src";
    o.format = format;
    o.default_table = "p.r";
    auto m = RuleMapper::Make(std::move(c), o);
    EXPECT_TRUE(m.ok()) << m.status();
    auto st = (*m)->Prepare(tables_.get());
    EXPECT_TRUE(st.ok()) << st;
    return std::move(*m);
  }

  MapOutput Map(Mapper* m, const std::string& topic, const std::string& payload) {
    SourceMessage msg;
    msg.position = ++position_;
    msg.received_micros = 1700000000000000ll;
    msg.address = topic;
    msg.payload = payload;
    MapOutput out;
    auto st = m->Map(msg, &out);
    EXPECT_TRUE(st.ok()) << st;
    return out;
  }

  // Rows of `out` for table `name`, as column=value text.
  std::vector<std::map<std::string, std::string>> Rows(const MapOutput& out,
                                                       const std::string& name) {
    std::vector<std::map<std::string, std::string>> rows;
    for (const auto& r : out.rows) {
      const auto& info = tables_->info(r.table);
      if (info.name != name) continue;
      std::map<std::string, std::string> row;
      for (size_t i = 0; i < r.values.size(); ++i) {
        if (!IsNull(r.values[i])) row[info.schema.fields[i].name] = ValueToString(r.values[i]);
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

  stdfs::path dir_;
  std::unique_ptr<table::Catalog> catalog_;
  std::unique_ptr<TableSet> tables_;
  int64_t position_ = 0;
};

TEST_F(MapperTest, AutoJsonCreatesTheTableAndSendsTheRestAside) {
  auto m = Make("", PayloadFormat::kJson);
  auto out = Map(m.get(), "plant/l1", R"({"seq": 1, "v": 2.5, "ok": true, "tags": [1,2]})");
  auto schema = (*catalog_->GetTable("p.r"))->LatestSchema();
  ASSERT_TRUE(schema.ok());
  ASSERT_EQ(schema->fields.size(), 4u);
  EXPECT_EQ(schema->fields[0].type->ToString(), "BIGINT");
  EXPECT_EQ(schema->fields[1].type->ToString(), "DOUBLE");
  EXPECT_EQ(schema->fields[2].type->ToString(), "BOOLEAN");
  EXPECT_EQ(schema->fields[3].type->ToString(), "STRING");
  auto rows = Rows(out, "p.r");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["tags"], "[1,2]");
  // Integers into DOUBLE and text into BIGINT cast; what does not fit is a dead letter.
  out = Map(m.get(), "plant/l1", R"({"seq": "2", "v": 3})");
  rows = Rows(out, "p.r");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["seq"], "2");
  EXPECT_EQ(rows[0]["v"], "3");
  out = Map(m.get(), "plant/l1", R"({"seq": "two"})");
  EXPECT_TRUE(Rows(out, "p.r").empty());
  auto dead = Rows(out, "p.r__dead_letters");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_NE(dead[0]["error"].find("column seq"), std::string::npos) << dead[0]["error"];
  EXPECT_EQ(out.dead_letters, 1);
  out = Map(m.get(), "plant/l1", "{broken");
  dead = Rows(out, "p.r__dead_letters");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_NE(dead[0]["error"].find("malformed JSON"), std::string::npos);
  EXPECT_EQ(dead[0]["topic"], "plant/l1");
  // Unknown fields: the known ones land, the message also goes to the raw table.
  out = Map(m.get(), "plant/l1", R"({"seq": 5, "humidity": 40})");
  EXPECT_EQ(Rows(out, "p.r").size(), 1u);
  auto raw = Rows(out, "p.r__raw");
  ASSERT_EQ(raw.size(), 1u);
  EXPECT_NE(raw[0]["reason"].find("humidity"), std::string::npos);
}

TEST_F(MapperTest, PerTagRulesRenameTypeUnitAndRoute) {
  auto m = Make(R"(
tables:
  p.readings:
    columns: >-
      ts TIMESTAMP(3), device STRING, tag STRING, value DOUBLE, unit STRING, quality INT,
      ingest_ts TIMESTAMP(3), source STRING
  p.cycles:
    columns: "ts TIMESTAMP(3), press STRING, cycle_ms BIGINT, force DOUBLE, topic STRING"
rules:
  - topic: "plant/+/press/+/cycle"
    table: p.cycles
    timestamp: "$.ts"
    columns:
      press: "press-${topic[3]}"
      cycle_ms: "$.duration"
      force: "$.force_kN"
  - topic: "plant/+/sensors"
    table: p.readings
    device: "$.dev"
    devices: ["oven-*", "press-*"]
    timestamp: "$.ts"
    tags:
      t: {tag: temperature, unit: degC}
      p: {tag: pressure, unit: bar, type: DOUBLE}
      debug_*: ignore
)",
                PayloadFormat::kJson);
  auto out = Map(m.get(), "plant/l1/sensors",
                 R"({"dev": "oven-2", "ts": "2023-11-14T22:13:20Z", "t": 180.5, "p": "1.5",)"
                 R"( "debug_x": 1, "hum": 30})");
  auto rows = Rows(out, "p.readings");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["tag"], "temperature");
  EXPECT_EQ(rows[0]["unit"], "degC");
  EXPECT_EQ(rows[0]["value"], "180.5");
  EXPECT_EQ(rows[0]["device"], "oven-2");
  EXPECT_EQ(rows[0]["ts"], "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(rows[0]["source"], "src");
  EXPECT_EQ(rows[1]["tag"], "pressure");
  EXPECT_EQ(rows[1]["value"], "1.5");
  auto raw = Rows(out, "p.readings__raw");
  ASSERT_EQ(raw.size(), 0u);  // the default raw table name derives from --table p.r
  raw = Rows(out, "p.r__raw");
  ASSERT_EQ(raw.size(), 1u);  // "hum" matched no tag pattern
  EXPECT_EQ(raw[0]["tag"], "hum");
  EXPECT_EQ(raw[0]["value"], "30");
  EXPECT_EQ(raw[0]["device"], "oven-2");

  // A device outside the allow-list is a dead letter.
  out = Map(m.get(), "plant/l1/sensors", R"({"dev": "mixer-1", "ts": 1700000000, "t": 1})");
  EXPECT_TRUE(Rows(out, "p.readings").empty());
  auto dead = Rows(out, "p.r__dead_letters");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_NE(dead[0]["error"].find("unknown device 'mixer-1'"), std::string::npos);

  // One row per message with explicit columns.
  out = Map(m.get(), "plant/l2/press/7/cycle",
            R"({"ts": 1700000000123, "duration": 812, "force_kN": 95.5})");
  rows = Rows(out, "p.cycles");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["press"], "press-7");
  EXPECT_EQ(rows[0]["cycle_ms"], "812");
  EXPECT_EQ(rows[0]["ts"], "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(rows[0]["topic"], "plant/l2/press/7/cycle");  // default: a message built-in

  // No rule for the topic: the whole message goes to the raw table.
  out = Map(m.get(), "other/topic", R"({"x": 1})");
  raw = Rows(out, "p.r__raw");
  ASSERT_EQ(raw.size(), 1u);
  EXPECT_EQ(raw[0]["reason"], "no rule matches the topic");
  EXPECT_EQ(raw[0]["raw"], ValueToString(Bytes{R"({"x": 1})"}));
}

TEST_F(MapperTest, MapRefusesColumnsTheTableLacks) {
  MappingConfig c = *MappingConfig::FromYaml(
      "tables: {p.x: {columns: 'a INT'}}\nrules: [{table: p.x, columns: {b: '$.b'}}]", "t.yaml");
  MapperOptions o;
  o.source_id = "src";
  o.default_table = "p.r";
  auto m = *RuleMapper::Make(std::move(c), o);
  auto st = m->Prepare(tables_.get());
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("has no column 'b'"), std::string::npos) << st;
}

TEST_F(MapperTest, SparkplugDefaultsToReadingsStateAndRebirths) {
  namespace pb = millpond::sparkplug;
  auto m = Make("", PayloadFormat::kSparkplug);
  // Data before any birth: dead letter plus a rebirth command to the edge node.
  pb::Payload data;
  data.set_seq(4);
  auto* dm = data.add_metrics();
  dm->set_alias(1);
  dm->set_int_value(0xFFFFFFFE);
  auto out = Map(m.get(), "spBv1.0/G/DDATA/E/D", data.SerializeAsString());
  auto dead = Rows(out, "p.r__dead_letters");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_NE(dead[0]["error"].find("unknown device"), std::string::npos) << dead[0]["error"];
  ASSERT_EQ(out.commands.size(), 1u);
  EXPECT_EQ(out.commands[0].address, "spBv1.0/G/NCMD/E");

  pb::Payload nbirth;
  nbirth.set_seq(0);
  nbirth.set_timestamp(1700000000000);
  auto* bd = nbirth.add_metrics();
  bd->set_name("bdSeq");
  bd->set_datatype(sparkplug::kInt64);
  bd->set_long_value(0);
  out = Map(m.get(), "spBv1.0/G/NBIRTH/E", nbirth.SerializeAsString());
  auto state = Rows(out, "p.r__device_state");
  ASSERT_EQ(state.size(), 1u);
  EXPECT_EQ(state[0]["online"], "true");
  EXPECT_EQ(state[0]["device"], "");
  EXPECT_TRUE(Rows(out, "p.r").empty());  // bdSeq is bookkeeping, not a reading

  pb::Payload dbirth;
  dbirth.set_seq(1);
  dbirth.set_timestamp(1700000000500);
  auto* t = dbirth.add_metrics();
  t->set_name("Offset");
  t->set_alias(1);
  t->set_datatype(sparkplug::kInt16);
  t->set_int_value(0xFFFF);  // Int16 -1
  auto* s = dbirth.add_metrics();
  s->set_name("Mode");
  s->set_alias(2);
  s->set_datatype(sparkplug::kString);
  s->set_string_value("AUTO");
  EXPECT_EQ(m->StateKey(SourceMessage{0, 0, "spBv1.0/G/DBIRTH/E/D", "", false}), "D/G/E/D");
  out = Map(m.get(), "spBv1.0/G/DBIRTH/E/D", dbirth.SerializeAsString());
  auto rows = Rows(out, "p.r");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["tag"], "Offset");
  EXPECT_EQ(rows[0]["value_int"], "-1");
  EXPECT_EQ(rows[0]["value"], "-1");
  EXPECT_EQ(rows[0]["datatype"], "Int16");
  EXPECT_EQ(rows[0]["device"], "D");
  EXPECT_EQ(rows[0]["edge_node"], "E");
  EXPECT_EQ(rows[0]["ts"], "2023-11-14T22:13:20.500Z");
  EXPECT_EQ(rows[1]["value_text"], "AUTO");
  EXPECT_EQ(rows[1].count("value"), 0u);

  data.set_seq(2);
  out = Map(m.get(), "spBv1.0/G/DDATA/E/D", data.SerializeAsString());  // Int16 -2 by alias
  rows = Rows(out, "p.r");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["value_int"], "-2");
  EXPECT_TRUE(out.commands.empty());
  // A garbage payload on a Sparkplug topic is a dead letter; STATE traffic is ignored.
  out = Map(m.get(), "spBv1.0/G/DDATA/E/D", std::string("\xff\xff", 2));
  EXPECT_EQ(Rows(out, "p.r__dead_letters").size(), 1u);
  out = Map(m.get(), "spBv1.0/STATE/host", R"({"online":true,"timestamp":1})");
  EXPECT_TRUE(out.rows.empty());
}

}  // namespace
}  // namespace millpond::ingest
