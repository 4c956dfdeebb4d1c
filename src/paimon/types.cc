// Paimon types <-> schema JSON, SQL spelling and Arrow. Mirrors org.apache.paimon.types.
#include "millpond/paimon/types.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include <arrow/type.h>
#include <nlohmann/json.hpp>

namespace millpond::paimon {
namespace {

std::string Upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

// A small recursive-descent parser over the SQL spelling of a type.
class TypeParser {
 public:
  explicit TypeParser(const std::string& text) : text_(text) {}

  Result<DataTypePtr> ParseAll() {
    ARROW_ASSIGN_OR_RAISE(auto t, ParseType());
    SkipSpace();
    if (pos_ != text_.size()) return Error("unexpected trailing text");
    return t;
  }

 private:
  Status Error(const std::string& what) const {
    return Status::Invalid("type '", text_, "': ", what, " at position ", pos_);
  }
  void SkipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool Peek(char c) {
    SkipSpace();
    return pos_ < text_.size() && text_[pos_] == c;
  }
  bool Accept(char c) {
    if (Peek(c)) {
      ++pos_;
      return true;
    }
    return false;
  }
  std::string Word() {
    SkipSpace();
    size_t start = pos_;
    while (pos_ < text_.size() &&
           (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_')) {
      ++pos_;
    }
    return text_.substr(start, pos_ - start);
  }
  // A field name inside ROW<...>: bare word or `quoted`/"quoted".
  Result<std::string> FieldName() {
    SkipSpace();
    if (pos_ < text_.size() && (text_[pos_] == '`' || text_[pos_] == '"')) {
      char q = text_[pos_++];
      size_t end = text_.find(q, pos_);
      if (end == std::string::npos) return Error("unterminated quoted name");
      std::string name = text_.substr(pos_, end - pos_);
      pos_ = end + 1;
      return name;
    }
    std::string w = Word();
    if (w.empty()) return Error("expected a field name");
    return w;
  }
  bool AcceptWord(const std::string& w) {
    size_t save = pos_;
    if (Upper(Word()) == w) return true;
    pos_ = save;
    return false;
  }
  Result<int32_t> Int() {
    SkipSpace();
    size_t start = pos_;
    while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    if (start == pos_) return Error("expected a number");
    return static_cast<int32_t>(std::stoll(text_.substr(start, pos_ - start)));
  }
  // "(n)" if present, else `dflt`.
  Result<int32_t> OptParam(int32_t dflt) {
    if (!Accept('(')) return dflt;
    ARROW_ASSIGN_OR_RAISE(auto v, Int());
    if (!Accept(')')) return Error("expected ')'");
    return v;
  }

  Result<DataTypePtr> ParseType() {
    std::string w = Upper(Word());
    if (w.empty()) return Error("expected a type name");
    auto t = std::make_shared<DataType>();
    if (w == "BOOLEAN" || w == "BOOL") {
      t->root = TypeRoot::kBoolean;
    } else if (w == "TINYINT") {
      t->root = TypeRoot::kTinyInt;
    } else if (w == "SMALLINT") {
      t->root = TypeRoot::kSmallInt;
    } else if (w == "INT" || w == "INTEGER") {
      t->root = TypeRoot::kInt;
    } else if (w == "BIGINT") {
      t->root = TypeRoot::kBigInt;
    } else if (w == "FLOAT" || w == "REAL") {
      t->root = TypeRoot::kFloat;
    } else if (w == "DOUBLE") {
      AcceptWord("PRECISION");
      t->root = TypeRoot::kDouble;
    } else if (w == "DECIMAL" || w == "NUMERIC" || w == "DEC") {
      t->root = TypeRoot::kDecimal;
      t->precision = 10;
      t->scale = 0;
      if (Accept('(')) {
        ARROW_ASSIGN_OR_RAISE(t->precision, Int());
        if (Accept(',')) {
          ARROW_ASSIGN_OR_RAISE(t->scale, Int());
        }
        if (!Accept(')')) return Error("expected ')'");
      }
      if (t->precision < 1 || t->precision > 38 || t->scale < 0 || t->scale > t->precision) {
        return Error("DECIMAL precision must be 1..38 and scale 0..precision");
      }
    } else if (w == "CHAR") {
      t->root = TypeRoot::kChar;
      ARROW_ASSIGN_OR_RAISE(t->length, OptParam(1));
    } else if (w == "VARCHAR") {
      t->root = TypeRoot::kVarChar;
      ARROW_ASSIGN_OR_RAISE(t->length, OptParam(1));
    } else if (w == "STRING") {
      t->root = TypeRoot::kVarChar;
      t->length = DataType::kMaxLength;
    } else if (w == "BINARY") {
      t->root = TypeRoot::kBinary;
      ARROW_ASSIGN_OR_RAISE(t->length, OptParam(1));
    } else if (w == "VARBINARY") {
      t->root = TypeRoot::kVarBinary;
      ARROW_ASSIGN_OR_RAISE(t->length, OptParam(1));
    } else if (w == "BYTES") {
      t->root = TypeRoot::kVarBinary;
      t->length = DataType::kMaxLength;
    } else if (w == "BLOB") {
      t->root = TypeRoot::kBlob;
    } else if (w == "DATE") {
      t->root = TypeRoot::kDate;
    } else if (w == "TIME") {
      t->root = TypeRoot::kTime;
      ARROW_ASSIGN_OR_RAISE(t->precision, OptParam(0));
      if (AcceptWord("WITHOUT")) {
        if (!AcceptWord("TIME") || !AcceptWord("ZONE")) return Error("expected TIME ZONE");
      }
    } else if (w == "TIMESTAMP" || w == "TIMESTAMP_LTZ") {
      t->root = w == "TIMESTAMP" ? TypeRoot::kTimestamp : TypeRoot::kLocalZonedTimestamp;
      ARROW_ASSIGN_OR_RAISE(t->precision, OptParam(6));
      if (t->precision < 0 || t->precision > 9) return Error("TIMESTAMP precision must be 0..9");
      size_t save = pos_;
      if (AcceptWord("WITH")) {
        if (AcceptWord("LOCAL") && AcceptWord("TIME") && AcceptWord("ZONE")) {
          t->root = TypeRoot::kLocalZonedTimestamp;
        } else {
          return Error("expected WITH LOCAL TIME ZONE");
        }
      } else if (AcceptWord("WITHOUT")) {
        if (!AcceptWord("TIME") || !AcceptWord("ZONE")) return Error("expected TIME ZONE");
      } else {
        pos_ = save;
      }
    } else if (w == "ARRAY" || w == "MULTISET") {
      t->root = w == "ARRAY" ? TypeRoot::kArray : TypeRoot::kMultiset;
      if (!Accept('<')) return Error("expected '<'");
      ARROW_ASSIGN_OR_RAISE(t->element, ParseType());
      if (!Accept('>')) return Error("expected '>'");
    } else if (w == "MAP") {
      t->root = TypeRoot::kMap;
      if (!Accept('<')) return Error("expected '<'");
      ARROW_ASSIGN_OR_RAISE(t->key, ParseType());
      if (!Accept(',')) return Error("expected ','");
      ARROW_ASSIGN_OR_RAISE(t->value, ParseType());
      if (!Accept('>')) return Error("expected '>'");
    } else if (w == "ROW") {
      t->root = TypeRoot::kRow;
      bool angle = Accept('<');
      if (!angle && !Accept('(')) return Error("expected '<' or '('");
      int32_t id = 0;
      do {
        DataField f;
        f.id = id++;
        ARROW_ASSIGN_OR_RAISE(f.name, FieldName());
        ARROW_ASSIGN_OR_RAISE(f.type, ParseType());
        t->fields.push_back(std::move(f));
      } while (Accept(','));
      if (!Accept(angle ? '>' : ')')) return Error(angle ? "expected '>'" : "expected ')'");
    } else {
      pos_ -= w.size();
      return Error("unknown type '" + w + "'");
    }
    size_t save = pos_;
    if (AcceptWord("NOT")) {
      if (!AcceptWord("NULL")) return Error("expected NULL after NOT");
      t->nullable = false;
    } else if (AcceptWord("NULL")) {
      t->nullable = true;
    } else {
      pos_ = save;
    }
    return t;
  }

  const std::string& text_;
  size_t pos_ = 0;
};

std::string AtomicName(const DataType& t) {
  switch (t.root) {
    case TypeRoot::kBoolean:
      return "BOOLEAN";
    case TypeRoot::kTinyInt:
      return "TINYINT";
    case TypeRoot::kSmallInt:
      return "SMALLINT";
    case TypeRoot::kInt:
      return "INT";
    case TypeRoot::kBigInt:
      return "BIGINT";
    case TypeRoot::kFloat:
      return "FLOAT";
    case TypeRoot::kDouble:
      return "DOUBLE";
    case TypeRoot::kDecimal:
      return "DECIMAL(" + std::to_string(t.precision) + ", " + std::to_string(t.scale) + ")";
    case TypeRoot::kChar:
      return "CHAR(" + std::to_string(t.length) + ")";
    case TypeRoot::kVarChar:
      return t.length == DataType::kMaxLength ? "STRING"
                                              : "VARCHAR(" + std::to_string(t.length) + ")";
    case TypeRoot::kBinary:
      return "BINARY(" + std::to_string(t.length) + ")";
    case TypeRoot::kVarBinary:
      return t.length == DataType::kMaxLength ? "BYTES"
                                              : "VARBINARY(" + std::to_string(t.length) + ")";
    case TypeRoot::kBlob:
      return "BLOB";
    case TypeRoot::kDate:
      return "DATE";
    case TypeRoot::kTime:
      return "TIME(" + std::to_string(t.precision) + ")";
    case TypeRoot::kTimestamp:
      return "TIMESTAMP(" + std::to_string(t.precision) + ")";
    case TypeRoot::kLocalZonedTimestamp:
      return "TIMESTAMP(" + std::to_string(t.precision) + ") WITH LOCAL TIME ZONE";
    case TypeRoot::kArray:
      return "ARRAY";
    case TypeRoot::kMultiset:
      return "MULTISET";
    case TypeRoot::kMap:
      return "MAP";
    case TypeRoot::kRow:
      return "ROW";
  }
  return "?";
}

const char* NotNull(const DataType& t) { return t.nullable ? "" : " NOT NULL"; }

}  // namespace

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t yy = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yy + (*m <= 2 ? 1 : 0);
}

std::string FormatDate(int64_t days) {
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02u", static_cast<long long>(y), m, d);
  return buf;
}

std::string DataType::ToString() const {
  switch (root) {
    case TypeRoot::kArray:
    case TypeRoot::kMultiset:
      return AtomicName(*this) + "<" + element->ToString() + ">" + NotNull(*this);
    case TypeRoot::kMap:
      return "MAP<" + key->ToString() + ", " + value->ToString() + ">" + NotNull(*this);
    case TypeRoot::kRow: {
      std::string s = "ROW<";
      for (size_t i = 0; i < fields.size(); ++i) {
        if (i) s += ", ";
        s += "`" + fields[i].name + "` " + fields[i].type->ToString();
      }
      return s + ">" + NotNull(*this);
    }
    default:
      return AtomicName(*this) + NotNull(*this);
  }
}

bool DataType::IsInteger() const {
  return root == TypeRoot::kTinyInt || root == TypeRoot::kSmallInt || root == TypeRoot::kInt ||
         root == TypeRoot::kBigInt;
}

bool DataType::IsNested() const {
  return root == TypeRoot::kArray || root == TypeRoot::kMultiset || root == TypeRoot::kMap ||
         root == TypeRoot::kRow;
}

DataTypePtr DataType::WithNullable(bool n) const {
  auto copy = std::make_shared<DataType>(*this);
  copy->nullable = n;
  return copy;
}

Result<DataTypePtr> ParseDataType(const std::string& text) { return TypeParser(text).ParseAll(); }

Result<DataTypePtr> DataTypeFromJson(const nlohmann::json& j) {
  if (j.is_string()) return ParseDataType(j.get<std::string>());
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) {
    return Status::Invalid("schema: bad type JSON: ", j.dump());
  }
  std::string head = j["type"].get<std::string>();
  bool nullable = true;
  std::string up = Upper(head);
  if (up.size() > 9 && up.ends_with(" NOT NULL")) {
    nullable = false;
    up = up.substr(0, up.size() - 9);
  }
  auto t = std::make_shared<DataType>();
  t->nullable = nullable;
  if (up == "ARRAY" || up == "MULTISET") {
    t->root = up == "ARRAY" ? TypeRoot::kArray : TypeRoot::kMultiset;
    if (!j.contains("element")) return Status::Invalid("schema: ", up, " without element");
    ARROW_ASSIGN_OR_RAISE(t->element, DataTypeFromJson(j["element"]));
  } else if (up == "MAP") {
    t->root = TypeRoot::kMap;
    if (!j.contains("key") || !j.contains("value")) {
      return Status::Invalid("schema: MAP without key or value");
    }
    ARROW_ASSIGN_OR_RAISE(t->key, DataTypeFromJson(j["key"]));
    ARROW_ASSIGN_OR_RAISE(t->value, DataTypeFromJson(j["value"]));
  } else if (up == "ROW") {
    t->root = TypeRoot::kRow;
    if (!j.contains("fields") || !j["fields"].is_array()) {
      return Status::Invalid("schema: ROW without fields");
    }
    for (const auto& fj : j["fields"]) {
      ARROW_ASSIGN_OR_RAISE(auto f, DataFieldFromJson(fj));
      t->fields.push_back(std::move(f));
    }
  } else {
    return ParseDataType(head);
  }
  return t;
}

