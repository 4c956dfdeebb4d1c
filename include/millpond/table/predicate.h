// Row filters: the `--where` language of `millpond scan`, parsed into a Predicate, bound against
// an arrow::Schema (literals cast to the column types), then evaluated with Arrow compute or used
// to prune partitions and data files from their statistics.
// Predicates are plain values: immutable after construction and safe to share between threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <arrow/compute/expression.h>
#include <arrow/type_fwd.h>

#include "millpond/common/status.h"

namespace millpond::table {

/// A comparison operator, always read as `column OP value` (`5 < x` is parsed as `x > 5`).
enum class CompareOp { kEq, kNe, kLt, kLe, kGt, kGe };

/// "=", "!=", "<", "<=", ">", ">=".
std::string_view CompareOpSymbol(CompareOp op);

/// A literal as written in the filter text, not yet typed.
struct Literal {
  enum class Kind { kNull, kBool, kInteger, kDecimal, kString, kDate, kTimestamp };
  Kind kind = Kind::kNull;
  /// kBool: "TRUE"/"FALSE"; kInteger/kDecimal: the digits as written, with any sign; kString: the
  /// unescaped value; kDate/kTimestamp: the text inside the quotes.
  std::string text;
  /// 1-based character offset in the filter text, for error messages.
  int position = 0;
  /// True for the `= TRUE` the parser adds to a bare column (`--where is_ok`).
  bool implicit = false;

  /// The literal as SQL: `'it''s'`, `-5`, `DATE '2024-01-01'`, `NULL`.
  std::string ToString() const;
};

/// The parsed, unbound filter: a tree of AND/OR/NOT over leaf tests on one column each.
/// BETWEEN is parsed as `col >= a AND col <= b`; `NOT IN` as NOT over IN.
struct Predicate {
  enum class Kind { kCompare, kIn, kIsNull, kIsNotNull, kAnd, kOr, kNot };
  Kind kind = Kind::kCompare;
  /// kCompare only.
  CompareOp op = CompareOp::kEq;
  /// Leaf kinds: the column as written (unquoted); quoted names match only exactly.
  std::string column;
  bool column_quoted = false;
  /// 1-based offset of the column (leaves) or operator keyword (AND/OR/NOT).
  int position = 0;
  /// kCompare: one literal; kIn: one or more.
  std::vector<Literal> literals;
  /// kAnd/kOr: two or more; kNot: one.
  std::vector<Predicate> children;

  /// Normalized SQL text, fully parenthesized: `((a > 1) AND (NOT (b IN ('x', 'y'))))`.
  std::string ToString() const;
};

/// A Predicate whose columns were resolved in a schema and whose literals are Arrow scalars of the
/// column's type (a null scalar for a NULL literal).
struct BoundPredicate {
  using Kind = Predicate::Kind;
  Kind kind = Kind::kCompare;
  CompareOp op = CompareOp::kEq;
  /// Leaf kinds: the column's name as spelled in the schema, and its type.
  std::string column;
  std::shared_ptr<arrow::DataType> type;
  /// kCompare: one value; kIn: the distinct values of the list, in order of appearance.
  std::vector<std::shared_ptr<arrow::Scalar>> values;
  std::vector<BoundPredicate> children;

  std::string ToString() const;
};

/// Parses filter text. Keywords (AND OR NOT IN IS NULL BETWEEN TRUE FALSE, DATE/TIMESTAMP before a
/// quoted literal) are case-insensitive; precedence is NOT > AND > OR. Errors read
/// `Invalid: --where: syntax error at position N: ...`.
Result<Predicate> ParsePredicate(std::string_view text);

/// Resolves columns in `schema` (exact name first, then a unique case-insensitive match for
/// unquoted names) and casts literals to the column types: integers to integer, floating and
/// decimal columns (range-checked; a whole decimal such as 2.0 counts as an integer), decimals to
/// floating and decimal columns (exactly), strings parsed as the column's type (numbers, dates,
/// timestamps, booleans), DATE/TIMESTAMP to date and timestamp columns (a DATE is midnight; a
/// TIMESTAMP on a date column must be midnight). Timestamps carry no zone and are read as UTC
/// (the storage of TIMESTAMP_LTZ). NULL becomes a null scalar, so `col = NULL` matches nothing.
/// Errors are one line naming the column: `Invalid: --where: cannot compare column temperature
/// (double) with 'abc'`, `Invalid: --where: unknown column x; available columns: a, b`.
Result<BoundPredicate> BindPredicate(const Predicate& predicate, const arrow::Schema& schema);

/// ParsePredicate then BindPredicate.
Result<BoundPredicate> ParseAndBindPredicate(std::string_view text, const arrow::Schema& schema);

/// The predicate as an Arrow compute expression (unbound; field refs by name) with SQL semantics:
/// comparisons with null yield null, AND/OR are Kleene, IN yields null when undecided.
Result<arrow::compute::Expression> ToArrowExpression(const BoundPredicate& predicate);

/// Evaluates the predicate on `batch`: a boolean array without nulls, true where the row matches
/// (SQL WHERE semantics: null counts as no match). Needs arrow::compute::Initialize().
Result<std::shared_ptr<arrow::Array>> EvaluateMask(const BoundPredicate& predicate,
                                                   const arrow::RecordBatch& batch);

/// The rows of `batch` that match the predicate.
Result<std::shared_ptr<arrow::RecordBatch>> Filter(
    const BoundPredicate& predicate, const std::shared_ptr<arrow::RecordBatch>& batch);

/// What is known about one column of a partition or data file. Every field is optional; min/max
/// must be bounds of the non-null values (need not be tight) in the column's Arrow type.
struct ColumnStats {
  std::shared_ptr<arrow::Scalar> min;
  std::shared_ptr<arrow::Scalar> max;
  std::optional<int64_t> null_count;
  std::optional<int64_t> row_count;

  /// Stats of a column holding one value in every row, such as a partition field; a null or invalid
  /// `value` means every row is null (Paimon's default partition).
  static ColumnStats Constant(std::shared_ptr<arrow::Scalar> value);
};

/// Statistics lookup by column name (as spelled in the bound schema); nullopt when unknown.
using StatsView = std::function<std::optional<ColumnStats>(const std::string& column)>;

/// False only when no row described by `stats` can match. Conservative (true) for anything unknown;
/// AND/OR combine their children exactly; NOT is pushed down to the leaves (De Morgan, inverted
/// comparisons, IS NULL <-> IS NOT NULL, NOT IN).
bool MayMatch(const BoundPredicate& predicate, const StatsView& stats);

/// Distinct column names the predicate reads, in order of first appearance.
std::vector<std::string> ReferencedColumns(const Predicate& predicate);
std::vector<std::string> ReferencedColumns(const BoundPredicate& predicate);

}  // namespace millpond::table
