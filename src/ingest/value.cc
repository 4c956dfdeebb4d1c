// Value casts and RowBuilder.
#include "millpond/ingest/value.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>

#include <arrow/builder.h>
#include <arrow/record_batch.h>
#include <arrow/util/decimal.h>

#include "millpond/paimon/types.h"

namespace millpond::ingest {

using paimon::TypeRoot;

namespace {

std::string FormatDouble(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), d);
  return std::string(buf, r.ptr);
}

std::string FormatTimestamp(int64_t micros) {
  int64_t secs = micros / 1000000;
  int64_t rem = micros % 1000000;
  if (rem < 0) {
    rem += 1000000;
    secs -= 1;
  }
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(rem / 1000));
  return buf;
}

bool ParseInt64(std::string_view s, int64_t* out) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty();
}

bool ParseDouble(std::string_view s, double* out) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty();
}

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// "YYYY-MM-DD[(T| )HH:MM[:SS[.f+]]][Z|(+|-)HH[:MM]]" -> micros UTC.
bool ParseIsoTime(std::string_view s, int64_t* micros) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  size_t i = 0;
  auto num = [&](int digits, int* out) {
    if (i + digits > s.size()) return false;
    int v = 0;
    for (int k = 0; k < digits; ++k) {
      char c = s[i + k];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    *out = v;
    i += digits;
    return true;
  };
  auto lit = [&](char c) {
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  };
  if (!num(4, &y) || !lit('-') || !num(2, &mo) || !lit('-') || !num(2, &d)) return false;
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return false;
  int64_t frac_us = 0;
  if (i < s.size() && (s[i] == 'T' || s[i] == 't' || s[i] == ' ')) {
    ++i;
    if (!num(2, &h) || !lit(':') || !num(2, &mi)) return false;
    if (lit(':')) {
      if (!num(2, &sec)) return false;
      if (lit('.') || lit(',')) {
        int64_t scale = 100000;
        size_t start = i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
          frac_us += (s[i] - '0') * scale;
          scale /= 10;
          ++i;
        }
        if (i == start) return false;
      }
    }
  }
  int64_t offset_s = 0;
  if (i < s.size()) {
    if (s[i] == 'Z' || s[i] == 'z') {
      ++i;
    } else if (s[i] == '+' || s[i] == '-') {
      int sign = s[i] == '-' ? -1 : 1;
      ++i;
      int oh = 0, om = 0;
      if (!num(2, &oh)) return false;
      lit(':');
      if (i < s.size() && !num(2, &om)) return false;
      offset_s = sign * (oh * 3600 + om * 60);
    }
  }
  if (i != s.size() || h > 23 || mi > 59 || sec > 60) return false;
  int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  *micros = ((days * 86400 + h * 3600 + mi * 60 + sec) - offset_s) * 1000000 + frac_us;
  return true;
}

Timestamp FromEpochNumber(double v) {
  double a = std::fabs(v);
  if (a < 1e11) return Timestamp{static_cast<int64_t>(std::llround(v * 1e6))};
  if (a < 1e14) return Timestamp{static_cast<int64_t>(std::llround(v * 1e3))};
  if (a < 1e17) return Timestamp{static_cast<int64_t>(std::llround(v))};
  return Timestamp{static_cast<int64_t>(std::llround(v / 1e3))};
}

Status DoesNotFit(const Value& v, const paimon::DataType& type) {
  std::string text = SanitizeUtf8(ValueToString(v));
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return Status::Invalid("value ", std::holds_alternative<std::string>(v) ? "'" + text + "'" : text,
                         " does not fit type ", type.ToString());
}

Result<int64_t> ToInteger(const Value& v, const paimon::DataType& type) {
  int64_t out = 0;
  if (auto* b = std::get_if<bool>(&v)) {
    out = *b ? 1 : 0;
  } else if (auto* i = std::get_if<int64_t>(&v)) {
    out = *i;
  } else if (auto* d = std::get_if<double>(&v)) {
    if (!std::isfinite(*d) || std::trunc(*d) != *d || std::fabs(*d) >= 9.2e18) {
      return DoesNotFit(v, type);
    }
    out = static_cast<int64_t>(*d);
  } else if (auto* s = std::get_if<std::string>(&v)) {
    double dv = 0;
    if (!ParseInt64(*s, &out)) {
      if (!ParseDouble(*s, &dv) || std::trunc(dv) != dv || std::fabs(dv) >= 9.2e18) {
        return DoesNotFit(v, type);
      }
      out = static_cast<int64_t>(dv);
    }
  } else {
    return DoesNotFit(v, type);
  }
  int64_t lo = INT64_MIN, hi = INT64_MAX;
  switch (type.root) {
    case TypeRoot::kTinyInt: lo = -128; hi = 127; break;
    case TypeRoot::kSmallInt: lo = -32768; hi = 32767; break;
    case TypeRoot::kInt: lo = INT32_MIN; hi = INT32_MAX; break;
    default: break;
  }
  if (out < lo || out > hi) return DoesNotFit(v, type);
  return out;
}