nlohmann::json DataTypeToJson(const DataType& t) {
  using nlohmann::json;
  switch (t.root) {
    case TypeRoot::kArray:
    case TypeRoot::kMultiset:
      return json{{"type", AtomicName(t) + NotNull(t)}, {"element", DataTypeToJson(*t.element)}};
    case TypeRoot::kMap:
      return json{{"type", std::string("MAP") + NotNull(t)},
                  {"key", DataTypeToJson(*t.key)},
                  {"value", DataTypeToJson(*t.value)}};
    case TypeRoot::kRow: {
      json fields = json::array();
      for (const auto& f : t.fields) fields.push_back(DataFieldToJson(f));
      return json{{"type", std::string("ROW") + NotNull(t)}, {"fields", fields}};
    }
    default:
      return t.ToString();
  }
}

Result<DataField> DataFieldFromJson(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("name") || !j.contains("type") || !j.contains("id")) {
    return Status::Invalid("schema: field needs id, name and type: ", j.dump());
  }
  DataField f;
  f.id = j["id"].get<int32_t>();
  f.name = j["name"].get<std::string>();
  ARROW_ASSIGN_OR_RAISE(f.type, DataTypeFromJson(j["type"]));
  if (j.contains("description") && j["description"].is_string()) {
    f.description = j["description"].get<std::string>();
  }
  return f;
}

