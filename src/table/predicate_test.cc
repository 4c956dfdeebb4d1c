#include "millpond/table/predicate.h"

#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <arrow/api.h>
#include <arrow/compute/initialize.h>
#include <arrow/json/from_string.h>
#include <gtest/gtest.h>

namespace millpond::table {
namespace {

#define PRED_ASSIGN_OR_FAIL_IMPL(tmp, lhs, rexpr)          \
  auto tmp = (rexpr);                                      \
  ASSERT_TRUE(tmp.ok()) << #rexpr << ": " << tmp.status(); \
  lhs = std::move(tmp).ValueOrDie();
#define PRED_CONCAT_INNER(a, b) a##b
#define PRED_CONCAT(a, b) PRED_CONCAT_INNER(a, b)
#define ASSERT_OK_AND_ASSIGN_PRED(lhs, rexpr) \
  PRED_ASSIGN_OR_FAIL_IMPL(PRED_CONCAT(_pred_result_, __LINE__), lhs, rexpr)

std::shared_ptr<arrow::Schema> TestSchema() {
  return arrow::schema({
      arrow::field("id", arrow::int32()),
      arrow::field("big", arrow::int64()),
      arrow::field("temperature", arrow::float64()),
      arrow::field("name", arrow::utf8()),
      arrow::field("day", arrow::date32()),
      arrow::field("ts", arrow::timestamp(arrow::TimeUnit::MICRO)),
      arrow::field("ok", arrow::boolean()),
      arrow::field("small", arrow::int8()),
      arrow::field("price", arrow::decimal128(10, 2)),
      arrow::field("ts_s", arrow::timestamp(arrow::TimeUnit::SECOND, "UTC")),
  });
}

class PredicateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(arrow::compute::Initialize().ok()); }

  void SetUp() override {
    schema_ = TestSchema();
    auto column = [](const std::shared_ptr<arrow::DataType>& type, const std::string& json) {
      return arrow::json::ArrayFromJSONString(type, json).ValueOrDie();
    };
    // 2024-01-01 is day 19723.
    batch_ = arrow::RecordBatch::Make(
        schema_, 6,
        {
            column(arrow::int32(), "[1, 2, 3, 4, 5, null]"),
            column(arrow::int64(), "[10, 20, 30, 40, 50, 6000000000]"),
            column(arrow::float64(), "[20.5, 21.0, null, 25.0, -3.5, 30.0]"),
            column(arrow::utf8(), R"(["alpha", "beta", "it's", null, "gamma", "beta"])"),
            column(arrow::date32(), "[19723, 19724, 19725, null, 19723, 19730]"),
            column(arrow::timestamp(arrow::TimeUnit::MICRO),
                   R"(["2024-01-01 10:00:00", "2024-01-01 10:00:00.5", "2024-01-02 00:00:00",
                       null, "2023-12-31 23:59:59", "2024-01-01 10:00:00.000001"])"),
            column(arrow::boolean(), "[true, false, null, true, false, true]"),
            column(arrow::int8(), "[1, -1, 100, null, 0, 127]"),
            column(arrow::decimal128(10, 2), R"(["1.50", "2.00", "-3.25", null, "0.00", "99.99"])"),
            column(arrow::timestamp(arrow::TimeUnit::SECOND, "UTC"),
                   R"(["2024-01-01 00:00:00", null, "2024-01-01 00:00:01", "2024-01-01 00:00:02",
                       "2024-01-01 00:00:03", "2024-01-01 00:00:04"])"),
        });
    ASSERT_TRUE(batch_->ValidateFull().ok());
  }

  // Row indices that `where` selects from batch_, checked through both EvaluateMask and Filter.
  std::vector<int> Select(const std::string& where) {
    auto bound = ParseAndBindPredicate(where, *schema_);
    EXPECT_TRUE(bound.ok()) << where << ": " << bound.status();
    if (!bound.ok()) return {-1};
    auto mask = EvaluateMask(*bound, *batch_);
    EXPECT_TRUE(mask.ok()) << where << ": " << mask.status();
    if (!mask.ok()) return {-1};
    EXPECT_EQ((*mask)->type_id(), arrow::Type::BOOL);
    EXPECT_EQ((*mask)->length(), batch_->num_rows());
    EXPECT_EQ((*mask)->null_count(), 0) << where;
    const auto& bits = static_cast<const arrow::BooleanArray&>(**mask);
    std::vector<int> rows;
    for (int64_t i = 0; i < bits.length(); ++i) {
      if (bits.Value(i)) rows.push_back(static_cast<int>(i));
    }
    auto filtered = Filter(*bound, batch_);
    EXPECT_TRUE(filtered.ok()) << where << ": " << filtered.status();
    if (filtered.ok()) {
      EXPECT_EQ((*filtered)->num_rows(), static_cast<int64_t>(rows.size()));
    }
    return rows;
  }

  std::string ParseError(const std::string& where) {
    auto parsed = ParsePredicate(where);
    EXPECT_FALSE(parsed.ok()) << where << " parsed as " << parsed->ToString();
    return parsed.ok() ? "" : parsed.status().ToString();
  }

  std::string BindError(const std::string& where) {
    auto bound = ParseAndBindPredicate(where, *schema_);
    EXPECT_FALSE(bound.ok()) << where << " bound as " << bound->ToString();
    return bound.ok() ? "" : bound.status().ToString();
  }

  BoundPredicate MustBind(const std::string& where) {
    auto bound = ParseAndBindPredicate(where, *schema_);
    EXPECT_TRUE(bound.ok()) << where << ": " << bound.status();
    return bound.ok() ? *bound : BoundPredicate{};
  }

  std::string Normalized(const std::string& where) {
    auto parsed = ParsePredicate(where);
    EXPECT_TRUE(parsed.ok()) << where << ": " << parsed.status();
    return parsed.ok() ? parsed->ToString() : parsed.status().ToString();
  }

  std::shared_ptr<arrow::Schema> schema_;
  std::shared_ptr<arrow::RecordBatch> batch_;
};

