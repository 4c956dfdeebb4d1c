// Helpers shared by the `--where` parser (predicate_parser.cc) and the binder/evaluator
// (predicate.cc): SQL quoting and identifier spelling, date/time literal text, and the printer
// behind Predicate::ToString and BoundPredicate::ToString. Private to src/table.
// Stateless functions: safe to call from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "millpond/table/predicate.h"

namespace millpond::table::internal {

bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// Three-way comparison of two valid scalars of compatible types (numbers across widths, strings
// and binaries byte-wise, dates, timestamps, decimals); nullopt when they do not compare.
std::optional<int> CompareScalars(const arrow::Scalar& a, const arrow::Scalar& b);

// `s` between `q` quotes, with each `q` inside doubled: Quote("it's", '\'') is 'it''s'.
std::string Quote(std::string_view s, char q);

// The column as written in filter text: bare when a plain, non-reserved identifier, else quoted.
std::string ColumnToSql(const std::string& name);

struct DateTime {
  int64_t days = 0;          // since 1970-01-01
  int64_t second_of_day = 0;
  int64_t nanos = 0;         // within the second
  bool has_time = false;
};

// YYYY-MM-DD[( |T)HH:MM[:SS[.fraction]]][Z]
std::optional<DateTime> ParseDateTime(std::string_view s);

// Fully parenthesized SQL for a Predicate or BoundPredicate; `value_to_sql(p, i)` prints the i-th
// literal or value of leaf `p`.
template <typename Node, typename ValueToSql>
std::string NodeToString(const Node& p, const ValueToSql& value_to_sql) {
  using Kind = Predicate::Kind;
  std::string out;
  switch (p.kind) {
    case Kind::kAnd:
    case Kind::kOr:
      for (const auto& child : p.children) {
        if (!out.empty()) out += p.kind == Kind::kAnd ? " AND " : " OR ";
        out += NodeToString(child, value_to_sql);
      }
      return "(" + out + ")";
    case Kind::kNot:
      return "(NOT " + (p.children.empty() ? "" : NodeToString(p.children[0], value_to_sql)) + ")";
    case Kind::kIsNull:
      return "(" + ColumnToSql(p.column) + " IS NULL)";
    case Kind::kIsNotNull:
      return "(" + ColumnToSql(p.column) + " IS NOT NULL)";
    case Kind::kCompare:
      return "(" + ColumnToSql(p.column) + " " + std::string(CompareOpSymbol(p.op)) + " " +
             value_to_sql(p, 0) + ")";
    case Kind::kIn:
      break;
  }
  size_t n = 0;
  if constexpr (std::is_same_v<Node, Predicate>) {
    n = p.literals.size();
  } else {
    n = p.values.size();
  }
  for (size_t i = 0; i < n; ++i) out += (i ? ", " : "") + value_to_sql(p, i);
  return "(" + ColumnToSql(p.column) + " IN (" + out + "))";
}

}  // namespace millpond::table::internal