nlohmann::json DataFieldToJson(const DataField& f) {
  nlohmann::json j = nlohmann::json::object();
  j["id"] = f.id;
  j["name"] = f.name;
  j["type"] = DataTypeToJson(*f.type);
  if (f.description) j["description"] = *f.description;
  return j;
}

std::shared_ptr<arrow::DataType> ToArrowType(const DataType& t) {
  switch (t.root) {
    case TypeRoot::kBoolean:
      return arrow::boolean();
    case TypeRoot::kTinyInt:
      return arrow::int8();
    case TypeRoot::kSmallInt:
      return arrow::int16();
    case TypeRoot::kInt:
      return arrow::int32();
    case TypeRoot::kBigInt:
      return arrow::int64();
    case TypeRoot::kFloat:
      return arrow::float32();
    case TypeRoot::kDouble:
      return arrow::float64();
    case TypeRoot::kDecimal:
      return arrow::decimal128(t.precision, t.scale);
    case TypeRoot::kChar:
    case TypeRoot::kVarChar:
      return arrow::utf8();
    case TypeRoot::kBinary:
    case TypeRoot::kVarBinary:
    case TypeRoot::kBlob:
      return arrow::binary();
    case TypeRoot::kDate:
      return arrow::date32();
    case TypeRoot::kTime:
      return arrow::time32(arrow::TimeUnit::MILLI);
    case TypeRoot::kTimestamp:
    case TypeRoot::kLocalZonedTimestamp: {
      arrow::TimeUnit::type unit = t.precision <= 3   ? arrow::TimeUnit::MILLI
                                   : t.precision <= 6 ? arrow::TimeUnit::MICRO
                                                      : arrow::TimeUnit::NANO;
      return t.root == TypeRoot::kTimestamp ? arrow::timestamp(unit)
                                            : arrow::timestamp(unit, "UTC");
    }
    case TypeRoot::kArray:
    case TypeRoot::kMultiset:
      return arrow::list(arrow::field("element", ToArrowType(*t.element), t.element->nullable));
    case TypeRoot::kMap:
      return std::make_shared<arrow::MapType>(
          arrow::field("key", ToArrowType(*t.key), false),
          arrow::field("value", ToArrowType(*t.value), t.value->nullable));
    case TypeRoot::kRow: {
      arrow::FieldVector fields;
      for (const auto& f : t.fields) fields.push_back(ToArrowField(f));
      return arrow::struct_(fields);
    }
  }
  return arrow::null();
}