using RowList = std::vector<int>;

// --- parsing ---------------------------------------------------------------------------------

TEST_F(PredicateTest, ParsesEveryComparisonOperator) {
  EXPECT_EQ(Normalized("a = 1"), "(a = 1)");
  EXPECT_EQ(Normalized("a == 1"), "(a = 1)");
  EXPECT_EQ(Normalized("a != 1"), "(a != 1)");
  EXPECT_EQ(Normalized("a <> 1"), "(a != 1)");
  EXPECT_EQ(Normalized("a < 1"), "(a < 1)");
  EXPECT_EQ(Normalized("a <= 1"), "(a <= 1)");
  EXPECT_EQ(Normalized("a > 1"), "(a > 1)");
  EXPECT_EQ(Normalized("a >= 1"), "(a >= 1)");
  EXPECT_EQ(Normalized("a>=1"), "(a >= 1)");
}

TEST_F(PredicateTest, LiteralOnTheLeftIsFlipped) {
  EXPECT_EQ(Normalized("5 < a"), "(a > 5)");
  EXPECT_EQ(Normalized("5 <= a"), "(a >= 5)");
  EXPECT_EQ(Normalized("5 > a"), "(a < 5)");
  EXPECT_EQ(Normalized("5 >= a"), "(a <= 5)");
  EXPECT_EQ(Normalized("5 = a"), "(a = 5)");
  EXPECT_EQ(Normalized("'x' <> a"), "(a != 'x')");
}

TEST_F(PredicateTest, PrecedenceIsNotThenAndThenOr) {
  EXPECT_EQ(Normalized("a = 1 OR b = 2 AND NOT c = 3"),
            "((a = 1) OR ((b = 2) AND (NOT (c = 3))))");
  EXPECT_EQ(Normalized("NOT a = 1 AND b = 2"), "((NOT (a = 1)) AND (b = 2))");
  EXPECT_EQ(Normalized("a = 1 AND b = 2 OR c = 3 AND d = 4"),
            "(((a = 1) AND (b = 2)) OR ((c = 3) AND (d = 4)))");
  EXPECT_EQ(Normalized("(a = 1 OR b = 2) AND c = 3"), "(((a = 1) OR (b = 2)) AND (c = 3))");
  EXPECT_EQ(Normalized("NOT (a = 1 OR b = 2)"), "(NOT ((a = 1) OR (b = 2)))");
  EXPECT_EQ(Normalized("NOT NOT a = 1"), "(NOT (NOT (a = 1)))");
  EXPECT_EQ(Normalized("((a = 1))"), "(a = 1)");
}

TEST_F(PredicateTest, KeywordsAreCaseInsensitive) {
  EXPECT_EQ(Normalized("a in (1, 2) and not b is null Or c is NoT nUlL"),
            "(((a IN (1, 2)) AND (NOT (b IS NULL))) OR (c IS NOT NULL))");
  EXPECT_EQ(Normalized("a between 1 and 2"), "((a >= 1) AND (a <= 2))");
  EXPECT_EQ(Normalized("a = true or a = False or a = null"),
            "((a = TRUE) OR (a = FALSE) OR (a = NULL))");
}

TEST_F(PredicateTest, InBetweenAndNullTests) {
  EXPECT_EQ(Normalized("a IN (1)"), "(a IN (1))");
  EXPECT_EQ(Normalized("a NOT IN ('x', 'y')"), "(NOT (a IN ('x', 'y')))");
  EXPECT_EQ(Normalized("a BETWEEN 1 AND 5 AND b = 2"), "(((a >= 1) AND (a <= 5)) AND (b = 2))");
  EXPECT_EQ(Normalized("a NOT BETWEEN -1.5 AND 2e3"), "(NOT ((a >= -1.5) AND (a <= 2e3)))");
  EXPECT_EQ(Normalized("a IS NULL"), "(a IS NULL)");
  EXPECT_EQ(Normalized("a IS NOT NULL"), "(a IS NOT NULL)");
  EXPECT_EQ(Normalized("ok"), "(ok = TRUE)");
  EXPECT_EQ(Normalized("ok AND NOT (flag)"), "((ok = TRUE) AND (NOT (flag = TRUE)))");
}

TEST_F(PredicateTest, LiteralsAndQuotedColumns) {
  EXPECT_EQ(Normalized("a = 'it''s'"), "(a = 'it''s')");
  EXPECT_EQ(Normalized("a = ''"), "(a = '')");
  EXPECT_EQ(Normalized("a = -42"), "(a = -42)");
  EXPECT_EQ(Normalized("a = +42"), "(a = 42)");
  EXPECT_EQ(Normalized("a = .5"), "(a = .5)");
  EXPECT_EQ(Normalized("a = 1.25E-3"), "(a = 1.25E-3)");
  EXPECT_EQ(Normalized("d = date '2024-01-01'"), "(d = DATE '2024-01-01')");
  EXPECT_EQ(Normalized("t < TIMESTAMP '2024-01-01 10:00:00.123456'"),
            "(t < TIMESTAMP '2024-01-01 10:00:00.123456')");
  EXPECT_EQ(Normalized("\"my col\" = 1"), "(\"my col\" = 1)");
  EXPECT_EQ(Normalized("`select` = 1"), "(select = 1)");
  EXPECT_EQ(Normalized("`and` = 1"), "(\"and\" = 1)");
  EXPECT_EQ(Normalized("\"a\"\"b\" = 1"), "(\"a\"\"b\" = 1)");
  EXPECT_EQ(Normalized("`a``b` = 1"), "(\"a`b\" = 1)");
  // DATE and TIMESTAMP are keywords only before a quoted literal.
  EXPECT_EQ(Normalized("date = DATE '2024-01-01'"), "(date = DATE '2024-01-01')");
  EXPECT_EQ(Normalized("timestamp IS NULL"), "(timestamp IS NULL)");

  ASSERT_OK_AND_ASSIGN_PRED(Predicate p, ParsePredicate("  x = 5"));
  EXPECT_EQ(p.position, 3);
  ASSERT_EQ(p.literals.size(), 1u);
  EXPECT_EQ(p.literals[0].position, 7);
  EXPECT_EQ(p.literals[0].kind, Literal::Kind::kInteger);
  ASSERT_OK_AND_ASSIGN_PRED(p, ParsePredicate("\"X\" = 'a''b'"));
  EXPECT_TRUE(p.column_quoted);
  EXPECT_EQ(p.column, "X");
  EXPECT_EQ(p.literals[0].kind, Literal::Kind::kString);
  EXPECT_EQ(p.literals[0].text, "a'b");
}

