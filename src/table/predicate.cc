// Row filters after parsing: binding a Predicate against an Arrow schema (literals cast to the
// column types), translation to Arrow compute expressions, evaluation on record batches, and
// statistics-based pruning. The `--where` text is tokenized and parsed in predicate_parser.cc.
// Stateless functions over immutable values: safe to call from any thread.
#include "millpond/table/predicate.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <arrow/api.h>
#include <arrow/compute/api.h>
#include <arrow/compute/exec.h>
#include <arrow/util/decimal.h>

#include "table/predicate_internal.h"

namespace millpond::table {
namespace {

using arrow::Status;
using internal::ColumnToSql;
using internal::DateTime;
using internal::EqualsIgnoreCase;
using internal::NodeToString;
using internal::ParseDateTime;
using internal::Quote;

// ---------------------------------------------------------------------------------------------
// Numbers in literal text

struct Number {
  bool integral = false;  // `value` holds an exact integer in [int64 min, uint64 max]
  bool negative = false;
  uint64_t magnitude = 0;
  double value = 0;
};

// Parses a complete decimal number: [+-]digits[.digits][e[+-]digits].
std::optional<Number> ParseNumber(std::string_view s) {
  Number n;
  std::string_view body = s;
  if (!body.empty() && (body[0] == '-' || body[0] == '+')) {
    n.negative = body[0] == '-';
    body.remove_prefix(1);
  }
  if (body.empty()) return std::nullopt;
  const char* end = body.data() + body.size();
  // from_chars(double) rejects a leading '+', and accepts "inf"/"nan" which we want as well
  // for strings compared with floating columns.
  double d = 0;
  auto [dp, dec] = std::from_chars(body.data(), end, d);
  if (dec != std::errc() || dp != end) return std::nullopt;
  n.value = n.negative ? -d : d;
  uint64_t m = 0;
  auto [ip, iec] = std::from_chars(body.data(), end, m);
  if (iec == std::errc() && ip == end) {
    bool fits = !n.negative || m <= uint64_t{1} << 63;
    n.integral = fits;
    n.magnitude = m;
  } else if (std::isfinite(d) && std::trunc(d) == d && std::fabs(d) < 9.007199254740992e15) {
    n.integral = true;  // "2.0", "1e3": an exactly representable whole number
    n.magnitude = static_cast<uint64_t>(std::fabs(d));
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Binding

std::string FieldDescription(const arrow::Field& field) {
  return field.name() + " (" + field.type()->ToString() + ")";
}

Result<std::shared_ptr<arrow::Field>> ResolveColumn(const Predicate& p,
                                                     const arrow::Schema& schema) {
  std::vector<int> matches = schema.GetAllFieldIndices(p.column);
  if (matches.empty() && !p.column_quoted) {
    for (int i = 0; i < schema.num_fields(); ++i) {
      if (EqualsIgnoreCase(schema.field(i)->name(), p.column)) matches.push_back(i);
    }
  }
  if (matches.size() == 1) return schema.field(matches[0]);
  if (matches.size() > 1) {
    return Status::Invalid("--where: column ", ColumnToSql(p.column), " is ambiguous (",
                           matches.size(), " columns match)");
  }
  if (p.column_quoted) {
    for (const auto& f : schema.fields()) {
      if (EqualsIgnoreCase(f->name(), p.column)) {
        return Status::Invalid("--where: unknown column ", ColumnToSql(p.column),
                               " (quoted names are case-sensitive; did you mean ",
                               ColumnToSql(f->name()), "?)");
      }
    }
  }
  std::string available;
  for (const auto& f : schema.fields()) {
    available += (available.empty() ? "" : ", ") + ColumnToSql(f->name());
  }
  return Status::Invalid("--where: unknown column ", ColumnToSql(p.column),
                         "; available columns: ", available.empty() ? "(none)" : available);
}

Status CannotCompare(const arrow::Field& field, const Literal& lit, std::string_view why = {}) {
  if (lit.implicit) {
    return Status::Invalid("--where: column ", FieldDescription(field),
                           " is not boolean; compare it with a value");
  }
  return Status::Invalid("--where: cannot compare column ", FieldDescription(field), " with ",
                         lit.ToString(), why.empty() ? "" : ": ", why);
}

template <typename T>
bool InRange(const Number& n) {
  if (n.negative) {
    if constexpr (std::is_unsigned_v<T>) return n.magnitude == 0;
    // -magnitude >= min  <=>  magnitude <= -(min)
    return n.magnitude <= static_cast<uint64_t>(-(std::numeric_limits<T>::min() + 1)) + 1;
  }
  return n.magnitude <= static_cast<uint64_t>(std::numeric_limits<T>::max());
}

template <typename T>
Result<std::shared_ptr<arrow::Scalar>> IntegerScalar(const Number& n,
                                                     const std::shared_ptr<arrow::DataType>& type) {
  T value;
  if (n.negative) {
    value = static_cast<T>(-static_cast<int64_t>(n.magnitude - 1) - 1);
  } else {
    value = static_cast<T>(n.magnitude);
  }
  return arrow::MakeScalar(type, value);
}

bool IsNumericLiteral(const Literal& lit) {
  return lit.kind == Literal::Kind::kInteger || lit.kind == Literal::Kind::kDecimal ||
         lit.kind == Literal::Kind::kString;
}

Result<std::shared_ptr<arrow::Scalar>> BindInteger(const arrow::Field& field, const Literal& lit) {
  if (!IsNumericLiteral(lit)) return CannotCompare(field, lit);
  std::optional<Number> n = ParseNumber(lit.text);
  if (!n) return CannotCompare(field, lit);
  if (!n->integral) {
    bool whole = std::isfinite(n->value) && std::trunc(n->value) == n->value;
    return CannotCompare(field, lit,
                         whole ? "out of range for " + field.type()->ToString() : "not an integer");
  }
  const auto& type = field.type();
  bool fits = false;
  switch (type->id()) {
    case arrow::Type::INT8: fits = InRange<int8_t>(*n); break;
    case arrow::Type::INT16: fits = InRange<int16_t>(*n); break;
    case arrow::Type::INT32: fits = InRange<int32_t>(*n); break;
    case arrow::Type::INT64: fits = InRange<int64_t>(*n); break;
    case arrow::Type::UINT8: fits = InRange<uint8_t>(*n); break;
    case arrow::Type::UINT16: fits = InRange<uint16_t>(*n); break;
    case arrow::Type::UINT32: fits = InRange<uint32_t>(*n); break;
    case arrow::Type::UINT64: fits = InRange<uint64_t>(*n); break;
    default: break;
  }
  if (!fits) return CannotCompare(field, lit, "out of range for " + type->ToString());
  switch (type->id()) {
    case arrow::Type::INT8: return IntegerScalar<int8_t>(*n, type);
    case arrow::Type::INT16: return IntegerScalar<int16_t>(*n, type);
    case arrow::Type::INT32: return IntegerScalar<int32_t>(*n, type);
    case arrow::Type::INT64: return IntegerScalar<int64_t>(*n, type);
    case arrow::Type::UINT8: return IntegerScalar<uint8_t>(*n, type);
    case arrow::Type::UINT16: return IntegerScalar<uint16_t>(*n, type);
    case arrow::Type::UINT32: return IntegerScalar<uint32_t>(*n, type);
    default: return IntegerScalar<uint64_t>(*n, type);
  }
}

Result<std::shared_ptr<arrow::Scalar>> BindDecimal(const arrow::Field& field, const Literal& lit) {
  if (!IsNumericLiteral(lit)) return CannotCompare(field, lit);
  const auto& type = static_cast<const arrow::Decimal128Type&>(*field.type());
  arrow::Decimal128 value;
  int32_t precision = 0, scale = 0;
  if (!arrow::Decimal128::FromString(lit.text, &value, &precision, &scale).ok()) {
    return CannotCompare(field, lit);
  }
  if (scale != type.scale()) {
    auto rescaled = value.Rescale(scale, type.scale());
    if (!rescaled.ok()) {
      return CannotCompare(field, lit, "not exactly representable with scale " +
                                           std::to_string(type.scale()));
    }
    value = *rescaled;
  }
  if (!value.FitsInPrecision(type.precision())) {
    return CannotCompare(field, lit, "out of range for " + type.ToString());
  }
  return arrow::MakeScalar(field.type(), value);
}

// Whole seconds and nanoseconds since the epoch of a DATE/TIMESTAMP/string literal.
std::optional<DateTime> LiteralDateTime(const Literal& lit) {
  if (lit.kind != Literal::Kind::kDate && lit.kind != Literal::Kind::kTimestamp &&
      lit.kind != Literal::Kind::kString) {
    return std::nullopt;
  }
  return ParseDateTime(lit.text);
}

Result<std::shared_ptr<arrow::Scalar>> BindTemporal(const arrow::Field& field, const Literal& lit) {
  std::optional<DateTime> dt = LiteralDateTime(lit);
  if (!dt) return CannotCompare(field, lit);
  const auto& type = field.type();
  bool midnight = dt->second_of_day == 0 && dt->nanos == 0;
  switch (type->id()) {
    case arrow::Type::DATE32:
      if (!midnight) return CannotCompare(field, lit, "a date has no time of day");
      return arrow::MakeScalar(type, static_cast<int32_t>(dt->days));
    case arrow::Type::DATE64:
      if (!midnight) return CannotCompare(field, lit, "a date has no time of day");
      return arrow::MakeScalar(type, dt->days * int64_t{86400000});
    case arrow::Type::TIMESTAMP: {
      int64_t per_second = 1;
      switch (static_cast<const arrow::TimestampType&>(*type).unit()) {
        case arrow::TimeUnit::SECOND: per_second = 1; break;
        case arrow::TimeUnit::MILLI: per_second = 1000; break;
        case arrow::TimeUnit::MICRO: per_second = 1000000; break;
        case arrow::TimeUnit::NANO: per_second = 1000000000; break;
      }
      int64_t nanos_per_unit = 1000000000 / per_second;
      if (dt->nanos % nanos_per_unit != 0) {
        return CannotCompare(field, lit, "more precise than the column");
      }
      int64_t seconds = dt->days * 86400 + dt->second_of_day;
      int64_t value = 0;
      if (__builtin_mul_overflow(seconds, per_second, &value) ||
          __builtin_add_overflow(value, dt->nanos / nanos_per_unit, &value)) {
        return CannotCompare(field, lit, "out of range for " + type->ToString());
      }
      return arrow::MakeScalar(type, value);
    }
    default:
      return CannotCompare(field, lit);
  }
}

Result<std::shared_ptr<arrow::Scalar>> BindLiteral(const arrow::Field& field, const Literal& lit) {
  const auto& type = field.type();
  if (lit.kind == Literal::Kind::kNull) return arrow::MakeNullScalar(type);
  switch (type->id()) {
    case arrow::Type::INT8:
    case arrow::Type::INT16:
    case arrow::Type::INT32:
    case arrow::Type::INT64:
    case arrow::Type::UINT8:
    case arrow::Type::UINT16:
    case arrow::Type::UINT32:
    case arrow::Type::UINT64:
      return BindInteger(field, lit);
    case arrow::Type::FLOAT:
    case arrow::Type::DOUBLE: {
      std::optional<Number> n = IsNumericLiteral(lit) ? ParseNumber(lit.text) : std::nullopt;
      if (!n) return CannotCompare(field, lit);
      if (type->id() == arrow::Type::FLOAT) {
        return arrow::MakeScalar(type, static_cast<float>(n->value));
      }
      return arrow::MakeScalar(type, n->value);
    }
    case arrow::Type::DECIMAL128:
      return BindDecimal(field, lit);
    case arrow::Type::BOOL:
      if (lit.kind == Literal::Kind::kBool ||
          (lit.kind == Literal::Kind::kString &&
           (EqualsIgnoreCase(lit.text, "true") || EqualsIgnoreCase(lit.text, "false")))) {
        return arrow::MakeScalar(type, EqualsIgnoreCase(lit.text, "true"));
      }
      return CannotCompare(field, lit);
    case arrow::Type::STRING:
    case arrow::Type::LARGE_STRING:
    case arrow::Type::STRING_VIEW:
    case arrow::Type::BINARY:
    case arrow::Type::LARGE_BINARY:
    case arrow::Type::BINARY_VIEW:
      if (lit.kind != Literal::Kind::kString) return CannotCompare(field, lit);
      return arrow::MakeScalar(type, arrow::Buffer::FromString(lit.text));
    case arrow::Type::DATE32:
    case arrow::Type::DATE64:
    case arrow::Type::TIMESTAMP:
      return BindTemporal(field, lit);
    default:
      return Status::Invalid("--where: column ", FieldDescription(field),
                             " has a type that filters do not support");
  }
}

Result<BoundPredicate> Bind(const Predicate& p, const arrow::Schema& schema) {
  BoundPredicate b;
  b.kind = p.kind;
  b.op = p.op;
  if (p.kind == Predicate::Kind::kAnd || p.kind == Predicate::Kind::kOr ||
      p.kind == Predicate::Kind::kNot) {
    for (const Predicate& child : p.children) {
      ARROW_ASSIGN_OR_RAISE(BoundPredicate bound, Bind(child, schema));
      b.children.push_back(std::move(bound));
    }
    return b;
  }
  ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Field> field, ResolveColumn(p, schema));
  b.column = field->name();
  b.type = field->type();
  for (const Literal& lit : p.literals) {
    ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Scalar> value, BindLiteral(*field, lit));
    bool seen = std::any_of(b.values.begin(), b.values.end(),
                            [&](const auto& v) { return v->Equals(*value); });
    if (!seen) b.values.push_back(std::move(value));
  }
  return b;
}

// ---------------------------------------------------------------------------------------------
// Pruning

// NOT (col OP v) is col Negate(OP) v for non-null col (and null when col is null either way).
CompareOp Negate(CompareOp op) {
  switch (op) {
    case CompareOp::kEq: return CompareOp::kNe;
    case CompareOp::kNe: return CompareOp::kEq;
    case CompareOp::kLt: return CompareOp::kGe;
    case CompareOp::kLe: return CompareOp::kGt;
    case CompareOp::kGt: return CompareOp::kLe;
    case CompareOp::kGe: return CompareOp::kLt;
  }
  return op;
}

// Three-way comparison of two valid scalars of compatible types; nullopt when not comparable.
std::optional<int> CompareScalars(const arrow::Scalar& a, const arrow::Scalar& b) {
  auto sign = [](auto x, auto y) { return x < y ? -1 : (y < x ? 1 : 0); };
  auto integer = [](const arrow::Scalar& s) -> std::optional<__int128> {
    switch (s.type->id()) {
      case arrow::Type::INT8: return static_cast<const arrow::Int8Scalar&>(s).value;
      case arrow::Type::INT16: return static_cast<const arrow::Int16Scalar&>(s).value;
      case arrow::Type::INT32: return static_cast<const arrow::Int32Scalar&>(s).value;
      case arrow::Type::INT64: return static_cast<const arrow::Int64Scalar&>(s).value;
      case arrow::Type::UINT8: return static_cast<const arrow::UInt8Scalar&>(s).value;
      case arrow::Type::UINT16: return static_cast<const arrow::UInt16Scalar&>(s).value;
      case arrow::Type::UINT32: return static_cast<const arrow::UInt32Scalar&>(s).value;
      case arrow::Type::UINT64: return static_cast<const arrow::UInt64Scalar&>(s).value;
      default: return std::nullopt;
    }
  };
  auto floating = [&](const arrow::Scalar& s) -> std::optional<double> {
    if (s.type->id() == arrow::Type::FLOAT) return static_cast<const arrow::FloatScalar&>(s).value;
    if (s.type->id() == arrow::Type::DOUBLE) {
      return static_cast<const arrow::DoubleScalar&>(s).value;
    }
    if (auto i = integer(s)) return static_cast<double>(*i);
    return std::nullopt;
  };
  if (auto ia = integer(a), ib = integer(b); ia && ib) return sign(*ia, *ib);
  if (auto fa = floating(a), fb = floating(b); fa && fb) {
    if (std::isnan(*fa) || std::isnan(*fb)) return std::nullopt;
    return sign(*fa, *fb);
  }
  const arrow::Type::type id = a.type->id();
  if (arrow::is_base_binary_like(id) || arrow::is_binary_view_like(id)) {
    if (!(arrow::is_base_binary_like(b.type->id()) || arrow::is_binary_view_like(b.type->id()))) {
      return std::nullopt;
    }
    std::string_view x = static_cast<const arrow::BaseBinaryScalar&>(a).view();
    std::string_view y = static_cast<const arrow::BaseBinaryScalar&>(b).view();
    return sign(x.compare(y), 0);  // byte-wise, as Parquet/Paimon order strings
  }
  if (!a.type->Equals(*b.type)) return std::nullopt;
  switch (id) {
    case arrow::Type::BOOL:
      return sign(static_cast<const arrow::BooleanScalar&>(a).value,
                  static_cast<const arrow::BooleanScalar&>(b).value);
    case arrow::Type::DATE32:
      return sign(static_cast<const arrow::Date32Scalar&>(a).value,
                  static_cast<const arrow::Date32Scalar&>(b).value);
    case arrow::Type::DATE64:
      return sign(static_cast<const arrow::Date64Scalar&>(a).value,
                  static_cast<const arrow::Date64Scalar&>(b).value);
    case arrow::Type::TIMESTAMP:
      return sign(static_cast<const arrow::TimestampScalar&>(a).value,
                  static_cast<const arrow::TimestampScalar&>(b).value);
    case arrow::Type::DECIMAL128:
      return sign(static_cast<const arrow::Decimal128Scalar&>(a).value,
                  static_cast<const arrow::Decimal128Scalar&>(b).value);
    default:
      return std::nullopt;
  }
}

bool Valid(const std::shared_ptr<arrow::Scalar>& s) { return s && s->is_valid; }

// May some non-null value x in [min, max] satisfy `x op v`?
bool CompareMayMatch(CompareOp op, const arrow::Scalar& v, const ColumnStats& stats) {
  // kUnknown compares as neither below, equal to nor above (a plain int: GCC 12 warns about
  // std::optional<int> here).
  constexpr int kUnknown = 2;
  auto compare = [&](const std::shared_ptr<arrow::Scalar>& bound) {
    if (!Valid(bound)) return kUnknown;
    return CompareScalars(v, *bound).value_or(kUnknown);
  };
  const int vs_min = compare(stats.min);
  const int vs_max = compare(stats.max);
  const bool below_min = vs_min == -1, at_min = vs_min == 0;
  const bool above_max = vs_max == 1, at_max = vs_max == 0;
  switch (op) {
    case CompareOp::kEq:
      return !below_min && !above_max;
    case CompareOp::kNe:
      // NaN != v holds but NaN is missing from min/max, so floating columns stay conservative.
      if (arrow::is_floating(v.type->id())) return true;
      return !(at_min && at_max);
    case CompareOp::kLt:  // false when v <= min
      return !(below_min || at_min);
    case CompareOp::kLe:  // false when v < min
      return !below_min;
    case CompareOp::kGt:  // false when v >= max
      return !(above_max || at_max);
    case CompareOp::kGe:  // false when v > max
      return !above_max;
  }
  return true;
}

bool MayMatchNode(const BoundPredicate& p, const StatsView& view, bool negated) {
  using Kind = Predicate::Kind;
  switch (p.kind) {
    case Kind::kAnd:
    case Kind::kOr: {
      // NOT (a AND b) = NOT a OR NOT b; NOT (a OR b) = NOT a AND NOT b.
      bool all = (p.kind == Kind::kAnd) != negated;
      auto may = [&](const BoundPredicate& c) { return MayMatchNode(c, view, negated); };
      return all ? std::all_of(p.children.begin(), p.children.end(), may)
                 : std::any_of(p.children.begin(), p.children.end(), may);
    }
    case Kind::kNot:
      return p.children.empty() || MayMatchNode(p.children[0], view, !negated);
    default:
      break;
  }
  if (!view) return true;
  std::optional<ColumnStats> stats = view(p.column);
  if (!stats) return true;
  if (stats->row_count && *stats->row_count == 0) return false;
  bool all_null = stats->null_count && stats->row_count && *stats->null_count >= *stats->row_count;
  bool is_null_test = (p.kind == Kind::kIsNull) != negated;
  switch (p.kind) {
    case Kind::kIsNull:
    case Kind::kIsNotNull:
      if (is_null_test) return !stats->null_count || *stats->null_count > 0;
      return !all_null;
    case Kind::kCompare:
      if (all_null || p.values.empty() || !Valid(p.values[0])) return false;
      return CompareMayMatch(negated ? Negate(p.op) : p.op, *p.values[0], *stats);
    case Kind::kIn: {
      if (all_null) return false;
      if (!negated) {
        return std::any_of(p.values.begin(), p.values.end(), [&](const auto& v) {
          return Valid(v) && CompareMayMatch(CompareOp::kEq, *v, *stats);
        });
      }
      // NOT IN is never true when the list holds a NULL; otherwise it fails only for a column
      // holding a single listed value.
      bool all_pass = true;
      for (const auto& v : p.values) {
        if (!Valid(v)) return false;
        all_pass = all_pass && CompareMayMatch(CompareOp::kNe, *v, *stats);
      }
      return all_pass;
    }
    default:
      return true;
  }
}

void CollectColumns(const auto& p, std::vector<std::string>& out) {
  if (!p.column.empty() && std::find(out.begin(), out.end(), p.column) == out.end()) {
    out.push_back(p.column);
  }
  for (const auto& child : p.children) CollectColumns(child, out);
}

std::string ScalarToSql(const arrow::Scalar& s) {
  if (!s.is_valid) return "NULL";
  std::string text = s.ToString();
  switch (s.type->id()) {
    case arrow::Type::DATE32:
    case arrow::Type::DATE64:
      return "DATE " + Quote(text, '\'');
    case arrow::Type::TIMESTAMP:
      return "TIMESTAMP " + Quote(text, '\'');
    case arrow::Type::BOOL:
      return static_cast<const arrow::BooleanScalar&>(s).value ? "TRUE" : "FALSE";
    default:
      if (arrow::is_base_binary_like(s.type->id()) || arrow::is_binary_view_like(s.type->id())) {
        return Quote(static_cast<const arrow::BaseBinaryScalar&>(s).view(), '\'');
      }
      return text;
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public API

std::string BoundPredicate::ToString() const {
  return NodeToString(*this, [](const BoundPredicate& p, size_t i) {
    return i < p.values.size() && p.values[i] ? ScalarToSql(*p.values[i]) : std::string("?");
  });
}

ColumnStats ColumnStats::Constant(std::shared_ptr<arrow::Scalar> value) {
  ColumnStats stats;
  stats.row_count = 1;
  if (Valid(value)) {
    stats.min = value;
    stats.max = std::move(value);
    stats.null_count = 0;
  } else {
    stats.null_count = 1;
  }
  return stats;
}

Result<BoundPredicate> BindPredicate(const Predicate& predicate, const arrow::Schema& schema) {
  return Bind(predicate, schema);
}

Result<BoundPredicate> ParseAndBindPredicate(std::string_view text, const arrow::Schema& schema) {
  ARROW_ASSIGN_OR_RAISE(Predicate predicate, ParsePredicate(text));
  return Bind(predicate, schema);
}

Result<arrow::compute::Expression> ToArrowExpression(const BoundPredicate& p) {
  namespace cp = arrow::compute;
  using Kind = Predicate::Kind;
  switch (p.kind) {
    case Kind::kAnd:
    case Kind::kOr: {
      std::vector<cp::Expression> children;
      for (const BoundPredicate& child : p.children) {
        ARROW_ASSIGN_OR_RAISE(cp::Expression e, ToArrowExpression(child));
        children.push_back(std::move(e));
      }
      if (children.empty()) return Status::Invalid("--where: empty ", p.ToString());
      return p.kind == Kind::kAnd ? cp::and_(children) : cp::or_(children);
    }
    case Kind::kNot: {
      if (p.children.size() != 1) return Status::Invalid("--where: NOT needs one operand");
      ARROW_ASSIGN_OR_RAISE(cp::Expression e, ToArrowExpression(p.children[0]));
      return cp::not_(std::move(e));
    }
    case Kind::kIsNull:
      return cp::call("is_null", {cp::field_ref(p.column)});
    case Kind::kIsNotNull:
      return cp::call("is_valid", {cp::field_ref(p.column)});
    case Kind::kCompare: {
      if (p.values.size() != 1 || !p.values[0]) {
        return Status::Invalid("--where: comparison on ", p.column, " has no value");
      }
      static constexpr const char* kFunctions[] = {"equal",   "not_equal",  "less",
                                                   "less_equal", "greater", "greater_equal"};
      return cp::call(kFunctions[static_cast<int>(p.op)],
                      {cp::field_ref(p.column), cp::literal(p.values[0])});
    }
    case Kind::kIn: {
      if (p.values.empty() || !p.type) {
        return Status::Invalid("--where: IN on ", p.column, " has no values");
      }
      ARROW_ASSIGN_OR_RAISE(std::unique_ptr<arrow::ArrayBuilder> builder,
                            arrow::MakeBuilder(p.type));
      ARROW_RETURN_NOT_OK(builder->AppendScalars(p.values));
      ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Array> value_set, builder->Finish());
      // INCONCLUSIVE is SQL's IN: null input gives null, and so does a miss when the list has NULL.
      return cp::call("is_in", {cp::field_ref(p.column)},
                      cp::SetLookupOptions(value_set, cp::SetLookupOptions::INCONCLUSIVE));
    }
  }
  return Status::Invalid("--where: unknown predicate kind");
}

Result<std::shared_ptr<arrow::Array>> EvaluateMask(const BoundPredicate& predicate,
                                                   const arrow::RecordBatch& batch) {
  namespace cp = arrow::compute;
  ARROW_ASSIGN_OR_RAISE(cp::Expression expr, ToArrowExpression(predicate));
  ARROW_ASSIGN_OR_RAISE(expr, expr.Bind(*batch.schema()));
  ARROW_ASSIGN_OR_RAISE(arrow::Datum result,
                        cp::ExecuteScalarExpression(expr, cp::ExecBatch(batch)));
  ARROW_ASSIGN_OR_RAISE(result, cp::CallFunction("coalesce", {result, arrow::Datum(false)}));
  if (result.is_scalar()) {
    return arrow::MakeArrayFromScalar(*result.scalar(), batch.num_rows());
  }
  return result.make_array();
}

Result<std::shared_ptr<arrow::RecordBatch>> Filter(
    const BoundPredicate& predicate, const std::shared_ptr<arrow::RecordBatch>& batch) {
  ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Array> mask, EvaluateMask(predicate, *batch));
  ARROW_ASSIGN_OR_RAISE(arrow::Datum filtered, arrow::compute::Filter(batch, mask));
  return filtered.record_batch();
}

bool MayMatch(const BoundPredicate& predicate, const StatsView& stats) {
  return MayMatchNode(predicate, stats, /*negated=*/false);
}

std::vector<std::string> ReferencedColumns(const Predicate& predicate) {
  std::vector<std::string> out;
  CollectColumns(predicate, out);
  return out;
}

std::vector<std::string> ReferencedColumns(const BoundPredicate& predicate) {
  std::vector<std::string> out;
  CollectColumns(predicate, out);
  return out;
}

namespace internal {
std::optional<int> CompareScalars(const arrow::Scalar& a, const arrow::Scalar& b) {
  return ::millpond::table::CompareScalars(a, b);
}
}  // namespace internal

}  // namespace millpond::table