std::shared_ptr<arrow::Field> ToArrowField(const DataField& f) {
  return arrow::field(f.name, ToArrowType(*f.type), f.type->nullable);
}

std::shared_ptr<arrow::Schema> ToArrowSchema(const std::vector<DataField>& fields) {
  arrow::FieldVector out;
  for (const auto& f : fields) out.push_back(ToArrowField(f));
  return arrow::schema(out);
}

Result<DataTypePtr> FromArrowType(const arrow::DataType& type, bool nullable) {
  auto t = std::make_shared<DataType>();
  t->nullable = nullable;
  switch (type.id()) {
    case arrow::Type::BOOL:
      t->root = TypeRoot::kBoolean;
      break;
    case arrow::Type::INT8:
      t->root = TypeRoot::kTinyInt;
      break;
    case arrow::Type::INT16:
    case arrow::Type::UINT8:
      t->root = TypeRoot::kSmallInt;
      break;
    case arrow::Type::INT32:
    case arrow::Type::UINT16:
      t->root = TypeRoot::kInt;
      break;
    case arrow::Type::INT64:
    case arrow::Type::UINT32:
      t->root = TypeRoot::kBigInt;
      break;
    case arrow::Type::FLOAT:
      t->root = TypeRoot::kFloat;
      break;
    case arrow::Type::DOUBLE:
      t->root = TypeRoot::kDouble;
      break;
    case arrow::Type::DECIMAL128: {
      const auto& d = static_cast<const arrow::Decimal128Type&>(type);
      t->root = TypeRoot::kDecimal;
      t->precision = d.precision();
      t->scale = d.scale();
      break;
    }
    case arrow::Type::STRING:
    case arrow::Type::LARGE_STRING:
    case arrow::Type::STRING_VIEW:
      t->root = TypeRoot::kVarChar;
      t->length = DataType::kMaxLength;
      break;
    case arrow::Type::BINARY:
    case arrow::Type::LARGE_BINARY:
    case arrow::Type::BINARY_VIEW:
      t->root = TypeRoot::kVarBinary;
      t->length = DataType::kMaxLength;
      break;
    case arrow::Type::FIXED_SIZE_BINARY:
      t->root = TypeRoot::kBinary;
      t->length = static_cast<const arrow::FixedSizeBinaryType&>(type).byte_width();
      break;
    case arrow::Type::DATE32:
    case arrow::Type::DATE64:
      t->root = TypeRoot::kDate;
      break;
    case arrow::Type::TIME32:
    case arrow::Type::TIME64:
      t->root = TypeRoot::kTime;
      t->precision = 3;
      break;
    case arrow::Type::TIMESTAMP: {
      const auto& ts = static_cast<const arrow::TimestampType&>(type);
      t->root = ts.timezone().empty() ? TypeRoot::kTimestamp : TypeRoot::kLocalZonedTimestamp;
      switch (ts.unit()) {
        case arrow::TimeUnit::SECOND:
          t->precision = 0;
          break;
        case arrow::TimeUnit::MILLI:
          t->precision = 3;
          break;
        case arrow::TimeUnit::MICRO:
          t->precision = 6;
          break;
        case arrow::TimeUnit::NANO:
          t->precision = 9;
          break;
      }
      break;
    }
    case arrow::Type::LIST:
    case arrow::Type::LARGE_LIST: {
      const auto& l = static_cast<const arrow::BaseListType&>(type);
      t->root = TypeRoot::kArray;
      ARROW_ASSIGN_OR_RAISE(t->element,
                            FromArrowType(*l.value_type(), l.value_field()->nullable()));
      break;
    }
    case arrow::Type::MAP: {
      const auto& m = static_cast<const arrow::MapType&>(type);
      t->root = TypeRoot::kMap;
      ARROW_ASSIGN_OR_RAISE(t->key, FromArrowType(*m.key_type(), false));
      ARROW_ASSIGN_OR_RAISE(t->value, FromArrowType(*m.item_type(), m.item_field()->nullable()));
      break;
    }
    case arrow::Type::STRUCT: {
      t->root = TypeRoot::kRow;
      int32_t id = 0;
      for (const auto& f : type.fields()) {
        DataField df;
        df.id = id++;
        df.name = f->name();
        ARROW_ASSIGN_OR_RAISE(df.type, FromArrowType(*f->type(), f->nullable()));
        t->fields.push_back(std::move(df));
      }
      break;
    }
    default:
      return Status::TypeError("no Paimon type for Arrow type ", type.ToString());
  }
  return t;
}

