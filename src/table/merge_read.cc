// Merge-on-read of primary-key rows: the sort-merge by key and sequence, and the merge engines.
// Reading a bucket's files is in bucket_read.cc.
#include "millpond/table/merge_read.h"

#include <algorithm>
#include <numeric>
#include <optional>

#include <arrow/api.h>
#include <arrow/compute/api.h>

#include "millpond/table/changelog.h"  // NeedsLookup

namespace millpond::table {
namespace {

constexpr const char* kSequenceNumber = "_SEQUENCE_NUMBER";
constexpr const char* kValueKind = "_VALUE_KIND";

bool IsRetract(RowKind k) { return k == RowKind::kUpdateBefore || k == RowKind::kDelete; }

// --- value comparison ------------------------------------------------------------------------

template <typename T>
int Cmp(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

// Compares a[i] with b[j] (same type); nulls first. Nested types compare equal.
int CompareValues(const arrow::Array& a, int64_t i, const arrow::Array& b, int64_t j) {
  bool an = a.IsNull(i), bn = b.IsNull(j);
  if (an || bn) return an == bn ? 0 : (an ? -1 : 1);
  switch (a.type_id()) {
#define MP_PRIM(ID, ARR) \
  case arrow::Type::ID:  \
    return Cmp(static_cast<const arrow::ARR&>(a).Value(i), static_cast<const arrow::ARR&>(b).Value(j));
    MP_PRIM(BOOL, BooleanArray)
    MP_PRIM(INT8, Int8Array)
    MP_PRIM(INT16, Int16Array)
    MP_PRIM(INT32, Int32Array)
    MP_PRIM(INT64, Int64Array)
    MP_PRIM(UINT8, UInt8Array)
    MP_PRIM(UINT16, UInt16Array)
    MP_PRIM(UINT32, UInt32Array)
    MP_PRIM(UINT64, UInt64Array)
    MP_PRIM(FLOAT, FloatArray)
    MP_PRIM(DOUBLE, DoubleArray)
    MP_PRIM(DATE32, Date32Array)
    MP_PRIM(DATE64, Date64Array)
    MP_PRIM(TIME32, Time32Array)
    MP_PRIM(TIME64, Time64Array)
    MP_PRIM(TIMESTAMP, TimestampArray)
#undef MP_PRIM
    case arrow::Type::STRING:
    case arrow::Type::BINARY: {
      // Byte-wise unsigned, as BinaryString.compareTo.
      auto x = static_cast<const arrow::BinaryArray&>(a).GetView(i);
      auto y = static_cast<const arrow::BinaryArray&>(b).GetView(j);
      int c = x.compare(y);
      return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    case arrow::Type::LARGE_STRING:
    case arrow::Type::LARGE_BINARY: {
      auto x = static_cast<const arrow::LargeBinaryArray&>(a).GetView(i);
      auto y = static_cast<const arrow::LargeBinaryArray&>(b).GetView(j);
      int c = x.compare(y);
      return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    case arrow::Type::FIXED_SIZE_BINARY: {
      auto x = static_cast<const arrow::FixedSizeBinaryArray&>(a).GetView(i);
      auto y = static_cast<const arrow::FixedSizeBinaryArray&>(b).GetView(j);
      int c = x.compare(y);
      return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    case arrow::Type::DECIMAL128: {
      arrow::Decimal128 x(static_cast<const arrow::Decimal128Array&>(a).GetValue(i));
      arrow::Decimal128 y(static_cast<const arrow::Decimal128Array&>(b).GetValue(j));
      return Cmp(x, y);
    }
    default:
      return 0;
  }
}

}  // namespace

int CompareKeyValueCells(const arrow::Array& a, int64_t i, const arrow::Array& b, int64_t j) {
  return CompareValues(a, i, b, j);
}

namespace {

// --- options -----------------------------------------------------------------------------------

enum class Engine { kDeduplicate, kPartialUpdate, kAggregation, kFirstRow };

enum class AggFn {
  kPrimaryKey, kSum, kProduct, kMin, kMax, kCount, kLastValue, kLastNonNullValue, kFirstValue,
  kFirstNonNullValue, kListAgg, kBoolAnd, kBoolOr
};

struct MergeOptions {
  Engine engine = Engine::kDeduplicate;
  bool ignore_delete = false;
  bool remove_record_on_delete = false;
  std::vector<int> key_fields;
  std::vector<int> sequence_fields;
  // Partial update: the sequence group (index into groups) of each field, or -1.
  std::vector<int> field_group;
  std::vector<std::vector<int>> groups;  // sequence fields of each group
  // Aggregation.
  std::vector<AggFn> agg;
  std::vector<std::string> delimiter;
  std::vector<bool> ignore_retract;
};

Result<AggFn> ParseAggFn(const std::string& name, const std::string& field) {
  static const std::map<std::string, AggFn> kNames = {
      {"sum", AggFn::kSum},
      {"product", AggFn::kProduct},
      {"min", AggFn::kMin},
      {"max", AggFn::kMax},
      {"count", AggFn::kCount},
      {"last_value", AggFn::kLastValue},
      {"last_non_null_value", AggFn::kLastNonNullValue},
      {"first_value", AggFn::kFirstValue},
      {"first_non_null_value", AggFn::kFirstNonNullValue},
      {"listagg", AggFn::kListAgg},
      {"bool_and", AggFn::kBoolAnd},
      {"bool_or", AggFn::kBoolOr}};
  auto it = kNames.find(name);
  if (it == kNames.end()) {
    return Status::NotImplemented("aggregate function '", name, "' of field '", field,
                                  "' is not supported");
  }
  return it->second;
}

Result<int> FieldIndexOrError(const paimon::TableSchema& schema, const std::string& name,
                              const char* option) {
  int i = schema.FieldIndex(name);
  if (i < 0) return Status::Invalid(option, ": unknown field '", name, "'");
  return i;
}

Result<MergeOptions> ParseMergeOptions(const paimon::TableSchema& schema) {
  MergeOptions o;
  std::string engine = schema.Option("merge-engine", "deduplicate");
  if (engine == "deduplicate") {
    o.engine = Engine::kDeduplicate;
  } else if (engine == "partial-update") {
    o.engine = Engine::kPartialUpdate;
  } else if (engine == "aggregation") {
    o.engine = Engine::kAggregation;
  } else if (engine == "first-row") {
    o.engine = Engine::kFirstRow;
  } else {
    return Status::Invalid("unknown merge-engine '", engine, "'");
  }
  auto flag = [&](const std::string& key) { return schema.Option(key, "false") == "true"; };
  o.ignore_delete = flag("ignore-delete") || flag(engine + ".ignore-delete");
  o.remove_record_on_delete = (o.engine == Engine::kPartialUpdate &&
                               flag("partial-update.remove-record-on-delete")) ||
                              (o.engine == Engine::kAggregation &&
                               flag("aggregation.remove-record-on-delete"));
  if (schema.primary_keys.empty()) return Status::Invalid("table has no primary key");
  for (const auto& k : schema.primary_keys) {
    ARROW_ASSIGN_OR_RAISE(int i, FieldIndexOrError(schema, k, "primary key"));
    o.key_fields.push_back(i);
  }
  for (const auto& f : paimon::SplitNames(schema.Option("sequence.field", ""))) {
    ARROW_ASSIGN_OR_RAISE(int i, FieldIndexOrError(schema, f, "sequence.field"));
    o.sequence_fields.push_back(i);
  }
  const size_t n = schema.fields.size();
  o.field_group.assign(n, -1);
  if (o.engine == Engine::kPartialUpdate) {
    const std::string prefix = "fields.", suffix = ".sequence-group";
    for (const auto& [key, value] : schema.options) {
      if (key.size() <= prefix.size() + suffix.size() || key.rfind(prefix, 0) != 0 ||
          key.compare(key.size() - suffix.size(), suffix.size(), suffix) != 0) {
        continue;
      }
      std::string seq_names = key.substr(prefix.size(), key.size() - prefix.size() - suffix.size());
      std::vector<int> seq;
      for (const auto& s : paimon::SplitNames(seq_names)) {
        ARROW_ASSIGN_OR_RAISE(int i, FieldIndexOrError(schema, s, key.c_str()));
        seq.push_back(i);
      }
      int g = static_cast<int>(o.groups.size());
      o.groups.push_back(seq);
      for (int i : seq) o.field_group[i] = g;
      for (const auto& f : paimon::SplitNames(value)) {
        ARROW_ASSIGN_OR_RAISE(int i, FieldIndexOrError(schema, f, key.c_str()));
        o.field_group[i] = g;
      }
    }
  }
  if (o.engine == Engine::kAggregation) {
    std::string dflt = schema.Option("fields.default-aggregate-function", "last_non_null_value");
    for (size_t i = 0; i < n; ++i) {
      const auto& name = schema.fields[i].name;
      bool is_key = std::find(o.key_fields.begin(), o.key_fields.end(), static_cast<int>(i)) !=
                    o.key_fields.end();
      if (is_key) {
        o.agg.push_back(AggFn::kPrimaryKey);
      } else {
        ARROW_ASSIGN_OR_RAISE(
            auto fn, ParseAggFn(schema.Option("fields." + name + ".aggregate-function", dflt), name));
        o.agg.push_back(fn);
      }
      o.delimiter.push_back(schema.Option("fields." + name + ".list-agg-delimiter", ","));
      o.ignore_retract.push_back(schema.Option("fields." + name + ".ignore-retract", "false") ==
                                 "true");
    }
  }
  return o;
}

// --- aggregation over scalars ----------------------------------------------------------------

bool IsInteger(arrow::Type::type t) {
  return t == arrow::Type::INT8 || t == arrow::Type::INT16 || t == arrow::Type::INT32 ||
         t == arrow::Type::INT64;
}

int64_t IntOf(const arrow::Scalar& s) {
  switch (s.type->id()) {
    case arrow::Type::INT8: return static_cast<const arrow::Int8Scalar&>(s).value;
    case arrow::Type::INT16: return static_cast<const arrow::Int16Scalar&>(s).value;
    case arrow::Type::INT32: return static_cast<const arrow::Int32Scalar&>(s).value;
    default: return static_cast<const arrow::Int64Scalar&>(s).value;
  }
}

Result<std::shared_ptr<arrow::Scalar>> MakeInt(const std::shared_ptr<arrow::DataType>& type,
                                               int64_t v) {
  switch (type->id()) {
    case arrow::Type::INT8: return arrow::MakeScalar(type, static_cast<int8_t>(v));
    case arrow::Type::INT16: return arrow::MakeScalar(type, static_cast<int16_t>(v));
    case arrow::Type::INT32: return arrow::MakeScalar(type, static_cast<int32_t>(v));
    default: return arrow::MakeScalar(type, v);
  }
}

// acc (+|-|*) in for numeric scalars; null acc means "no value yet".
Result<std::shared_ptr<arrow::Scalar>> Arith(std::shared_ptr<arrow::Scalar> acc,
                                             const std::shared_ptr<arrow::Scalar>& in, char op,
                                             const std::string& field) {
  if (!in || !in->is_valid) return acc;
  auto type = in->type;
  if (!acc || !acc->is_valid) {
    if (op != '-') return in;
    acc = nullptr;
  }
  auto t = type->id();
  if (IsInteger(t)) {
    int64_t a = acc ? IntOf(*acc) : 0, b = IntOf(*in);
    return MakeInt(type, op == '+' ? a + b : (op == '-' ? a - b : a * b));
  }
  if (t == arrow::Type::FLOAT || t == arrow::Type::DOUBLE) {
    auto d = [](const arrow::Scalar& s) {
      return s.type->id() == arrow::Type::FLOAT
                 ? static_cast<double>(static_cast<const arrow::FloatScalar&>(s).value)
                 : static_cast<const arrow::DoubleScalar&>(s).value;
    };
    double a = acc ? d(*acc) : 0, b = d(*in);
    double r = op == '+' ? a + b : (op == '-' ? a - b : a * b);
    if (t == arrow::Type::FLOAT) return arrow::MakeScalar(type, static_cast<float>(r));
    return arrow::MakeScalar(type, r);
  }
  if (t == arrow::Type::DECIMAL128) {
    arrow::Decimal128 a = acc ? static_cast<const arrow::Decimal128Scalar&>(*acc).value
                              : arrow::Decimal128(0);
    arrow::Decimal128 b = static_cast<const arrow::Decimal128Scalar&>(*in).value;
    if (op == '*') return Status::NotImplemented("product of DECIMAL field '", field, "'");
    return std::make_shared<arrow::Decimal128Scalar>(op == '+' ? a + b : a - b, type);
  }
  return Status::NotImplemented("sum/product of field '", field, "' of type ", type->ToString());
}

// One aggregation step of field `fn` (org.apache.paimon.mergetree.compact.aggregate.Field*Agg).
Result<std::shared_ptr<arrow::Scalar>> Aggregate(AggFn fn, std::shared_ptr<arrow::Scalar> acc,
                                                 const std::shared_ptr<arrow::Scalar>& in,
                                                 bool retract, const std::string& delimiter,
                                                 const std::string& field) {
  auto valid = [](const std::shared_ptr<arrow::Scalar>& s) { return s && s->is_valid; };
  if (retract) {
    switch (fn) {
      case AggFn::kPrimaryKey: return in;
      case AggFn::kSum: return Arith(acc, in, '-', field);
      case AggFn::kCount:
        if (!valid(in)) return acc;
        return MakeInt(in->type, (valid(acc) ? IntOf(*acc) : 0) - 1);
      case AggFn::kLastValue: return std::shared_ptr<arrow::Scalar>();
      case AggFn::kLastNonNullValue:
        return valid(in) ? std::shared_ptr<arrow::Scalar>() : acc;
      default:
        return Status::NotImplemented("aggregate function of field '", field,
                                      "' cannot retract (set fields.", field,
                                      ".ignore-retract or ignore-delete)");
    }
  }
  switch (fn) {
    case AggFn::kPrimaryKey:
    case AggFn::kLastValue: return in;
    case AggFn::kLastNonNullValue: return valid(in) ? in : acc;
    case AggFn::kFirstValue: return acc;  // the first row initializes (see caller)
    case AggFn::kFirstNonNullValue: return valid(acc) ? acc : in;
    case AggFn::kSum: return Arith(acc, in, '+', field);
    case AggFn::kProduct: return Arith(acc, in, '*', field);
    case AggFn::kCount:
      if (!valid(acc)) return MakeInt(in->type, valid(in) ? 1 : 0);
      if (!valid(in)) return acc;
      return MakeInt(in->type, IntOf(*acc) + 1);
    case AggFn::kMin:
    case AggFn::kMax: {
      if (!valid(in)) return acc;
      if (!valid(acc)) return in;
      ARROW_ASSIGN_OR_RAISE(auto a, arrow::MakeArrayFromScalar(*acc, 1));
      ARROW_ASSIGN_OR_RAISE(auto b, arrow::MakeArrayFromScalar(*in, 1));
      int c = CompareValues(*a, 0, *b, 0);
      return (fn == AggFn::kMin ? c <= 0 : c >= 0) ? acc : in;
    }
    case AggFn::kListAgg: {
      if (!valid(in)) return acc;
      if (!valid(acc)) return in;
      auto a = static_cast<const arrow::StringScalar&>(*acc).view();
      auto b = static_cast<const arrow::StringScalar&>(*in).view();
      return std::static_pointer_cast<arrow::Scalar>(std::make_shared<arrow::StringScalar>(
          std::string(a) + delimiter + std::string(b)));
    }
    case AggFn::kBoolAnd:
    case AggFn::kBoolOr: {
      if (!valid(in)) return acc;
      if (!valid(acc)) return in;
      bool a = static_cast<const arrow::BooleanScalar&>(*acc).value;
      bool b = static_cast<const arrow::BooleanScalar&>(*in).value;
      return std::static_pointer_cast<arrow::Scalar>(
          std::make_shared<arrow::BooleanScalar>(fn == AggFn::kBoolAnd ? a && b : a || b));
    }
  }
  return acc;
}

// --- the merge ---------------------------------------------------------------------------------

class Merger {
 public:
  Merger(const paimon::TableSchema& schema, const MergeOptions& o, const arrow::Table& t,
         const std::vector<int64_t>& seq, const std::vector<RowKind>& kinds)
      : schema_(schema), o_(o), seq_(seq), kinds_(kinds) {
    for (int c = 0; c < t.num_columns(); ++c) cols_.push_back(t.column(c)->chunk(0));
    take_.assign(cols_.size(), {});
    scalars_.assign(cols_.size(), {});
  }

  int CompareKeys(int64_t a, int64_t b) const {
    for (int k : o_.key_fields) {
      int c = CompareValues(*cols_[k], a, *cols_[k], b);
      if (c != 0) return c;
    }
    return 0;
  }
  int CompareSequence(int64_t a, int64_t b) const {
    for (int k : o_.sequence_fields) {
      int c = CompareValues(*cols_[k], a, *cols_[k], b);
      if (c != 0) return c;
    }
    return Cmp(seq_[a], seq_[b]);
  }

  // Reduces the rows of one key (in merge order) to at most one output row.
  Status Reduce(const std::vector<int64_t>& rows) {
    if (rows.size() == 1) {
      // ReducerMergeFunctionWrapper: a single record is passed through unmerged.
      if (!IsRetract(kinds_[rows[0]])) EmitRow(rows[0]);
      return Status::OK();
    }
    switch (o_.engine) {
      case Engine::kDeduplicate: {
        std::optional<int64_t> last;
        for (int64_t r : rows) {
          if (o_.ignore_delete && IsRetract(kinds_[r])) continue;
          last = r;
        }
        if (last && !IsRetract(kinds_[*last])) EmitRow(*last);
        return Status::OK();
      }
      case Engine::kFirstRow: {
        std::optional<int64_t> first;
        for (int64_t r : rows) {
          if (IsRetract(kinds_[r])) {
            if (o_.ignore_delete) continue;
            return Status::Invalid(
                "first-row merge engine met a DELETE/UPDATE_BEFORE record; set ignore-delete");
          }
          if (!first) first = r;
        }
        if (first) EmitRow(*first);
        return Status::OK();
      }
      case Engine::kPartialUpdate: return PartialUpdate(rows);
      case Engine::kAggregation: return Aggregation(rows);
    }
    return Status::OK();
  }

  // Output rows so far (compaction tracks which keys produced one).
  size_t OutputRows() const {
    if (cols_.empty()) return 0;
    return o_.engine == Engine::kAggregation ? scalars_[0].size() : take_[0].size();
  }
  // Emits input row r unmerged (compaction keeps a key's newest retraction).
  void EmitRaw(int64_t r) { EmitRow(r); }

  Result<std::shared_ptr<arrow::Table>> Finish(const std::shared_ptr<arrow::Schema>& schema,
                                                arrow::MemoryPool* pool) {
    arrow::ArrayVector out;
    arrow::compute::ExecContext ctx(pool);
    for (size_t c = 0; c < cols_.size(); ++c) {
      if (o_.engine == Engine::kAggregation) {
        ARROW_ASSIGN_OR_RAISE(auto builder, arrow::MakeBuilder(cols_[c]->type(), pool));
        for (const auto& s : scalars_[c]) {
          if (s && s->is_valid) {
            ARROW_RETURN_NOT_OK(builder->AppendScalar(*s));
          } else {
            ARROW_RETURN_NOT_OK(builder->AppendNull());
          }
        }
        ARROW_ASSIGN_OR_RAISE(auto a, builder->Finish());
        out.push_back(a);
        continue;
      }
      arrow::Int64Builder idx(pool);
      for (int64_t r : take_[c]) {
        ARROW_RETURN_NOT_OK(r < 0 ? idx.AppendNull() : idx.Append(r));
      }
      ARROW_ASSIGN_OR_RAISE(auto indices, idx.Finish());
      ARROW_ASSIGN_OR_RAISE(auto taken,
                            arrow::compute::Take(cols_[c], indices,
                                                 arrow::compute::TakeOptions::Defaults(), &ctx));
      out.push_back(taken.make_array());
    }
    int64_t n = out.empty() ? 0 : out[0]->length();
    return arrow::Table::Make(schema, out, n);
  }

 private:
  void EmitRow(int64_t r) {
    for (size_t c = 0; c < cols_.size(); ++c) {
      if (o_.engine == Engine::kAggregation) {
        auto s = cols_[c]->GetScalar(r);
        scalars_[c].push_back(s.ok() ? *s : nullptr);
      } else {
        take_[c].push_back(r);
      }
    }
  }

  // PartialUpdateMergeFunction: non-null fields overwrite; sequence groups replace their fields
  // from the row with the greatest group sequence.
  Status PartialUpdate(const std::vector<int64_t>& rows) {
    const size_t n = cols_.size();
    std::vector<int64_t> pick(n, -1);
    std::vector<int64_t> group_best(o_.groups.size(), -1);
    bool any = false;
    RowKind last_kind = RowKind::kInsert;
    for (int64_t r : rows) {
      if (IsRetract(kinds_[r])) {
        if (o_.ignore_delete) continue;
        if (o_.remove_record_on_delete && kinds_[r] == RowKind::kDelete) {
          std::fill(pick.begin(), pick.end(), -1);
          std::fill(group_best.begin(), group_best.end(), -1);
          any = false;
          continue;
        }
        if (!o_.groups.empty()) {
          // Retracting a sequence group nulls its fields when the retract is newer.
          for (size_t g = 0; g < o_.groups.size(); ++g) {
            if (GroupNewer(g, r, group_best[g])) {
              group_best[g] = r;
              for (size_t c = 0; c < n; ++c) {
                if (o_.field_group[c] == static_cast<int>(g)) pick[c] = -1;
              }
            }
          }
          continue;
        }
        return Status::Invalid(
            "partial-update merge engine met a DELETE/UPDATE_BEFORE record; set ignore-delete or "
            "partial-update.remove-record-on-delete");
      }
      any = true;
      last_kind = kinds_[r];
      for (size_t g = 0; g < o_.groups.size(); ++g) {
        if (GroupNewer(g, r, group_best[g])) {
          group_best[g] = r;
          for (size_t c = 0; c < n; ++c) {
            if (o_.field_group[c] == static_cast<int>(g)) pick[c] = r;
          }
        }
      }
      for (size_t c = 0; c < n; ++c) {
        if (o_.field_group[c] < 0 && !cols_[c]->IsNull(r)) pick[c] = r;
      }
    }
    (void)last_kind;
    if (!any) return Status::OK();
    for (int k : o_.key_fields) pick[k] = rows.back();
    for (size_t c = 0; c < n; ++c) take_[c].push_back(pick[c]);
    return Status::OK();
  }

  // Whether row r's group sequence is non-null and >= that of `best` (-1: none yet).
  bool GroupNewer(size_t g, int64_t r, int64_t best) const {
    bool all_null = true;
    for (int s : o_.groups[g]) all_null = all_null && cols_[s]->IsNull(r);
    if (all_null) return false;
    if (best < 0) return true;
    for (int s : o_.groups[g]) {
      int c = CompareValues(*cols_[s], r, *cols_[s], best);
      if (c != 0) return c > 0;
    }
    return true;
  }

  // AggregateMergeFunction.
  Status Aggregation(const std::vector<int64_t>& rows) {
    const size_t n = cols_.size();
    std::vector<std::shared_ptr<arrow::Scalar>> acc(n);
    bool any = false;
    for (int64_t r : rows) {
      bool retract = IsRetract(kinds_[r]);
      if (retract && o_.ignore_delete) continue;
      if (retract && o_.remove_record_on_delete && kinds_[r] == RowKind::kDelete) {
        std::fill(acc.begin(), acc.end(), nullptr);
        any = false;
        continue;
      }
      bool first = !any;
      any = true;
      for (size_t c = 0; c < n; ++c) {
        if (retract && o_.ignore_retract[c]) continue;
        ARROW_ASSIGN_OR_RAISE(auto in, cols_[c]->GetScalar(r));
        if (first && o_.agg[c] == AggFn::kFirstValue && !retract) {
          acc[c] = in;
          continue;
        }
        ARROW_ASSIGN_OR_RAISE(acc[c], Aggregate(o_.agg[c], acc[c], in, retract, o_.delimiter[c],
                                                schema_.fields[c].name));
      }
    }
    if (!any) return Status::OK();
    for (size_t c = 0; c < n; ++c) scalars_[c].push_back(acc[c]);
    return Status::OK();
  }

  const paimon::TableSchema& schema_;
  const MergeOptions& o_;
  const std::vector<int64_t>& seq_;
  const std::vector<RowKind>& kinds_;
  arrow::ArrayVector cols_;
  std::vector<std::vector<int64_t>> take_;  // per column: source row per output row, -1 = null
  std::vector<std::vector<std::shared_ptr<arrow::Scalar>>> scalars_;  // aggregation output
};

// LookupMergeFunction: of a key's records above level 0 only the one at the lowest level counts
// (it already holds the merged state of everything below it); level-0 records all count.
void KeepLowestHighLevel(std::vector<int64_t>* group, const std::vector<int32_t>& levels) {
  int64_t best = -1;
  for (int64_t r : *group) {
    if (levels[r] > 0 && (best < 0 || levels[r] < levels[best])) best = r;
  }
  if (best < 0) return;
  group->erase(std::remove_if(group->begin(), group->end(),
                              [&](int64_t r) { return levels[r] > 0 && r != best; }),
               group->end());
}

bool WrapsLookupMerge(const paimon::TableSchema& schema, const MergeOptions& o) {
  return o.engine != Engine::kFirstRow && NeedsLookup(schema);
}

}  // namespace

std::shared_ptr<arrow::Schema> KeyValueOutputSchema(const paimon::TableSchema& schema) {
  auto full = paimon::ToArrowSchema(schema.fields);
  arrow::FieldVector fields;
  for (const auto& f : full->fields()) fields.push_back(f->WithNullable(true));
  return arrow::schema(fields);
}

namespace {

// The rows of several runs side by side: one table, and per row its sequence number, kind and
// the level of the file it came from.
struct Gathered {
  std::shared_ptr<arrow::Table> all;
  std::vector<int64_t> seq;
  std::vector<RowKind> kinds;
  std::vector<int32_t> levels;
};

Result<Gathered> Gather(const std::vector<KeyValueRows>& runs,
                        const std::shared_ptr<arrow::Schema>& out_schema,
                        arrow::MemoryPool* pool = arrow::default_memory_pool()) {
  Gathered g;
  std::vector<std::shared_ptr<arrow::Table>> tables;
  for (const auto& r : runs) {
    if (!r.values) continue;
    if (static_cast<size_t>(r.values->num_rows()) != r.sequence_numbers.size() ||
        r.sequence_numbers.size() != r.kinds.size()) {
      return Status::Invalid("key-value rows: values, sequence numbers and kinds differ in length");
    }
    if (r.values->num_columns() != out_schema->num_fields()) {
      return Status::Invalid("key-value rows have ", r.values->num_columns(),
                             " columns; the schema has ", out_schema->num_fields());
    }
    ARROW_ASSIGN_OR_RAISE(auto t, r.values->RenameColumns(out_schema->field_names()));
    tables.push_back(arrow::Table::Make(out_schema, t->columns(), t->num_rows()));
    g.seq.insert(g.seq.end(), r.sequence_numbers.begin(), r.sequence_numbers.end());
    g.kinds.insert(g.kinds.end(), r.kinds.begin(), r.kinds.end());
    g.levels.insert(g.levels.end(), r.sequence_numbers.size(), r.level);
  }
  if (tables.empty() || g.seq.empty()) return g;
  ARROW_ASSIGN_OR_RAISE(g.all, arrow::ConcatenateTables(
                                   tables, arrow::ConcatenateTablesOptions::Defaults(), pool));
  ARROW_ASSIGN_OR_RAISE(g.all, g.all->CombineChunks(pool));
  return g;
}

// Calls `reduce` with the rows of each key, in key order, each key's rows in merge order (by
// sequence); tables that need lookup keep only the lowest record above level 0 and level 0.
template <typename Reduce>
Status ForEachKey(const Merger& merger, const Gathered& g, bool lookup_merge, Reduce&& reduce) {
  std::vector<int64_t> order(g.seq.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    int c = merger.CompareKeys(a, b);
    if (c != 0) return c < 0;
    return merger.CompareSequence(a, b) < 0;
  });
  std::vector<int64_t> group;
  auto flush = [&]() -> Status {
    if (lookup_merge) KeepLowestHighLevel(&group, g.levels);
    ARROW_RETURN_NOT_OK(reduce(group));
    group.clear();
    return Status::OK();
  };
  for (int64_t r : order) {
    if (!group.empty() && merger.CompareKeys(group.back(), r) != 0) ARROW_RETURN_NOT_OK(flush());
    group.push_back(r);
  }
  if (!group.empty()) ARROW_RETURN_NOT_OK(flush());
  return Status::OK();
}

}  // namespace

Result<std::shared_ptr<arrow::Table>> MergeKeyValues(const paimon::TableSchema& schema,
                                                     const std::vector<KeyValueRows>& runs) {
  ARROW_ASSIGN_OR_RAISE(MergeOptions o, ParseMergeOptions(schema));
  auto out_schema = KeyValueOutputSchema(schema);
  ARROW_ASSIGN_OR_RAISE(Gathered g, Gather(runs, out_schema));
  if (!g.all) return arrow::Table::MakeEmpty(out_schema);
  Merger merger(schema, o, *g.all, g.seq, g.kinds);
  ARROW_RETURN_NOT_OK(ForEachKey(merger, g, WrapsLookupMerge(schema, o),
                                 [&](const std::vector<int64_t>& group) {
                                   return merger.Reduce(group);
                                 }));
  return merger.Finish(out_schema, arrow::default_memory_pool());
}

Result<KeyValueRows> MergeKeyValuesForCompaction(const paimon::TableSchema& schema,
                                                 const std::vector<KeyValueRows>& runs,
                                                 bool drop_delete) {
  return MergeKeyValuesForCompaction(schema, runs, drop_delete, arrow::default_memory_pool());
}

Result<KeyValueRows> MergeKeyValuesForCompaction(const paimon::TableSchema& schema,
                                                 const std::vector<KeyValueRows>& runs,
                                                 bool drop_delete, arrow::MemoryPool* pool) {
  ARROW_ASSIGN_OR_RAISE(MergeOptions o, ParseMergeOptions(schema));
  auto out_schema = KeyValueOutputSchema(schema);
  ARROW_ASSIGN_OR_RAISE(Gathered g, Gather(runs, out_schema, pool));
  KeyValueRows out;
  if (!g.all) {
    ARROW_ASSIGN_OR_RAISE(out.values, arrow::Table::MakeEmpty(out_schema, pool));
    return out;
  }
  Merger merger(schema, o, *g.all, g.seq, g.kinds);
  auto reduce = [&](const std::vector<int64_t>& group) -> Status {
    const size_t before = merger.OutputRows();
    ARROW_RETURN_NOT_OK(merger.Reduce(group));
    int64_t max_seq = g.seq[group[0]];
    for (int64_t r : group) max_seq = std::max(max_seq, g.seq[r]);
    if (merger.OutputRows() > before) {
      out.sequence_numbers.push_back(max_seq);
      out.kinds.push_back(RowKind::kInsert);
    } else if (!drop_delete) {
      merger.EmitRaw(group.back());
      out.sequence_numbers.push_back(max_seq);
      RowKind last = g.kinds[group.back()];
      out.kinds.push_back(IsRetract(last) ? last : RowKind::kDelete);
    }
    return Status::OK();
  };
  ARROW_RETURN_NOT_OK(ForEachKey(merger, g, WrapsLookupMerge(schema, o), reduce));
  ARROW_ASSIGN_OR_RAISE(out.values, merger.Finish(out_schema, pool));
  return out;
}

Status ValidateMergeOptions(const paimon::TableSchema& schema) {
  ARROW_RETURN_NOT_OK(ValidateChangelogOptions(schema));
  if (schema.primary_keys.empty()) return Status::OK();
  if (schema.Option("merge-engine", "deduplicate") == "first-row" &&
      schema.Option("deletion-vectors.enabled", "false") == "true") {
    // Paimon refuses to open such a table (CoreOptions validation), so millpond never makes one.
    return Status::Invalid("merge-engine first-row does not take deletion-vectors.enabled=true: "
                           "first-row never deletes old data (as Paimon rules)");
  }
  for (const auto& [key, value] : schema.options) {
    // Every per-field aggregate function is checked, also for fields that do not exist.
    if (key.rfind("fields.", 0) == 0 && key.ends_with(".aggregate-function")) {
      std::string field = key.substr(7, key.size() - 7 - std::string(".aggregate-function").size());
      if (field != "default" && schema.FieldIndex(field) < 0) {
        return Status::Invalid("option ", key, ": no column '", field, "'");
      }
      ARROW_RETURN_NOT_OK(ParseAggFn(value, field).status());
    }
  }
  ARROW_RETURN_NOT_OK(
      ParseAggFn(schema.Option("fields.default-aggregate-function", "last_non_null_value"),
                 "(default)")
          .status());
  return ParseMergeOptions(schema).status();
}

}  // namespace millpond::table