Result<double> ToDouble(const Value& v, const paimon::DataType& type) {
  if (auto* b = std::get_if<bool>(&v)) return *b ? 1.0 : 0.0;
  if (auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  if (auto* d = std::get_if<double>(&v)) return *d;
  if (auto* s = std::get_if<std::string>(&v)) {
    double out = 0;
    if (ParseDouble(*s, &out)) return out;
  }
  return DoesNotFit(v, type);
}

// Length of the valid UTF-8 sequence at s[i], or 0.
size_t Utf8Length(std::string_view s, size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  }
  if (n == 2 && c < 0xC2) return 0;  // overlong
  if (n == 3) {
    auto c1 = static_cast<unsigned char>(s[i + 1]);
    if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0)) return 0;  // overlong, surrogate
  }
  if (n == 4) {
    auto c1 = static_cast<unsigned char>(s[i + 1]);
    if ((c == 0xF0 && c1 < 0x90) || c > 0xF4 || (c == 0xF4 && c1 >= 0x90)) return 0;
  }
  return n;
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t n = Utf8Length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string SanitizeUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t n = Utf8Length(s, i);
    if (n == 0) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned char>(s[i]));
      out += buf;
      ++i;
    } else {
      out.append(s.data() + i, n);
      i += n;
    }
  }
  return out;
}

std::string ValueToString(const Value& v) {
  struct Visitor {
    std::string operator()(std::monostate) const { return "null"; }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const { return FormatDouble(d); }
    std::string operator()(const std::string& s) const { return s; }
    std::string operator()(const Bytes& b) const {
      static const char* kHex = "0123456789abcdef";
      std::string out;
      out.reserve(b.data.size() * 2);
      for (unsigned char c : b.data) {
        out += kHex[c >> 4];
        out += kHex[c & 15];
      }
      return out;
    }
    std::string operator()(const Timestamp& t) const { return FormatTimestamp(t.micros); }
  };
  return std::visit(Visitor{}, v);
}

Result<Timestamp> ToTimestamp(const Value& v) {
  if (auto* t = std::get_if<Timestamp>(&v)) return *t;
  if (auto* i = std::get_if<int64_t>(&v)) {
    int64_t a = *i < 0 ? -*i : *i;
    if (a < 100000000000ll) return Timestamp{*i * 1000000};
    if (a < 100000000000000ll) return Timestamp{*i * 1000};
    if (a < 100000000000000000ll) return Timestamp{*i};
    return Timestamp{*i / 1000};
  }
  if (auto* d = std::get_if<double>(&v)) {
    if (std::isfinite(*d) && std::fabs(*d) < 9e18) return FromEpochNumber(*d);
  }
  if (auto* s = std::get_if<std::string>(&v)) {
    int64_t micros = 0;
    if (ParseIsoTime(*s, &micros)) return Timestamp{micros};
    double d = 0;
    if (ParseDouble(*s, &d) && std::isfinite(d)) return FromEpochNumber(d);
  }
  std::string text = SanitizeUtf8(ValueToString(v));
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return Status::Invalid("value '", text, "' is not a time");
}

bool IngestibleType(const paimon::DataType& type) {
  switch (type.root) {
    case TypeRoot::kTime:
    case TypeRoot::kArray:
    case TypeRoot::kMultiset:
    case TypeRoot::kMap:
    case TypeRoot::kRow:
    case TypeRoot::kBlob:
      return false;
    default:
      return true;
  }
}