TEST_F(PredicateTest, SyntaxErrorsNameThePosition) {
  struct Case {
    std::string where;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"", "position 1: empty filter"},
      {"   ", "position 1: empty filter"},
      {"id >", "position 5: expected a column or value, found end of input"},
      {"id = 1 AND", "position 11: expected a column or value, found end of input"},
      {"(id = 1", "position 8: expected ')' to close the '(' at position 1"},
      {"id = 1)", "position 7: unexpected ')' without a matching '('"},
      {"id = 1 name = 2", "position 8: unexpected 'name', expected AND, OR or end of input"},
      {"name = 'abc", "position 8: unterminated string literal"},
      {"\"name = 1", "position 1: unterminated quoted column name"},
      {"\"\" = 1", "position 1: empty column name"},
      {"id IN ()", "position 8: expected a column or value, found ')'"},
      {"id IN 1, 2", "position 7: expected '(' after IN"},
      {"id IN (1, 2", "position 12: expected ',' or ')' in the IN list, found end of input"},
      {"id IN (1, other)", "position 11: expected a value in the IN list, found column other"},
      {"id BETWEEN 1 5", "position 14: expected AND in BETWEEN"},
      {"id BETWEEN x AND 5", "position 12: expected a value after BETWEEN, found column x"},
      {"id IS 5", "position 7: expected NULL after IS"},
      {"id IS NOT 5", "position 11: expected NULL after IS NOT"},
      {"a = b", "position 3: comparing two columns (a = b) is not supported"},
      {"1 = 2", "position 1: a comparison needs a column on one side"},
      {"1 IS NULL", "position 1: expected a column before IS, found 1"},
      {"5", "position 2: expected a comparison, IN, BETWEEN or IS after 5"},
      {"id LIKE 'a%'", "position 4: expected a comparison, IN, BETWEEN or IS after column id"},
      {"id ! 3", "position 4: unexpected '!'"},
      {"id # 3", "position 4: unexpected character '#'"},
      {"id = 12abc", "position 8: malformed number"},
      {"id = -x", "position 7: expected a number after '-'"},
      {"AND = 1", "position 1: expected a column or value, found keyword 'AND'"},
      {"day = DATE '2024-13-01'", "position 12: invalid DATE literal '2024-13-01'"},
      {"day = DATE '2024-01-01 10:00'", "invalid DATE literal"},
      {"ts = TIMESTAMP '2024-01-01 25:00:00'", "position 16: invalid TIMESTAMP literal"},
      {"ts = TIMESTAMP '2024-01-01 10:00:00.1234567890'", "invalid TIMESTAMP literal"},
      {"NOT", "position 4: expected a column or value, found end of input"},
  };
  for (const Case& c : cases) {
    std::string error = ParseError(c.where);
    EXPECT_EQ(error.rfind("Invalid: --where: syntax error at ", 0), 0u) << c.where << ": " << error;
    EXPECT_NE(error.find(c.error), std::string::npos) << c.where << ": " << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  }
}

TEST_F(PredicateTest, ToStringReparsesAndPrefixesFailCleanly) {
  const std::vector<std::string> filters = {
      "a = 1 OR b = 2 AND NOT c = 3",
      "\"my col\" NOT IN ('x', 'it''s', NULL) AND d BETWEEN DATE '2024-01-01' AND '2024-02-01'",
      "(ts >= TIMESTAMP '2024-01-01 10:00:00.5' OR ok) AND NOT (x IS NOT NULL) AND -1.5e3 < y",
      "`and` <> TRUE OR z NOT BETWEEN -5 AND +5",
  };
  for (const std::string& filter : filters) {
    std::string normalized = Normalized(filter);
    EXPECT_EQ(Normalized(normalized), normalized) << filter;
    // Every prefix either parses or fails with a syntax error; none crashes.
    for (size_t n = 0; n < filter.size(); ++n) {
      auto parsed = ParsePredicate(filter.substr(0, n));
      if (!parsed.ok()) {
        EXPECT_NE(parsed.status().message().find("syntax error at position"), std::string::npos)
            << parsed.status();
      }
    }
  }
}

// --- binding ---------------------------------------------------------------------------------