bool CanWiden(const DataType& from, const DataType& to) {
  auto rank = [](TypeRoot r) {
    switch (r) {
      case TypeRoot::kTinyInt:
        return 1;
      case TypeRoot::kSmallInt:
        return 2;
      case TypeRoot::kInt:
        return 3;
      case TypeRoot::kBigInt:
        return 4;
      case TypeRoot::kFloat:
        return 5;
      case TypeRoot::kDouble:
        return 6;
      default:
        return 0;
    }
  };
  if (from.root == to.root) {
    switch (from.root) {
      case TypeRoot::kChar:
      case TypeRoot::kVarChar:
      case TypeRoot::kBinary:
      case TypeRoot::kVarBinary:
        return to.length >= from.length;
      case TypeRoot::kDecimal:
        return to.scale == from.scale && to.precision >= from.precision;
      case TypeRoot::kTimestamp:
      case TypeRoot::kLocalZonedTimestamp:
      case TypeRoot::kTime:
        return to.precision >= from.precision;
      case TypeRoot::kArray:
      case TypeRoot::kMultiset:
      case TypeRoot::kMap:
      case TypeRoot::kRow:
        return from.ToString() == to.ToString() ||
               from.WithNullable(true)->ToString() == to.WithNullable(true)->ToString();
      default:
        return true;
    }
  }
  if (from.root == TypeRoot::kChar && to.root == TypeRoot::kVarChar) return to.length >= from.length;
  if (from.root == TypeRoot::kBinary && to.root == TypeRoot::kVarBinary) {
    return to.length >= from.length;
  }
  int rf = rank(from.root), rt = rank(to.root);
  if (rf && rt) return rt > rf && !(rf == 4 && rt == 5);  // BIGINT -> FLOAT loses precision
  if (from.IsInteger() && to.root == TypeRoot::kDecimal) return true;
  return false;
}

}  // namespace millpond::paimon