Result<Value> CastValue(const Value& v, const paimon::DataType& type) {
  if (IsNull(v)) {
    if (!type.nullable) {
      return Status::Invalid("null for a NOT NULL column of type ", type.ToString());
    }
    return v;
  }
  switch (type.root) {
    case TypeRoot::kBoolean: {
      if (std::holds_alternative<bool>(v)) return v;
      if (auto* i = std::get_if<int64_t>(&v)) {
        if (*i == 0 || *i == 1) return Value(*i == 1);
      }
      if (auto* s = std::get_if<std::string>(&v)) {
        if (*s == "true" || *s == "TRUE" || *s == "True" || *s == "1") return Value(true);
        if (*s == "false" || *s == "FALSE" || *s == "False" || *s == "0") return Value(false);
      }
      return DoesNotFit(v, type);
    }
    case TypeRoot::kTinyInt:
    case TypeRoot::kSmallInt:
    case TypeRoot::kInt:
    case TypeRoot::kBigInt: {
      ARROW_ASSIGN_OR_RAISE(int64_t i, ToInteger(v, type));
      return Value(i);
    }
    case TypeRoot::kFloat:
    case TypeRoot::kDouble: {
      ARROW_ASSIGN_OR_RAISE(double d, ToDouble(v, type));
      return Value(d);
    }
    case TypeRoot::kDecimal: {
      std::string text;
      if (auto* s = std::get_if<std::string>(&v)) {
        text = *s;
      } else if (std::holds_alternative<int64_t>(v) || std::holds_alternative<double>(v)) {
        text = ValueToString(v);
      } else {
        return DoesNotFit(v, type);
      }
      arrow::Decimal128 dec;
      int32_t precision = 0, scale = 0;
      if (!arrow::Decimal128::FromString(text, &dec, &precision, &scale).ok()) {
        return DoesNotFit(v, type);
      }
      if (scale > type.scale || precision - scale > type.precision - type.scale) {
        return DoesNotFit(v, type);
      }
      return Value(text);
    }
    case TypeRoot::kChar:
    case TypeRoot::kVarChar: {
      if (std::holds_alternative<Bytes>(v)) return DoesNotFit(v, type);
      std::string s = ValueToString(v);
      if (!IsValidUtf8(s)) {
        return Status::Invalid("text '", SanitizeUtf8(s.substr(0, 60)), "' is not valid UTF-8");
      }
      if (type.length > 0 && type.length < paimon::DataType::kMaxLength &&
          static_cast<int64_t>(s.size()) > type.length) {
        return DoesNotFit(v, type);
      }
      return Value(std::move(s));
    }
    case TypeRoot::kBinary:
    case TypeRoot::kVarBinary: {
      if (std::holds_alternative<Bytes>(v)) return v;
      if (auto* s = std::get_if<std::string>(&v)) return Value(Bytes{*s});
      return DoesNotFit(v, type);
    }
    case TypeRoot::kDate: {
      if (auto* s = std::get_if<std::string>(&v); s && s->size() == 10) {
        int64_t micros = 0;
        if (ParseIsoTime(*s, &micros)) return Value(static_cast<int64_t>(micros / 86400000000ll));
      }
      auto t = ToTimestamp(v);
      if (!t.ok()) return DoesNotFit(v, type);
      int64_t days = t->micros / 86400000000ll;
      if (t->micros < 0 && t->micros % 86400000000ll != 0) days -= 1;
      return Value(days);
    }
    case TypeRoot::kTimestamp:
    case TypeRoot::kLocalZonedTimestamp: {
      auto t = ToTimestamp(v);
      if (!t.ok()) return DoesNotFit(v, type);
      return Value(*t);
    }
    default:
      return Status::NotImplemented("ingest cannot write columns of type ", type.ToString());
  }
}

RowBuilder::~RowBuilder() = default;

Result<std::unique_ptr<RowBuilder>> RowBuilder::Make(const paimon::TableSchema& schema) {
  std::unique_ptr<RowBuilder> b(new RowBuilder());
  b->schema_ = paimon::ToArrowSchema(schema.fields);
  for (const auto& f : schema.fields) {
    if (!IngestibleType(*f.type)) {
      return Status::NotImplemented("ingest cannot write column ", f.name, " of type ",
                                    f.type->ToString());
    }
    b->types_.push_back(f.type);
    std::unique_ptr<arrow::ArrayBuilder> ab;
    ARROW_RETURN_NOT_OK(arrow::MakeBuilder(arrow::default_memory_pool(),
                                           paimon::ToArrowType(*f.type), &ab));
    b->builders_.push_back(std::move(ab));
  }
  return b;
}