TEST_F(PredicateTest, BindErrorsAreClearOneLiners) {
  EXPECT_EQ(BindError("temperature = 'abc'"),
            "Invalid: --where: cannot compare column temperature (double) with 'abc'");
  EXPECT_EQ(BindError("temprature > 1"),
            "Invalid: --where: unknown column temprature; available columns: id, big, "
            "temperature, name, day, ts, ok, small, price, ts_s");
  EXPECT_EQ(BindError("name = 5"), "Invalid: --where: cannot compare column name (string) with 5");
  EXPECT_EQ(BindError("small = 300"),
            "Invalid: --where: cannot compare column small (int8) with 300: out of range for int8");
  EXPECT_EQ(BindError("small >= -129"),
            "Invalid: --where: cannot compare column small (int8) with -129: out of range for "
            "int8");
  EXPECT_EQ(BindError("big = 99999999999999999999"),
            "Invalid: --where: cannot compare column big (int64) with 99999999999999999999: out of "
            "range for int64");
  EXPECT_EQ(BindError("id = 2.5"),
            "Invalid: --where: cannot compare column id (int32) with 2.5: not an integer");
  EXPECT_EQ(BindError("id IN (1, 'x')"),
            "Invalid: --where: cannot compare column id (int32) with 'x'");
  EXPECT_EQ(BindError("day = '2024-02-30'"),
            "Invalid: --where: cannot compare column day (date32[day]) with '2024-02-30'");
  EXPECT_EQ(BindError("day = 5"),
            "Invalid: --where: cannot compare column day (date32[day]) with 5");
  EXPECT_EQ(BindError("day = TIMESTAMP '2024-01-01 10:00:00'"),
            "Invalid: --where: cannot compare column day (date32[day]) with TIMESTAMP "
            "'2024-01-01 10:00:00': a date has no time of day");
  EXPECT_EQ(BindError("ts_s = '2024-01-01 00:00:00.5'"),
            "Invalid: --where: cannot compare column ts_s (timestamp[s, tz=UTC]) with "
            "'2024-01-01 00:00:00.5': more precise than the column");
  EXPECT_EQ(BindError("ok = 1"), "Invalid: --where: cannot compare column ok (bool) with 1");
  EXPECT_EQ(BindError("name = DATE '2024-01-01'"),
            "Invalid: --where: cannot compare column name (string) with DATE '2024-01-01'");
  EXPECT_EQ(BindError("price = 1.505"),
            "Invalid: --where: cannot compare column price (decimal128(10, 2)) with 1.505: not "
            "exactly representable with scale 2");
  EXPECT_EQ(BindError("price < 123456789"),
            "Invalid: --where: cannot compare column price (decimal128(10, 2)) with 123456789: out "
            "of range for decimal128(10, 2)");
  EXPECT_EQ(BindError("id"),
            "Invalid: --where: column id (int32) is not boolean; compare it with a value");
  // Quoted names match exactly; bare names fall back to a unique case-insensitive match.
  EXPECT_EQ(BindError("\"ID\" = 1"),
            "Invalid: --where: unknown column ID (quoted names are case-sensitive; did you mean "
            "id?)");
  EXPECT_EQ(MustBind("ID = 1").column, "id");
  EXPECT_EQ(MustBind("\"id\" = 1").column, "id");

  auto ambiguous =
      arrow::schema({arrow::field("a", arrow::int32()), arrow::field("A", arrow::int32())});
  auto bound = ParseAndBindPredicate("\"a\" = 1", *ambiguous);
  EXPECT_TRUE(bound.ok()) << bound.status();
  auto two_cases =
      arrow::schema({arrow::field("aa", arrow::int32()), arrow::field("AA", arrow::int32())});
  auto error = ParseAndBindPredicate("aA = 1", *two_cases);
  ASSERT_FALSE(error.ok());
  EXPECT_NE(error.status().ToString().find("ambiguous"), std::string::npos) << error.status();
  auto list_schema = arrow::schema({arrow::field("l", arrow::list(arrow::int32()))});
  EXPECT_TRUE(ParseAndBindPredicate("l IS NULL", *list_schema).ok());
  auto unsupported = ParseAndBindPredicate("l = 1", *list_schema);
  ASSERT_FALSE(unsupported.ok());
  EXPECT_EQ(unsupported.status().ToString(),
            "Invalid: --where: column l (list<item: int32>) has a type that filters do not "
            "support");
}

TEST_F(PredicateTest, LiteralsAreCastToTheColumnType) {
  auto value = [&](const std::string& where) {
    BoundPredicate b = MustBind(where);
    return b.values.empty() ? nullptr : b.values[0];
  };
  EXPECT_TRUE(value("temperature > 20")->Equals(arrow::DoubleScalar(20.0)));
  EXPECT_TRUE(value("temperature > -2.5e1")->Equals(arrow::DoubleScalar(-25.0)));
  EXPECT_TRUE(value("small = -128")->Equals(arrow::Int8Scalar(-128)));
  EXPECT_TRUE(value("small = 127")->Equals(arrow::Int8Scalar(127)));
  EXPECT_TRUE(value("big = 6000000000")->Equals(arrow::Int64Scalar(6000000000)));
  EXPECT_TRUE(value("big = -9223372036854775808")
                  ->Equals(arrow::Int64Scalar(std::numeric_limits<int64_t>::min())));
  EXPECT_TRUE(value("id = 3.0")->Equals(arrow::Int32Scalar(3)));
  EXPECT_TRUE(value("id = '3'")->Equals(arrow::Int32Scalar(3)));
  EXPECT_TRUE(value("ok = 'TRUE'")->Equals(arrow::BooleanScalar(true)));
  EXPECT_TRUE(value("ok = false")->Equals(arrow::BooleanScalar(false)));
  EXPECT_TRUE(value("day = '2024-01-01'")->Equals(arrow::Date32Scalar(19723)));
  EXPECT_TRUE(value("day = DATE '1969-12-31'")->Equals(arrow::Date32Scalar(-1)));
  EXPECT_TRUE(value("day = TIMESTAMP '2024-01-01 00:00:00'")->Equals(arrow::Date32Scalar(19723)));
  auto us = arrow::timestamp(arrow::TimeUnit::MICRO);
  const int64_t jan1_us = int64_t{19723} * 86400 * 1000000;
  EXPECT_TRUE(value("ts >= '2024-01-01'")->Equals(arrow::TimestampScalar(jan1_us, us)));
  EXPECT_TRUE(value("ts >= DATE '2024-01-01'")->Equals(arrow::TimestampScalar(jan1_us, us)));
  EXPECT_TRUE(value("ts = TIMESTAMP '2024-01-01 10:00:00.000001'")
                  ->Equals(arrow::TimestampScalar(jan1_us + 36000000001, us)));
  EXPECT_TRUE(value("ts = '2024-01-01T10:00:00.5Z'")
                  ->Equals(arrow::TimestampScalar(jan1_us + 36000500000, us)));
  auto seconds_utc = arrow::timestamp(arrow::TimeUnit::SECOND, "UTC");
  EXPECT_TRUE(value("ts_s = '2024-01-01 00:00:01.000'")
                  ->Equals(arrow::TimestampScalar(int64_t{19723} * 86400 + 1, seconds_utc)));
  auto dec = arrow::decimal128(10, 2);
  EXPECT_TRUE(value("price = 1.5")->Equals(arrow::Decimal128Scalar(arrow::Decimal128(150), dec)));
  EXPECT_TRUE(value("price = 2")->Equals(arrow::Decimal128Scalar(arrow::Decimal128(200), dec)));
  EXPECT_TRUE(
      value("price = '-3.25'")->Equals(arrow::Decimal128Scalar(arrow::Decimal128(-325), dec)));
  EXPECT_TRUE(value("name = 'it''s'")->Equals(arrow::StringScalar("it's")));
  auto null_value = value("name = NULL");
  EXPECT_FALSE(null_value->is_valid);
  EXPECT_TRUE(null_value->type->Equals(arrow::utf8()));

  BoundPredicate in = MustBind("id IN (1, 2, 1, '2', NULL)");
  EXPECT_EQ(in.kind, Predicate::Kind::kIn);
  EXPECT_EQ(in.values.size(), 3u);  // duplicates dropped
  EXPECT_EQ(in.ToString(), "(id IN (1, 2, NULL))");
  EXPECT_EQ(MustBind("day = '2024-01-01' AND name = 'x'").ToString(),
            "((day = DATE '2024-01-01') AND (name = 'x'))");
  EXPECT_TRUE(MustBind("id > 1").type->Equals(arrow::int32()));

  // Unsigned and other integer widths.
  auto unsigned_schema = arrow::schema({arrow::field("u8", arrow::uint8()),
                                        arrow::field("u64", arrow::uint64()),
                                        arrow::field("i16", arrow::int16()),
                                        arrow::field("f", arrow::float32())});
  auto bind = [&](const std::string& where) {
    return ParseAndBindPredicate(where, *unsigned_schema);
  };
  EXPECT_TRUE(bind("u8 = 255")->values[0]->Equals(arrow::UInt8Scalar(255)));
  EXPECT_FALSE(bind("u8 = -1").ok());
  EXPECT_FALSE(bind("u8 = 256").ok());
  EXPECT_TRUE(
      bind("u64 = 18446744073709551615")->values[0]->Equals(arrow::UInt64Scalar(UINT64_MAX)));
  EXPECT_TRUE(bind("i16 = -32768")->values[0]->Equals(arrow::Int16Scalar(-32768)));
  EXPECT_FALSE(bind("i16 = 32768").ok());
  EXPECT_TRUE(bind("f = 0.1")->values[0]->Equals(arrow::FloatScalar(0.1f)));
}