Status RowBuilder::Append(const std::vector<Value>& values) {
  if (values.size() != builders_.size()) {
    return Status::Invalid("row has ", values.size(), " values for ", builders_.size(), " columns");
  }
  for (size_t c = 0; c < values.size(); ++c) {
    const Value& v = values[c];
    arrow::ArrayBuilder* ab = builders_[c].get();
    if (IsNull(v)) {
      ARROW_RETURN_NOT_OK(ab->AppendNull());
      continue;
    }
    const auto& type = *types_[c];
    auto wrong = [&]() {
      return Status::Invalid("column ", schema_->field(static_cast<int>(c))->name(), ": value ",
                             ValueToString(v), " was not cast to ", type.ToString());
    };
    switch (type.root) {
      case TypeRoot::kBoolean: {
        auto* b = std::get_if<bool>(&v);
        if (!b) return wrong();
        ARROW_RETURN_NOT_OK(static_cast<arrow::BooleanBuilder*>(ab)->Append(*b));
        break;
      }
      case TypeRoot::kTinyInt:
      case TypeRoot::kSmallInt:
      case TypeRoot::kInt:
      case TypeRoot::kBigInt:
      case TypeRoot::kDate: {
        auto* i = std::get_if<int64_t>(&v);
        if (!i) return wrong();
        switch (type.root) {
          case TypeRoot::kTinyInt:
            ARROW_RETURN_NOT_OK(
                static_cast<arrow::Int8Builder*>(ab)->Append(static_cast<int8_t>(*i)));
            break;
          case TypeRoot::kSmallInt:
            ARROW_RETURN_NOT_OK(
                static_cast<arrow::Int16Builder*>(ab)->Append(static_cast<int16_t>(*i)));
            break;
          case TypeRoot::kInt:
            ARROW_RETURN_NOT_OK(
                static_cast<arrow::Int32Builder*>(ab)->Append(static_cast<int32_t>(*i)));
            break;
          case TypeRoot::kDate:
            ARROW_RETURN_NOT_OK(
                static_cast<arrow::Date32Builder*>(ab)->Append(static_cast<int32_t>(*i)));
            break;
          default:
            ARROW_RETURN_NOT_OK(static_cast<arrow::Int64Builder*>(ab)->Append(*i));
        }
        break;
      }
      case TypeRoot::kFloat:
      case TypeRoot::kDouble: {
        auto* d = std::get_if<double>(&v);
        if (!d) return wrong();
        if (type.root == TypeRoot::kFloat) {
          ARROW_RETURN_NOT_OK(
                static_cast<arrow::FloatBuilder*>(ab)->Append(static_cast<float>(*d)));
        } else {
          ARROW_RETURN_NOT_OK(static_cast<arrow::DoubleBuilder*>(ab)->Append(*d));
        }
        break;
      }
      case TypeRoot::kDecimal: {
        auto* s = std::get_if<std::string>(&v);
        if (!s) return wrong();
        arrow::Decimal128 dec;
        int32_t precision = 0, scale = 0;
        ARROW_RETURN_NOT_OK(arrow::Decimal128::FromString(*s, &dec, &precision, &scale));
        ARROW_ASSIGN_OR_RAISE(dec, dec.Rescale(scale, type.scale));
        ARROW_RETURN_NOT_OK(static_cast<arrow::Decimal128Builder*>(ab)->Append(dec));
        break;
      }
      case TypeRoot::kChar:
      case TypeRoot::kVarChar: {
        auto* s = std::get_if<std::string>(&v);
        if (!s) return wrong();
        ARROW_RETURN_NOT_OK(static_cast<arrow::StringBuilder*>(ab)->Append(*s));
        break;
      }
      case TypeRoot::kBinary:
      case TypeRoot::kVarBinary: {
        auto* b = std::get_if<Bytes>(&v);
        if (!b) return wrong();
        ARROW_RETURN_NOT_OK(static_cast<arrow::BinaryBuilder*>(ab)->Append(b->data));
        break;
      }
      case TypeRoot::kTimestamp:
      case TypeRoot::kLocalZonedTimestamp: {
        auto* t = std::get_if<Timestamp>(&v);
        if (!t) return wrong();
        int64_t value = t->micros;
        if (type.precision <= 3) {
          value = t->micros >= 0 ? t->micros / 1000 : -((-t->micros + 999) / 1000);
        } else if (type.precision > 6) {
          value = t->micros * 1000;
        }
        ARROW_RETURN_NOT_OK(static_cast<arrow::TimestampBuilder*>(ab)->Append(value));
        break;
      }
      default:
        return wrong();
    }
  }
  ++rows_;
  return Status::OK();
}

Result<std::shared_ptr<arrow::RecordBatch>> RowBuilder::Finish() {
  std::vector<std::shared_ptr<arrow::Array>> arrays;
  for (auto& b : builders_) {
    std::shared_ptr<arrow::Array> a;
    ARROW_RETURN_NOT_OK(b->Finish(&a));
    arrays.push_back(std::move(a));
  }
  auto batch = arrow::RecordBatch::Make(schema_, rows_, std::move(arrays));
  rows_ = 0;
  return batch;
}

}  // namespace millpond::ingest