// --- evaluation ------------------------------------------------------------------------------

TEST_F(PredicateTest, EvaluatesComparisonsOnEveryType) {
  // int32: [1, 2, 3, 4, 5, null]
  EXPECT_EQ(Select("id = 3"), (RowList{2}));
  EXPECT_EQ(Select("id == 3"), (RowList{2}));
  EXPECT_EQ(Select("id != 3"), (RowList{0, 1, 3, 4}));
  EXPECT_EQ(Select("id <> 3"), (RowList{0, 1, 3, 4}));
  EXPECT_EQ(Select("id < 3"), (RowList{0, 1}));
  EXPECT_EQ(Select("id <= 3"), (RowList{0, 1, 2}));
  EXPECT_EQ(Select("id > 3"), (RowList{3, 4}));
  EXPECT_EQ(Select("id >= 3"), (RowList{2, 3, 4}));
  EXPECT_EQ(Select("3 < id"), (RowList{3, 4}));
  EXPECT_EQ(Select("id > -1.0"), (RowList{0, 1, 2, 3, 4}));
  // int64 beyond int32: [10, 20, 30, 40, 50, 6000000000]
  EXPECT_EQ(Select("big > 5000000000"), (RowList{5}));
  EXPECT_EQ(Select("big <= 20"), (RowList{0, 1}));
  // int8: [1, -1, 100, null, 0, 127]
  EXPECT_EQ(Select("small < 0"), (RowList{1}));
  EXPECT_EQ(Select("small >= 100"), (RowList{2, 5}));
  // double: [20.5, 21.0, null, 25.0, -3.5, 30.0]
  EXPECT_EQ(Select("temperature > 21"), (RowList{3, 5}));
  EXPECT_EQ(Select("temperature = 21"), (RowList{1}));
  EXPECT_EQ(Select("temperature < -3"), (RowList{4}));
  EXPECT_EQ(Select("temperature >= 20.5"), (RowList{0, 1, 3, 5}));
  // string: ["alpha", "beta", "it's", null, "gamma", "beta"]
  EXPECT_EQ(Select("name = 'beta'"), (RowList{1, 5}));
  EXPECT_EQ(Select("name = 'it''s'"), (RowList{2}));
  EXPECT_EQ(Select("name < 'beta'"), (RowList{0}));
  EXPECT_EQ(Select("name >= 'gamma'"), (RowList{2, 4}));
  EXPECT_EQ(Select("name != 'beta'"), (RowList{0, 2, 4}));
  // date32: [01-01, 01-02, 01-03, null, 01-01, 01-08]
  EXPECT_EQ(Select("day = DATE '2024-01-01'"), (RowList{0, 4}));
  EXPECT_EQ(Select("day > '2024-01-02'"), (RowList{2, 5}));
  EXPECT_EQ(Select("day <= '2024-01-02'"), (RowList{0, 1, 4}));
  // timestamp(us)
  EXPECT_EQ(Select("ts = TIMESTAMP '2024-01-01 10:00:00'"), (RowList{0}));
  EXPECT_EQ(Select("ts > TIMESTAMP '2024-01-01 10:00:00'"), (RowList{1, 2, 5}));
  EXPECT_EQ(Select("ts = '2024-01-01 10:00:00.000001'"), (RowList{5}));
  EXPECT_EQ(Select("ts < DATE '2024-01-01'"), (RowList{4}));
  EXPECT_EQ(Select("ts >= '2024-01-02'"), (RowList{2}));
  // timestamp(s, UTC): [00:00:00, null, 00:00:01, ...]
  EXPECT_EQ(Select("ts_s >= '2024-01-01 00:00:03'"), (RowList{4, 5}));
  // bool: [true, false, null, true, false, true]
  EXPECT_EQ(Select("ok = TRUE"), (RowList{0, 3, 5}));
  EXPECT_EQ(Select("ok = false"), (RowList{1, 4}));
  EXPECT_EQ(Select("ok != true"), (RowList{1, 4}));
  EXPECT_EQ(Select("ok"), (RowList{0, 3, 5}));
  EXPECT_EQ(Select("NOT ok"), (RowList{1, 4}));
  // decimal(10, 2): [1.50, 2.00, -3.25, null, 0.00, 99.99]
  EXPECT_EQ(Select("price > 1.5"), (RowList{1, 5}));
  EXPECT_EQ(Select("price = 2"), (RowList{1}));
  EXPECT_EQ(Select("price BETWEEN -5 AND 0"), (RowList{2, 4}));
}

TEST_F(PredicateTest, EvaluatesInBetweenAndNullTests) {
  EXPECT_EQ(Select("id IN (1, 3, 99)"), (RowList{0, 2}));
  EXPECT_EQ(Select("id NOT IN (1, 3)"), (RowList{1, 3, 4}));
  EXPECT_EQ(Select("name IN ('beta', 'gamma')"), (RowList{1, 4, 5}));
  EXPECT_EQ(Select("name NOT IN ('beta')"), (RowList{0, 2, 4}));
  EXPECT_EQ(Select("day IN ('2024-01-01', DATE '2024-01-08')"), (RowList{0, 4, 5}));
  EXPECT_EQ(Select("ts IN (TIMESTAMP '2024-01-01 10:00:00.5')"), (RowList{1}));
  EXPECT_EQ(Select("temperature IN (21, 30)"), (RowList{1, 5}));
  EXPECT_EQ(Select("id BETWEEN 2 AND 4"), (RowList{1, 2, 3}));
  EXPECT_EQ(Select("id NOT BETWEEN 2 AND 4"), (RowList{0, 4}));
  EXPECT_EQ(Select("id BETWEEN 4 AND 2"), (RowList{}));
  EXPECT_EQ(Select("day BETWEEN '2024-01-02' AND '2024-01-03'"), (RowList{1, 2}));
  EXPECT_EQ(Select("id IS NULL"), (RowList{5}));
  EXPECT_EQ(Select("id IS NOT NULL"), (RowList{0, 1, 2, 3, 4}));
  EXPECT_EQ(Select("name IS NULL"), (RowList{3}));
  EXPECT_EQ(Select("ts IS NULL OR temperature IS NULL"), (RowList{2, 3}));
  EXPECT_EQ(Select("NOT ok IS NULL"), (RowList{0, 1, 3, 4, 5}));
}

TEST_F(PredicateTest, NullsFollowSqlSemantics) {
  // A comparison with a null value is unknown, and so is its negation.
  EXPECT_EQ(Select("NOT id = 3"), (RowList{0, 1, 3, 4}));
  EXPECT_EQ(Select("NOT (id > 3)"), (RowList{0, 1, 2}));
  EXPECT_EQ(Select("id = NULL"), (RowList{}));
  EXPECT_EQ(Select("id != NULL"), (RowList{}));
  EXPECT_EQ(Select("NOT (id = NULL)"), (RowList{}));
  EXPECT_EQ(Select("NULL = id"), (RowList{}));
  // Kleene logic: unknown OR true is true, unknown AND false is false.
  EXPECT_EQ(Select("id = NULL OR id = 1"), (RowList{0}));
  EXPECT_EQ(Select("id > 3 OR id IS NULL"), (RowList{3, 4, 5}));
  EXPECT_EQ(Select("NOT (id = NULL AND id = 1)"), (RowList{1, 2, 3, 4}));
  EXPECT_EQ(Select("ok OR name = 'it''s'"), (RowList{0, 2, 3, 5}));
  // IN with a NULL in the list: a miss is unknown, so NOT IN never holds.
  EXPECT_EQ(Select("id IN (1, NULL)"), (RowList{0}));
  EXPECT_EQ(Select("id NOT IN (1, NULL)"), (RowList{}));
  EXPECT_EQ(Select("NOT (id IN (1, NULL)) OR id = 2"), (RowList{1}));
}

TEST_F(PredicateTest, EvaluatesPrecedenceAndParentheses) {
  EXPECT_EQ(Select("id = 1 OR id = 2 AND name = 'alpha'"), (RowList{0}));
  EXPECT_EQ(Select("(id = 1 OR id = 2) AND name = 'beta'"), (RowList{1}));
  EXPECT_EQ(Select("NOT id = 1 AND id < 4"), (RowList{1, 2}));
  EXPECT_EQ(Select("NOT (id = 1 AND id < 4)"), (RowList{1, 2, 3, 4}));
  EXPECT_EQ(Select("ID > 2 and NAME is not null or ok = false"), (RowList{1, 2, 4}));
}

TEST_F(PredicateTest, FilterAndExpression) {
  BoundPredicate pred = MustBind("name = 'beta' AND big > 15");
  ASSERT_OK_AND_ASSIGN_PRED(auto filtered, Filter(pred, batch_));
  ASSERT_EQ(filtered->num_rows(), 2);
  EXPECT_TRUE(filtered->schema()->Equals(*batch_->schema()));
  const auto& big = static_cast<const arrow::Int64Array&>(*filtered->GetColumnByName("big"));
  EXPECT_EQ(big.Value(0), 20);
  EXPECT_EQ(big.Value(1), 6000000000);

  ASSERT_OK_AND_ASSIGN_PRED(arrow::compute::Expression expr,
                            ToArrowExpression(MustBind("id IN (1, 2) AND NOT ok IS NULL")));
  std::string text = expr.ToString();
  EXPECT_NE(text.find("is_in"), std::string::npos) << text;
  EXPECT_NE(text.find("is_null"), std::string::npos) << text;
  auto bound = expr.Bind(*schema_);
  EXPECT_TRUE(bound.ok()) << bound.status();

  // An empty batch gives an empty mask.
  ASSERT_OK_AND_ASSIGN_PRED(auto mask, EvaluateMask(pred, *batch_->Slice(0, 0)));
  EXPECT_EQ(mask->length(), 0);

  // A batch without the column fails with Arrow's error rather than crashing.
  auto other = arrow::RecordBatch::Make(
      arrow::schema({arrow::field("x", arrow::int32())}), 0,
      {arrow::json::ArrayFromJSONString(arrow::int32(), "[]").ValueOrDie()});
  EXPECT_FALSE(EvaluateMask(pred, *other).ok());
}

TEST_F(PredicateTest, ReferencedColumns) {
  ASSERT_OK_AND_ASSIGN_PRED(Predicate p,
                            ParsePredicate("b = 1 AND (a > 2 OR b < 0) AND NOT \"c d\" IS NULL"));
  EXPECT_EQ(ReferencedColumns(p), (std::vector<std::string>{"b", "a", "c d"}));
  EXPECT_EQ(ReferencedColumns(MustBind("NAME = 'x' OR id BETWEEN 1 AND 2 OR name IS NULL")),
            (std::vector<std::string>{"name", "id"}));
}

// --- pruning ---------------------------------------------------------------------------------

class PruningTest : public PredicateTest {
 protected:
  bool May(const std::string& where) { return MayMatch(MustBind(where), View()); }

  StatsView View() const {
    return [this](const std::string& column) -> std::optional<ColumnStats> {
      auto it = stats_.find(column);
      if (it == stats_.end()) return std::nullopt;
      return it->second;
    };
  }

  static ColumnStats Range(std::shared_ptr<arrow::Scalar> min, std::shared_ptr<arrow::Scalar> max,
                           int64_t nulls = 0, int64_t rows = 100) {
    ColumnStats s;
    s.min = std::move(min);
    s.max = std::move(max);
    s.null_count = nulls;
    s.row_count = rows;
    return s;
  }

  std::map<std::string, ColumnStats> stats_;
};

TEST_F(PruningTest, ComparisonsAgainstMinMax) {
  stats_["id"] = Range(arrow::MakeScalar(int32_t{10}), arrow::MakeScalar(int32_t{20}));
  EXPECT_FALSE(May("id = 5"));
  EXPECT_TRUE(May("id = 10"));
  EXPECT_TRUE(May("id = 15"));
  EXPECT_TRUE(May("id = 20"));
  EXPECT_FALSE(May("id = 25"));
  EXPECT_TRUE(May("id != 15"));
  EXPECT_FALSE(May("id < 10"));
  EXPECT_TRUE(May("id < 11"));
  EXPECT_TRUE(May("id <= 10"));
  EXPECT_FALSE(May("id <= 9"));
  EXPECT_FALSE(May("id > 20"));
  EXPECT_TRUE(May("id > 19"));
  EXPECT_TRUE(May("id >= 20"));
  EXPECT_FALSE(May("id >= 21"));
  EXPECT_FALSE(May("5 > id"));
  EXPECT_FALSE(May("id IN (1, 25)"));
  EXPECT_TRUE(May("id IN (1, 15)"));
  EXPECT_TRUE(May("id NOT IN (15)"));
  EXPECT_FALSE(May("id BETWEEN 21 AND 30"));
  EXPECT_TRUE(May("id BETWEEN 20 AND 30"));
  EXPECT_FALSE(May("id IS NULL"));  // null_count == 0
  EXPECT_TRUE(May("id IS NOT NULL"));
  EXPECT_FALSE(May("id = NULL"));
  EXPECT_FALSE(May("id IN (NULL)"));

  stats_["id"].null_count = 3;
  EXPECT_TRUE(May("id IS NULL"));
  stats_["id"].null_count.reset();
  EXPECT_TRUE(May("id IS NULL"));
}

TEST_F(PruningTest, AndOrAreExactAndNotIsPushedDown) {
  stats_["id"] = Range(arrow::MakeScalar(int32_t{10}), arrow::MakeScalar(int32_t{20}));
  stats_["name"] = Range(arrow::MakeScalar("b"), arrow::MakeScalar("d"));
  EXPECT_FALSE(May("id = 5 AND name = 'c'"));
  EXPECT_FALSE(May("id = 15 AND name = 'a'"));
  EXPECT_TRUE(May("id = 15 AND name = 'c'"));
  EXPECT_TRUE(May("id = 5 OR name = 'c'"));
  EXPECT_FALSE(May("id = 5 OR name = 'e'"));
  // De Morgan: NOT (id < 10 OR id > 20) = id >= 10 AND id <= 20.
  EXPECT_TRUE(May("NOT (id < 10 OR id > 20)"));
  EXPECT_FALSE(May("NOT (id >= 10 AND id <= 20)"));
  EXPECT_FALSE(May("id NOT BETWEEN 10 AND 20"));
  EXPECT_TRUE(May("id NOT BETWEEN 11 AND 20"));
  EXPECT_FALSE(May("NOT id >= 10"));
  EXPECT_TRUE(May("NOT id > 10"));
  EXPECT_FALSE(May("NOT NOT id = 5"));
  EXPECT_FALSE(May("NOT id IS NOT NULL"));  // no nulls
  EXPECT_TRUE(May("NOT id IS NULL"));
  EXPECT_FALSE(May("NOT (name >= 'b' OR id = 5)"));

  // A single-valued column (a partition) prunes != and NOT IN too.
  stats_["id"] = Range(arrow::MakeScalar(int32_t{10}), arrow::MakeScalar(int32_t{10}));
  EXPECT_FALSE(May("id != 10"));
  EXPECT_FALSE(May("NOT id = 10"));
  EXPECT_FALSE(May("id NOT IN (10, 11)"));
  EXPECT_TRUE(May("id NOT IN (11, 12)"));
  EXPECT_FALSE(May("id NOT IN (11, NULL)"));  // NOT IN with a NULL is never true
  EXPECT_TRUE(May("id != 11"));
}

TEST_F(PruningTest, UnknownStatsAreConservative) {
  EXPECT_TRUE(May("id = 5"));                       // no stats for the column
  EXPECT_TRUE(MayMatch(MustBind("id = 5"), StatsView{}));  // no stats at all
  stats_["id"] = ColumnStats{};
  EXPECT_TRUE(May("id = 5 AND id IS NULL"));
  EXPECT_TRUE(May("NOT id IS NULL"));
  stats_["id"].min = arrow::MakeScalar(int32_t{10});  // max unknown
  EXPECT_FALSE(May("id < 10"));
  EXPECT_TRUE(May("id > 1000"));
  stats_["id"].min = arrow::MakeNullScalar(arrow::int32());  // invalid scalar = unknown
  EXPECT_TRUE(May("id < 10"));
  // Mismatched stats types (e.g. after a type change) fall back to true, never crash.
  stats_["name"] = Range(arrow::MakeScalar(int32_t{1}), arrow::MakeScalar(int32_t{2}));
  EXPECT_TRUE(May("name = 'x'"));
  // NaN bounds compare as unknown; != on floating columns never prunes (NaN is not in min/max).
  stats_["temperature"] = Range(arrow::MakeScalar(1.0), arrow::MakeScalar(1.0));
  EXPECT_TRUE(May("temperature != 1"));
  EXPECT_FALSE(May("temperature > 1"));
  stats_["temperature"].max = arrow::MakeScalar(std::nan(""));
  EXPECT_TRUE(May("temperature > 1"));
}

TEST_F(PruningTest, NullCountsAndEmptyFiles) {
  stats_["id"] = Range(nullptr, nullptr, /*nulls=*/50, /*rows=*/50);  // all null
  EXPECT_FALSE(May("id = 5"));
  EXPECT_FALSE(May("id != 5"));
  EXPECT_FALSE(May("NOT id = 5"));
  EXPECT_FALSE(May("id IN (5)"));
  EXPECT_FALSE(May("id NOT IN (5)"));
  EXPECT_TRUE(May("id IS NULL"));
  EXPECT_FALSE(May("id IS NOT NULL"));
  EXPECT_FALSE(May("NOT id IS NULL"));
  EXPECT_TRUE(May("id = 5 OR id IS NULL"));
  stats_["id"] = Range(nullptr, nullptr, 0, /*rows=*/0);  // empty file
  EXPECT_FALSE(May("id IS NULL"));
  EXPECT_FALSE(May("id IS NOT NULL"));
}

TEST_F(PruningTest, PartitionValuesAndTypedStats) {
  // Partition day = 2024-01-01, hour = NULL (Paimon's default partition).
  stats_["day"] = ColumnStats::Constant(std::make_shared<arrow::Date32Scalar>(19723));
  stats_["id"] = ColumnStats::Constant(arrow::MakeNullScalar(arrow::int32()));
  EXPECT_TRUE(May("day = '2024-01-01'"));
  EXPECT_FALSE(May("day > '2024-01-01'"));
  EXPECT_FALSE(May("day != DATE '2024-01-01'"));
  EXPECT_TRUE(May("day BETWEEN '2023-12-01' AND '2024-01-31'"));
  EXPECT_FALSE(May("day IN ('2024-01-02', '2024-01-03')"));
  EXPECT_FALSE(May("day IS NULL"));
  EXPECT_TRUE(May("id IS NULL"));
  EXPECT_FALSE(May("id = 1"));
  EXPECT_FALSE(May("day = '2024-01-01' AND id = 1"));
  EXPECT_TRUE(May("day = '2024-01-01' AND (id = 1 OR temperature > 3)"));  // temperature unknown
  EXPECT_EQ(ColumnStats::Constant(nullptr).null_count, 1);

  auto us = arrow::timestamp(arrow::TimeUnit::MICRO);
  const int64_t jan1_us = int64_t{19723} * 86400 * 1000000;
  stats_["ts"] = Range(std::make_shared<arrow::TimestampScalar>(jan1_us, us),
                       std::make_shared<arrow::TimestampScalar>(jan1_us + 3600000000, us));
  EXPECT_TRUE(May("ts >= TIMESTAMP '2024-01-01 00:30:00'"));
  EXPECT_FALSE(May("ts > TIMESTAMP '2024-01-01 01:00:00'"));
  EXPECT_TRUE(May("ts >= TIMESTAMP '2024-01-01 01:00:00'"));
  EXPECT_FALSE(May("ts < '2024-01-01'"));

  stats_["name"] = Range(arrow::MakeScalar("beta"), arrow::MakeScalar("delta"));
  EXPECT_FALSE(May("name = 'alpha'"));
  EXPECT_TRUE(May("name = 'charlie'"));
  EXPECT_FALSE(May("name < 'beta'"));
  EXPECT_TRUE(May("name IN ('alpha', 'delta')"));

  stats_["temperature"] = Range(arrow::MakeScalar(-3.5), arrow::MakeScalar(30.0));
  EXPECT_FALSE(May("temperature > 30"));
  EXPECT_TRUE(May("temperature > 29.9"));
  EXPECT_FALSE(May("temperature < -3.5"));

  stats_["ok"] = Range(arrow::MakeScalar(false), arrow::MakeScalar(false));
  EXPECT_FALSE(May("ok"));
  EXPECT_TRUE(May("NOT ok"));

  auto dec = arrow::decimal128(10, 2);
  stats_["price"] = Range(std::make_shared<arrow::Decimal128Scalar>(arrow::Decimal128(100), dec),
                          std::make_shared<arrow::Decimal128Scalar>(arrow::Decimal128(250), dec));
  EXPECT_TRUE(May("price = 2.5"));
  EXPECT_FALSE(May("price > 2.5"));
  EXPECT_FALSE(May("price < 0.99"));

  stats_["big"] = Range(arrow::MakeScalar(int64_t{-5}), arrow::MakeScalar(int64_t{6000000000}));
  EXPECT_FALSE(May("big > 6000000000"));
  EXPECT_TRUE(May("big < -4"));
}

}  // namespace
}  // namespace millpond::table
